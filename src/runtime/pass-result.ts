import type { Convergence } from '../reconciler/convergence.js';
import type { Action } from '../reconciler/plan-types.js';

export interface PassResult extends Convergence {
  /** Everything done in this pass, over all its rounds. */
  actions: Action[];
  /** The last round found nothing to do. */
  idle: boolean;
  /** When to look again without any event (a backoff ends, a stop deadline, a schedule tick), or null. */
  wakeAt: number | null;
  /** The file on disk is broken (the last valid state, if any, was used). */
  fileProblems: string[];
}

/** A pass that had no desired state to act on (none valid yet, or the file is still being written). */
export function emptyResult(fileProblems: string[], recheckAt: number | null = null): PassResult {
  const problems = fileProblems.map((message) => ({ subject: '', message }));
  return { converged: false, moving: recheckAt !== null, problems, actions: [], idle: true, wakeAt: recheckAt, fileProblems };
}
