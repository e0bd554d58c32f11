import { readFileSync } from 'node:fs';
import { editProgramFields, unwritableReason, writeFileAtomic, type FieldEdit } from '../state/desired/edit.js';
import { formatProblem, isTendError, TendError } from '../errors.js';
import { EditLock } from '../state/records/lock.js';
import { RecordStore, type InstanceRecord } from '../state/records/records.js';
import { OsProcessControl } from '../spawner/os-process-control.js';
import { loadStateText } from '../state/desired/load.js';
import { RestartRequests } from '../state/records/restart-requests.js';
import { instanceName, parseInstanceName, type DesiredState } from '../state/desired/schema.js';
import type { GlobalOptions } from './context.js';
import { converge, type ConvergeOutcome } from './converge.js';
import { EXIT } from './exit-codes.js';
import { UsageError } from './usage-error.js';
import type { ControlReply, VerbRequest } from './control-protocol.js';
import type { ReconcileLoop } from '../runtime/loop.js';
import { gitVerb, type Target } from './verbs-git.js';

export type Verb = 'start' | 'stop' | 'restart';

export interface VerbOptions {
  /** Wait until converged. Default true (`--no-wait` only edits). */
  wait: boolean;
  /** Default 60s. */
  timeoutMs: number;
  json: boolean;
  /** On a git-managed file: set a local override instead of refusing. Default false. */
  local?: boolean;
}

/** Where a verb's words go: the terminal, or (run inside the daemon for a client) a reply. */
export interface VerbIo {
  out(text: string): void;
  err(text: string): void;
}

export const terminalIo: VerbIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

/** Brings the actual state to the edited file's: asks the daemon or runs a pass here (the CLI), or settles the loop (inside the daemon). */
export type Settle = (timeoutMs: number, written: boolean) => Promise<ConvergeOutcome>;

const DONE: Record<Verb, string> = { start: 'started', stop: 'stopped', restart: 'restarted' };

/**
 * `tend start|stop|restart NAME... | all`: an edit of state.yaml (state:, generation:),
 * or of the restart counter of one instance, then a wait until it has converged.
 */
export async function verbCommand(
  globals: GlobalOptions,
  verb: Verb,
  names: string[],
  options: VerbOptions,
  io: VerbIo = terminalIo,
  settle: Settle = (timeoutMs, written) => converge(globals, 'command', timeoutMs, () => {}, written),
  /** The process table after settling: read from the state directory, or (in the daemon) the one it holds. */
  table: () => ReadonlyMap<string, InstanceRecord> = () => new RecordStore(globals.stateDir).load(),
): Promise<number> {
  if (names.length === 0) throw new UsageError(`tend ${verb} needs a NAME (a program, an instance such as web:1, or all)`);
  // Read, edit and write under the edit lock: two verbs at once must not write over each other.
  // A file this user cannot write needs no lock: the edit is refused with what to change instead.
  const lock = unwritableReason(globals.file) === null ? await editLock(globals) : null;
  let edit: EditOutcome;
  try {
    edit = editFile(globals, verb, names, options.local ?? false, io);
  } finally {
    await lock?.release();
  }
  if ('exit' in edit) return edit.exit;
  const { targets, wanted } = edit;

  const results = new Map<string, string | null>();
  if (options.wait && targets.some((t) => !t.error)) {
    const outcome = await settle(options.timeoutMs, edit.written);
    if (outcome.ran === 'locked') {
      io.err(`tend: the edit is made, but ${outcome.message}\n`);
      return EXIT.LOCKED;
    }
    // Say what is true of each target now, not what was hoped for: the table and /proc.
    const records = table();
    const mine = [...records.values()].filter((r) => targets.some((t) => !t.error && r.program === t.program));
    const alive = new OsProcessControl().observe(mine);
    for (const t of targets.filter((t) => !t.error)) {
      // The daemon's own words for the target, when it has any: the program, or one of its instances.
      const problem = outcome.problems.find((p) => (t.instance ? p.subject === t.instance : p.subject === t.program || p.subject.startsWith(`${t.program}:`)));
      const shortfall = checkOutcome(verb, t, wanted, records, (name) => alive.get(name)?.alive ?? false);
      results.set(t.name, shortfall === null ? null : (problem?.message ?? shortfall));
    }
  }
  const lines = targets.map((t) => {
    const error = t.error ?? results.get(t.name) ?? null;
    const result = error ? 'error' : options.wait ? DONE[verb] : `${verb} requested`;
    return { name: t.name, result, error };
  });
  if (options.json) io.out(JSON.stringify(lines, null, 2) + '\n');
  else io.out(lines.map((l) => (l.error ? `${l.name}: ERROR (${l.error})\n` : `${l.name}: ${l.result}\n`)).join(''));
  return lines.some((l) => l.error) ? (targets.some((t) => t.error) ? EXIT.INVALID : EXIT.NOT_CONVERGED) : EXIT.OK;
}

/**
 * A client's verb, made inside the daemon: the same edit under the same lock, then the loop
 * settles at once, without waiting for the file to be still (it wrote the file itself). The
 * client pays for starting Node and no more: the parser is loaded here, and the pass starts
 * without a round trip. A file this daemon cannot write goes back to the client, which may.
 */
export async function verbInDaemon(globals: GlobalOptions, loop: Pick<ReconcileLoop, 'trustFile' | 'settle' | 'table'>, request: VerbRequest, log: (line: string) => void): Promise<ControlReply> {
  if (unwritableReason(globals.file) !== null) return { ok: false, error: `the daemon cannot write ${globals.file}`, fallback: true };
  log(`tend ${request.verb} ${request.names.join(' ')}${request.local ? ' --local' : ''}: asked on the control socket`);
  let stdout = '';
  let stderr = '';
  const io: VerbIo = { out: (t) => void (stdout += t), err: (t) => void (stderr += t) };
  const settle: Settle = async (timeoutMs, written) => {
    if (written) loop.trustFile();
    const r = await loop.settle(timeoutMs);
    return { ran: 'daemon', converged: r.converged, problems: r.problems, fileProblems: r.fileProblems };
  };
  const exit = await verbCommand(globals, request.verb, request.names, { wait: request.wait, timeoutMs: request.timeoutMs, json: request.json, local: request.local }, io, settle, () => loop.table());
  return { ok: true, exit, stdout, stderr };
}

/** The edit lock of state.yaml, waiting for another verb that holds it (up to 10 s). */
async function editLock(globals: GlobalOptions, timeoutMs = 10_000): Promise<EditLock> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 2; ; wait = Math.min(50, wait * 2)) {
    const lock = await EditLock.tryAcquire(globals.stateDir, globals.file);
    if (lock) return lock;
    if (Date.now() > deadline) throw new TendError('LOCKED', `${globals.file} is being edited by another tend command (waited ${timeoutMs / 1000}s)`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

type EditOutcome = { exit: number } | { targets: Target[]; wanted: Wanted; written: boolean };

/** What the edit asked for: each program's generation and each instance's restart count (and its replicas). */
interface Wanted {
  replicas: Map<string, number>;
  generations: Map<string, number>;
  instanceRestarts: Map<string, number>;
}

/** The read-edit-write of state.yaml (and of restart requests), made under the edit lock. */
function editFile(globals: GlobalOptions, verb: Verb, names: string[], local: boolean, io: VerbIo): EditOutcome {
  const bytes = readStateFile(globals.file);
  let desired: DesiredState;
  try {
    desired = loadStateText(bytes, globals.file, globals.stateDir).desired;
  } catch (e) {
    if (!isTendError(e, 'INVALID_STATE_FILE')) throw e;
    io.err(`${e.problems.map(formatProblem).join('\n')}\ntend: ${globals.file} is invalid; fix it before tend ${verb} can edit it\n`);
    return { exit: EXIT.INVALID };
  }
  const text = bytes.toString('utf8'); // valid UTF-8: validation checked it
  const targets = resolveTargets(desired, verb, names);
  const generations = new Map([...desired.programs.values()].map((p) => [p.name, p.generation]));
  const replicas = new Map([...desired.programs.values()].map((p) => [p.name, p.replicas]));
  const managed = gitVerb(globals, verb, targets, desired, text, local, io);
  if (managed && 'exit' in managed) return managed;
  if (managed) return { targets, wanted: { replicas, generations, instanceRestarts: managed.instanceRestarts }, written: false };
  if (local) {
    io.err(`tend: --local overrides a file that git manages; ${globals.file} is not one: tend ${verb} edits it\n`);
  }

  const edits: FieldEdit[] = [];
  for (const t of targets.filter((t) => !t.error && !t.instance)) {
    const spec = desired.programs.get(t.program)!;
    if (verb === 'stop' && spec.state !== 'stopped') edits.push({ program: t.program, field: 'state', value: 'stopped' });
    if (verb !== 'stop' && spec.state !== 'running') edits.push({ program: t.program, field: 'state', value: 'running' });
    if (verb === 'restart') {
      edits.push({ program: t.program, field: 'generation', value: spec.generation + 1 });
      generations.set(t.program, spec.generation + 1);
    }
  }
  const edited = edits.length > 0 ? editProgramFields(text, edits) : text;
  if (edited !== text) {
    const why = unwritableReason(globals.file);
    if (why) {
      io.err(
        `tend: ${globals.file} is not writable (${why}); it may be a read-only checkout of a config repository.\n` +
          `Make the same change where the file comes from (commit and push), and tend applies it on the next pull:\n` +
          edits.map((e) => `  programs.${e.program}.${e.field}: ${e.value}\n`).join(''),
      );
      return { exit: EXIT.READ_ONLY };
    }
    writeFileAtomic(globals.file, edited);
    // Another writer (an editor) may have replaced the file meanwhile: check the edit is there
    // (the bytes written, or else the fields themselves).
    const now = readStateFile(globals.file);
    if (!now.equals(Buffer.from(edited))) {
      const after = loadStateText(now, globals.file, globals.stateDir).desired;
      const lost = edits.filter((e) => after.programs.get(e.program)?.[e.field as 'state' | 'generation'] !== e.value);
      if (lost.length > 0) throw new Error(`${globals.file} was changed by someone else while tend edited it; ${lost.map((e) => `programs.${e.program}.${e.field}`).join(', ')} did not stay. Try again.`);
    }
  }
  const instances = targets.filter((t) => !t.error && t.instance).map((t) => t.instance!);
  const instanceRestarts = instances.length > 0 ? new RestartRequests(globals.stateDir).bump(instances) : new Map<string, number>();
  return { targets, wanted: { replicas, generations, instanceRestarts }, written: edited !== text };
}

function readStateFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new TendError('STATE_FILE_UNREADABLE', `${file}: cannot read the desired state (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
}

/** Why a target is not where the verb wanted it, or null when it is. */
function checkOutcome(verb: Verb, t: Target, wanted: Wanted, records: ReadonlyMap<string, InstanceRecord>, alive: (name: string) => boolean): string | null {
  const names = t.instance ? [t.instance] : Array.from({ length: wanted.replicas.get(t.program) ?? 0 }, (_, i) => instanceName(t.program, i));
  for (const name of names) {
    const r = records.get(name);
    const up = r !== undefined && r.pid !== null && alive(name);
    if (verb === 'stop') {
      if (up) return `${name} is ${r.state} with pid ${r.pid}`;
      continue;
    }
    if (!r || !up || r.state !== 'RUNNING') return `${name} is ${r && !up && r.pid !== null ? 'EXITED' : (r?.state ?? 'STOPPED')}${r?.lastReason ? ` (${r.lastReason})` : ''}`;
    if (verb !== 'restart') continue;
    const request = wanted.instanceRestarts.get(name);
    if (request !== undefined ? (r.restartRequest ?? 0) < request : r.generation !== wanted.generations.get(t.program)) {
      return `${name} was not restarted yet`;
    }
  }
  return null;
}

function resolveTargets(desired: DesiredState, verb: Verb, names: string[]): Target[] {
  if (names.includes('all')) return [...desired.programs.keys()].map((p) => ({ name: p, program: p, instance: null, error: null }));
  return names.flatMap((name): Target | Target[] => {
    // supervisorctl's GROUP:* (and PROGRAM:*): every program of the group.
    if (name.endsWith(':*')) {
      const members = programsOf(desired, name.slice(0, -2));
      if (members.length === 0) return [{ name, program: name, instance: null, error: 'no such group or program' }];
      return members.map((p) => ({ name: p, program: p, instance: null, error: null }));
    }
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

/** The programs `GROUP:*` names: those with that group, or the program of that name. */
export function programsOf(desired: DesiredState, group: string): string[] {
  const members = [...desired.programs.values()].filter((p) => p.group === group).map((p) => p.name);
  return members.length > 0 ? members : desired.programs.has(group) ? [group] : [];
}
