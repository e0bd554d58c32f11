import { readFileSync } from 'node:fs';
import { editProgramFields, unwritableReason, writeFileAtomic, type FieldEdit } from '../state/edit.js';
import { formatProblem, isTendError } from '../state/errors.js';
import { loadStateText } from '../state/load.js';
import { RestartRequests } from '../state/restart-requests.js';
import { parseInstanceName, type DesiredState } from '../state/schema.js';
import type { GlobalOptions } from './context.js';
import { converge } from './converge.js';
import { EXIT } from './exit-codes.js';
import { UsageError } from './usage-error.js';

export type Verb = 'start' | 'stop' | 'restart';

export interface VerbOptions {
  /** Wait until converged. Default true (`--no-wait` only edits). */
  wait: boolean;
  /** Default 60s. */
  timeoutMs: number;
  json: boolean;
}

interface Target {
  name: string;
  program: string;
  /** Set for `restart web:1`. */
  instance: string | null;
  error: string | null;
}

const DONE: Record<Verb, string> = { start: 'started', stop: 'stopped', restart: 'restarted' };

/**
 * `tend start|stop|restart NAME... | all`: an edit of state.yaml (state:, generation:),
 * or of the restart counter of one instance, then a wait until it has converged.
 */
export async function verbCommand(globals: GlobalOptions, verb: Verb, names: string[], options: VerbOptions): Promise<number> {
  if (names.length === 0) throw new UsageError(`tend ${verb} needs a NAME (a program, an instance such as web:1, or all)`);
  const text = readFileSync(globals.file, 'utf8');
  let desired: DesiredState;
  try {
    desired = loadStateText(text, globals.file, globals.stateDir).desired;
  } catch (e) {
    if (!isTendError(e, 'INVALID_STATE_FILE')) throw e;
    process.stderr.write(`${e.problems.map(formatProblem).join('\n')}\ntend: ${globals.file} is invalid; fix it before tend ${verb} can edit it\n`);
    return EXIT.INVALID;
  }
  const targets = resolveTargets(desired, verb, names);

  const edits: FieldEdit[] = [];
  for (const t of targets.filter((t) => !t.error && !t.instance)) {
    const spec = desired.programs.get(t.program)!;
    if (verb === 'stop' && spec.state !== 'stopped') edits.push({ program: t.program, field: 'state', value: 'stopped' });
    if (verb !== 'stop' && spec.state !== 'running') edits.push({ program: t.program, field: 'state', value: 'running' });
    if (verb === 'restart') edits.push({ program: t.program, field: 'generation', value: spec.generation + 1 });
  }
  const edited = edits.length > 0 ? editProgramFields(text, edits) : text;
  const fields = edits.map((e) => `programs.${e.program}.${e.field}: ${e.value}`);
  if (edited !== text) {
    const why = unwritableReason(globals.file);
    if (why) {
      process.stderr.write(
        `tend: ${globals.file} is not writable (${why}); it may be a read-only checkout of a config repository.\n` +
          `Make the same change where the file comes from (commit and push), and tend applies it on the next pull:\n` +
          fields.map((f) => `  ${f}\n`).join(''),
      );
      return EXIT.READ_ONLY;
    }
    writeFileAtomic(globals.file, edited);
  }
  const instances = targets.filter((t) => !t.error && t.instance).map((t) => t.instance!);
  if (instances.length > 0) new RestartRequests(globals.stateDir).bump(instances);

  const results = new Map<string, string | null>();
  if (options.wait && targets.some((t) => !t.error)) {
    const outcome = await converge(globals, 'command', options.timeoutMs, () => {});
    if (outcome.ran === 'locked') {
      process.stderr.write(`tend: the edit is made, but ${outcome.message}\n`);
      return EXIT.LOCKED;
    }
    for (const t of targets) {
      const prefix = t.instance ? `${t.instance}: ` : `${t.program}:`;
      const problem = outcome.problems.find((p) => p.startsWith(prefix));
      results.set(t.name, problem ? problem.replace(/^[^ ]+: /, '') : null);
    }
  }
  const lines = targets.map((t) => {
    const error = t.error ?? results.get(t.name) ?? null;
    const result = error ? 'error' : options.wait ? DONE[verb] : `${verb} requested`;
    return { name: t.name, result, error };
  });
  if (options.json) process.stdout.write(JSON.stringify(lines, null, 2) + '\n');
  else for (const l of lines) process.stdout.write(l.error ? `${l.name}: ERROR (${l.error})\n` : `${l.name}: ${l.result}\n`);
  return lines.some((l) => l.error) ? (targets.some((t) => t.error) ? EXIT.INVALID : EXIT.NOT_CONVERGED) : EXIT.OK;
}

function resolveTargets(desired: DesiredState, verb: Verb, names: string[]): Target[] {
  if (names.includes('all')) return [...desired.programs.keys()].map((p) => ({ name: p, program: p, instance: null, error: null }));
  return names.map((name) => {
    if (desired.programs.has(name)) return { name, program: name, instance: null, error: null };
    const parsed = parseInstanceName(name);
    const spec = parsed && desired.programs.get(parsed.program);
    if (!parsed || !spec || parsed.replica >= spec.replicas) return { name, program: name, instance: null, error: 'no such program or instance' };
    if (verb !== 'restart') {
      return { name, program: parsed.program, instance: null, error: `${verb} applies to a whole program (state: is per program); use 'tend restart ${name}' for one instance` };
    }
    if (spec.state !== 'running') return { name, program: parsed.program, instance: null, error: `${parsed.program} is stopped; start it first` };
    return { name, program: parsed.program, instance: name, error: null };
  });
}

