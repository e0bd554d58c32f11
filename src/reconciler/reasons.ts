import { LIMITS, type LimitReason } from './limits.js';

/**
 * Why an instance was started or stopped: what status, events and the log say. One table:
 * `restart` marks the reasons of a stop that a start follows (the start carries the same
 * reason), `streak` the exits that continue a crash streak (any other start resets it).
 * Each limit's reason (from the limits table) is a restart reason too.
 */
const REASONS = {
  start: { restart: false, streak: false },
  crash: { restart: false, streak: true },
  exit: { restart: false, streak: true },
  'spawn-error': { restart: false, streak: true },
  stopped: { restart: false, streak: false },
  'spec-changed': { restart: true, streak: false },
  generation: { restart: true, streak: false },
  restart: { restart: true, streak: false },
  schedule: { restart: true, streak: false },
  'max-uptime': { restart: true, streak: false },
  health: { restart: true, streak: false },
  'scale-down': { restart: false, streak: false },
  removed: { restart: false, streak: false },
  adopted: { restart: false, streak: false },
  waiting: { restart: false, streak: false },
  dependency: { restart: true, streak: false },
  'stop-timeout': { restart: false, streak: false },
  leftover: { restart: false, streak: false },
} as const satisfies Record<string, { restart: boolean; streak: boolean }>;

export type Reason = keyof typeof REASONS | LimitReason;

const LIMIT_REASONS: ReadonlySet<string> = new Set(Object.values(LIMITS).map((l) => l.reason));

function info(reason: string): { restart: boolean; streak: boolean } | null {
  if (LIMIT_REASONS.has(reason)) return { restart: true, streak: false };
  return Object.hasOwn(REASONS, reason) ? REASONS[reason as keyof typeof REASONS] : null;
}

/** Every reason a start after an earlier run can carry: what a restart counter is labelled with. */
export const RESTART_REASONS: readonly Reason[] = [
  ...(Object.keys(REASONS) as (keyof typeof REASONS)[]).filter((r) => REASONS[r].restart || REASONS[r].streak),
  ...(LIMIT_REASONS as ReadonlySet<LimitReason>),
];

/** A reason read back from the table on disk (any string an older tend wrote). */
export function isReason(text: string): text is Reason {
  return info(text) !== null;
}

/** A stop for this reason is followed by a start that carries it. */
export function isRestartReason(reason: string): boolean {
  return info(reason)?.restart ?? false;
}

/** An exit for this reason continues a crash streak (backoff and FATAL count on). */
export function continuesStreak(reason: string): boolean {
  return info(reason)?.streak ?? false;
}
