import { isTendError } from '../errors.js';
import type { Shortfall } from '../reconciler/convergence.js';
import { StateLock, type LockHolder, type LockRole } from '../state/records/lock.js';
import { askDaemon } from './control-client.js';
import { buildLoop, logLine, type GlobalOptions } from './context.js';

export type ConvergeOutcome =
  | { ran: 'locally' | 'daemon'; converged: boolean; problems: Shortfall[]; fileProblems: string[] }
  | { ran: 'locked'; message: string };

/**
 * Brings the actual state to the file's: by asking the daemon when one holds the state
 * directory, or by running the loop here under the lock. Waits for starts to reach
 * RUNNING, stops to finish and rolling restarts to complete, up to `timeoutMs`.
 */
export async function converge(globals: GlobalOptions, role: LockRole, timeoutMs: number, log: (line: string) => void = logLine, written = false): Promise<ConvergeOutcome> {
  let lock: StateLock;
  try {
    lock = await StateLock.acquire(globals.stateDir, role, logLine);
  } catch (e) {
    if (!isTendError(e, 'LOCKED')) throw e;
    const holder = (e as { holder?: LockHolder }).holder;
    if (holder?.role !== 'daemon') return { ran: 'locked', message: `${e.message}; try again when it is done` };
    const reply = await askDaemon(globals.stateDir, { op: 'pass', timeoutMs, written }, timeoutMs + 5000);
    if (!reply.ok) throw new Error(`the daemon refused: ${reply.error}`);
    if (!('converged' in reply)) throw new Error('the daemon sent an unexpected reply');
    return { ran: 'daemon', converged: reply.converged, problems: reply.problems, fileProblems: reply.fileProblems };
  }
  try {
    const { loop } = buildLoop(globals, log, true);
    if (written) loop.trustFile();
    loop.start();
    const result = await loop.settle(timeoutMs);
    await loop.close();
    return { ran: 'locally', converged: result.converged, problems: result.problems, fileProblems: result.fileProblems };
  } finally {
    await lock.release();
  }
}
