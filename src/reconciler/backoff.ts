import type { BackoffSpec } from '../state/desired/schema.js';

/**
 * Delay before restarting after the Nth exit in a row (N >= 1). The first exit after a
 * stable period restarts at once (a kill -9 should cost milliseconds, not seconds); each
 * further exit doubles the delay from `initial`, capped at `max`.
 */
export function backoffDelay(failures: number, spec: BackoffSpec): number {
  if (failures <= 1) return 0;
  return Math.min(spec.max, spec.initial * 2 ** Math.min(failures - 2, 30));
}

/** A process that ran at least `resetAfter` ends any streak of failures. */
export function isStableRun(uptimeMs: number, spec: BackoffSpec): boolean {
  return uptimeMs >= spec.resetAfter;
}
