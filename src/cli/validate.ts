import { formatProblem, isTendError } from '../state/errors.js';
import { loadState } from '../state/load.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';

/** `tend validate`: every problem with its line and column; exit 2 when there is any. */
export function validateCommand(globals: GlobalOptions): number {
  try {
    const { desired, programProblems } = loadState(globals.file, globals.stateDir);
    for (const p of programProblems) process.stderr.write(formatProblem(p) + '\n');
    if (programProblems.length > 0) return EXIT.INVALID;
    const instances = [...desired.programs.values()].reduce((n, p) => n + p.replicas, 0);
    process.stdout.write(`${globals.file}: ok (${desired.programs.size} programs, ${instances} instances)\n`);
    return EXIT.OK;
  } catch (e) {
    if (!isTendError(e, 'INVALID_STATE_FILE') && !isTendError(e, 'STATE_FILE_UNREADABLE')) throw e;
    process.stderr.write(e.message + '\n');
    return EXIT.INVALID;
  }
}
