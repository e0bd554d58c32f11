import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatProblem, TendError, type Problem } from '../../errors.js';
import { lookupUser } from './passwd.js';
import { instanceProcess, type DesiredState, type ProgramSpec } from './schema.js';
import { validateState, type ValidateOptions, type Validation } from './validate.js';
import { applyHostView } from './host-view.js';
import { HostFiles } from '../records/host-files.js';

export interface LoadResult {
  desired: DesiredState;
  /** Problems that concern one program only; that program is left as it is. */
  programProblems: Problem[];
}

/**
 * Reads and validates state.yaml, then checks what needs the host (the command exists and
 * is executable, cwd is a directory, the user exists). Throws INVALID_STATE_FILE with every
 * problem, the host checks of the programs that validated included: one round, not two.
 */
/** What this host runs of state.yaml: the file, with its labels and local overrides applied (for the CLI's readers). */
export function loadHostState(file: string, stateDir: string): LoadResult {
  const host = new HostFiles(stateDir);
  return applyHostView(loadState(file, stateDir), { labels: host.labels(), overrides: host.overrides() });
}

export function loadState(file: string, stateDir: string): LoadResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new TendError('STATE_FILE_UNREADABLE', `${file}: cannot read the desired state (${code ?? String(cause)})`, { cause });
  }
  return loadStateText(bytes, file, stateDir);
}

export function loadStateText(input: string | Uint8Array, file: string, stateDir: string): LoadResult {
  const result = validated(input, { file, stateDir });
  if (!result.ok) {
    const problems = [...result.problems, ...hostProblems(result.partial?.values() ?? [], file).map((p) => p.problem)];
    throw new TendError('INVALID_STATE_FILE', problems.map(formatProblem).join('\n'), { problems });
  }
  const programs = new Map(result.desired.programs);
  const programProblems = [...result.programProblems];
  for (const { spec, problem } of hostProblems(programs.values(), file)) {
    // A new object, not a mutation: the validated spec stays as validation made it.
    programs.set(spec.name, { ...spec, configError: problem.message });
    programProblems.push(problem);
  }
  return { desired: { ...result.desired, programs }, programProblems };
}

/**
 * The last text validated and what it gave. A verb made inside the daemon reads the very
 * bytes the loop validated last, and validating is a pure function of the text, the file's
 * path and the state directory (the host checks, which are not, run every time). Nothing
 * mutates a validation: loadStateText copies what it changes.
 */
let lastValidated: { bytes: Buffer; options: ValidateOptions; result: Validation } | null = null;

function validated(input: string | Uint8Array, options: ValidateOptions): Validation {
  const bytes = typeof input === 'string' ? Buffer.from(input) : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const last = lastValidated;
  if (last && last.options.file === options.file && last.options.stateDir === options.stateDir && last.bytes.equals(bytes)) return last.result;
  const result = validateState(bytes, options);
  lastValidated = { bytes: Buffer.from(bytes), options: { ...options }, result };
  return result;
}

/** The host checks of every program that has no problem yet. */
function hostProblems(specs: Iterable<ProgramSpec>, file: string): { spec: ProgramSpec; problem: Problem }[] {
  const out: { spec: ProgramSpec; problem: Problem }[] = [];
  // Many programs run the same binary from the same place: look each up once per load.
  const seen = new Map<string, ReturnType<typeof hostProblem>>();
  for (const spec of specs) {
    if (spec.configError) continue;
    const key = JSON.stringify([spec.process.command[0], spec.process.cwd, spec.process.env.PATH ?? null, spec.process.user]);
    const found = seen.has(key) ? seen.get(key)! : hostProblem(spec);
    seen.set(key, found);
    if (found) {
      const at = found.field === 'command' ? spec.commandAt : (spec.fieldsAt?.[found.field] ?? spec.commandAt);
      out.push({ spec, problem: { file: path.basename(file), ...at, path: `programs.${spec.name}.${found.field}`, message: found.message, program: spec.name } });
    }
  }
  return out;
}

function hostProblem(spec: ProgramSpec): { field: 'command' | 'cwd' | 'user'; message: string } | null {
  const { user } = spec.process;
  // With placeholders, the first instance stands for all (a per-replica binary is rare).
  spec = { ...spec, process: instanceProcess(spec, 0) };
  if (user !== null && !lookupUser(user)) return { field: 'user', message: `user '${user}' does not exist on this host (not in /etc/passwd)` };
  const error = checkCommand(spec);
  if (error === null) return null;
  return { field: error.startsWith('cwd ') ? 'cwd' : 'command', message: error };
}

/** Finds why `command[0]` could not be run, or returns null when it can. */
function checkCommand(spec: ProgramSpec): string | null {
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
  return which(program, cwd, env.PATH) === null ? `'${program}' was not found on PATH` : null;
}

/** Where `program` is found on PATH (the program's own, else tend's), as an absolute path; null when nowhere. */
export function which(program: string, cwd: string, searchPath: string | undefined): string | null {
  if (program.includes('/')) return path.resolve(cwd, program);
  for (const dir of (searchPath ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const full = dir ? path.resolve(cwd, dir, program) : null;
    if (full && isExecutable(full)) return full;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
