import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatProblem, TendError, type Problem } from './errors.js';
import type { DesiredState, ProgramSpec } from './schema.js';
import { validateState } from './validate.js';

export interface LoadResult {
  desired: DesiredState;
  /** Problems that concern one program only; that program is left as it is. */
  programProblems: Problem[];
}

/**
 * Reads and validates state.yaml, then checks what needs the file system
 * (the command exists and is executable). Throws INVALID_STATE_FILE with every problem.
 */
export function loadState(file: string, stateDir: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new TendError('STATE_FILE_UNREADABLE', `${file}: cannot read the desired state (${code ?? String(cause)})`, { cause });
  }
  return loadStateText(text, file, stateDir);
}

export function loadStateText(text: string, file: string, stateDir: string): LoadResult {
  const result = validateState(text, { file, stateDir });
  if (!result.ok) {
    throw new TendError('INVALID_STATE_FILE', result.problems.map(formatProblem).join('\n'), { problems: result.problems });
  }
  const programProblems: Problem[] = [];
  // Many programs run the same binary from the same place: look each up once per load.
  const seen = new Map<string, string | null>();
  for (const spec of result.desired.programs.values()) {
    const key = JSON.stringify([spec.process.command[0], spec.process.cwd, spec.process.env.PATH ?? null]);
    const error = seen.has(key) ? seen.get(key)! : checkCommand(spec);
    seen.set(key, error);
    if (error) {
      spec.configError = error;
      programProblems.push({ file: path.basename(file), ...spec.commandAt, path: `programs.${spec.name}.command`, message: error });
    }
  }
  return { desired: result.desired, programProblems };
}

/** Finds why `command[0]` could not be run, or returns null when it can. */
export function checkCommand(spec: ProgramSpec): string | null {
  const { command, cwd, env } = spec.process;
  const program = command[0]!;
  try {
    if (!statSync(cwd).isDirectory()) return `cwd '${cwd}' is not a directory`;
  } catch {
    return `cwd '${cwd}' does not exist`;
  }
  if (program.includes('/')) {
    const full = path.resolve(cwd, program);
    return isExecutable(full) ? null : `'${program}' is not an executable file (looked at ${full})`;
  }
  const searchPath = env.PATH ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  for (const dir of searchPath.split(':')) {
    if (dir && isExecutable(path.resolve(cwd, dir, program))) return null;
  }
  return `'${program}' was not found on PATH`;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
