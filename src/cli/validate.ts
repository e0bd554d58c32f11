import { formatProblem, isTendError, type Problem } from '../errors.js';
import { loadState } from '../state/desired/load.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';

/** `tend validate [--json]`: every problem with its line and column; exit 2 when there is any. */
export function validateCommand(globals: GlobalOptions, json = false): number {
  let problems: Problem[];
  let summary = '';
  try {
    const { desired, programProblems } = loadState(globals.file, globals.stateDir);
    problems = programProblems;
    const instances = [...desired.programs.values()].reduce((n, p) => n + p.replicas, 0);
    summary = `${globals.file}: ok (${desired.programs.size} programs, ${instances} instances)`;
  } catch (e) {
    if (!isTendError(e, 'INVALID_STATE_FILE') && !isTendError(e, 'STATE_FILE_UNREADABLE')) throw e;
    problems = e.problems.length > 0 ? e.problems : [{ file: globals.file, line: 0, col: 0, path: '', message: e.message }];
  }
  if (json) process.stdout.write(JSON.stringify({ ok: problems.length === 0, problems }, null, 2) + '\n');
  else if (problems.length === 0) process.stdout.write(summary + '\n');
  else for (const p of problems) process.stderr.write((p.line > 0 ? formatProblem(p) : p.message) + '\n');
  return problems.length === 0 ? EXIT.OK : EXIT.INVALID;
}
