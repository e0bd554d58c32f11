import type { LimitKind } from '../state/desired/schema.js';

/**
 * Each limit kind's restart reason, unit and how a value is shown. With LIMIT_KINDS in the
 * schema and the sampler in spawner/usage.ts, the three places a new limit touches: a kind
 * missing here is a compile error (Record<LimitKind, ...>).
 */
export const LIMITS = {
  memory: { reason: 'memory', unit: 'bytes', format: formatBytes },
  openFiles: { reason: 'open-files', unit: 'fds', format: String },
  closeWait: { reason: 'close-wait', unit: 'sockets', format: String },
} as const satisfies Record<LimitKind, { reason: string; unit: string; format: (n: number) => string }>;

export type LimitReason = (typeof LIMITS)[LimitKind]['reason'];

export const LIMIT_KIND_LIST = Object.keys(LIMITS) as LimitKind[];

/** `ceil(n)` in the largest binary unit: `512Mi`, `1.5Gi`. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) if (n >= size) return `${Math.round((n / size) * 10) / 10}${unit}`;
  return `${n}B`;
}
