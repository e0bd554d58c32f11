import { createHash } from 'node:crypto';
import equal from 'fast-deep-equal';
import type { ProcessSpec } from '../state/desired/schema.js';

/** A short stable hash of the fields that define a process (key order does not matter). */
export function specHash(spec: ProcessSpec): string {
  const env = Object.fromEntries(Object.entries(spec.env).sort(([a], [b]) => (a < b ? -1 : 1)));
  const canonical = JSON.stringify([spec.command, env, spec.cwd, spec.user]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** Names the process-defining fields that differ, for the reason shown to the user. */
export function changedFields(before: ProcessSpec, after: ProcessSpec): string[] {
  return (['command', 'env', 'cwd', 'user'] as const).filter((k) => !equal(before[k], after[k]));
}
