import equal from 'fast-deep-equal';
import type { ProcessSpec } from '../state/desired/schema.js';

/** Names the process-defining fields that differ, for the reason shown to the user. */
export function changedFields(before: ProcessSpec, after: ProcessSpec): string[] {
  return (['command', 'env', 'cwd', 'user'] as const).filter((k) => !equal(before[k], after[k]));
}
