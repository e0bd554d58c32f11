import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { splitCommand } from './command-line.js';
import { parseSignalName } from './signal-name.js';
import type { Problem } from '../../errors.js';
import { DEFAULTS, LIMIT_KINDS, type LimitKind, type DesiredState, type HealthSpec, type LimitsSpec, type LogSpec, type ProbeSpec, type ProgramSpec, type RestartSpec, type StopSpec } from './schema.js';
import { scheduleProblem, timezoneProblem } from './schedule-check.js';
import { checkStateBytes, INPUT_LIMITS } from './input-check.js';
import { keyOf, YamlReader } from './yaml-reader.js';

export interface ValidateOptions {
  /** Absolute path of the file, used for messages and to resolve relative paths. */
  file: string;
  /** Absolute state directory; default log files live under it. */
  stateDir: string;
}

export type Validation =
  | { ok: true; desired: DesiredState; /** Problems of single programs: each is left as it is (configError). */ programProblems: Problem[] }
  | { ok: false; problems: Problem[]; /** The programs that did validate, for checks that need the host. */ partial?: Map<string, ProgramSpec> };

const PROGRAM_FIELDS = ['command', 'args', 'cwd', 'env', 'user', 'replicas', 'state', 'generation', 'restart', 'stop', 'logs', 'limits', 'health'] as const;
const RESTART_FIELDS = ['policy', 'exitCodes', 'startSeconds', 'backoff', 'maxRetries', 'schedule', 'timezone', 'maxUptime', 'jitter'] as const;
const LIMIT_FIELDS = [...(Object.keys(LIMIT_KINDS) as LimitKind[]), 'interval', 'samples'] as const;
const HEALTH_FIELDS = ['http', 'tcp', 'exec', 'interval', 'timeout', 'failures', 'initialDelay'] as const;
const BACKOFF_FIELDS = ['initial', 'max', 'resetAfter'] as const;
const STOP_FIELDS = ['signal', 'timeout'] as const;
const LOG_FIELDS = ['stdout', 'stderr', 'maxSize', 'keep'] as const;
const PROGRAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Validates state.yaml (its bytes or its text) and fills every default; reports all
 * problems at once. A file with nothing in it, or with no `programs:` key, is an error:
 * a half-written file must never read as "run nothing" (that takes `programs: {}`).
 */
export function validateState(input: string | Uint8Array, options: ValidateOptions): Validation {
  const display = path.basename(options.file);
  const checked = checkStateBytes(typeof input === 'string' ? Buffer.from(input) : input, display);
  if (!checked.ok) return checked;
  const text = checked.text;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const read = new YamlReader(display, lines);
  for (const error of doc.errors) read.problemAt(error.pos[0], '', error.message.split('\n')[0]!);
  if (read.problems.length > 0) return { ok: false, problems: read.problems };

  const programs = new Map<string, ProgramSpec>();
  const programProblems: Problem[] = [];
  const root = doc.contents;
  if (root === null) {
    read.problemAt(0, '', 'the file is empty (or only comments); to run nothing, write `programs: {}`');
    return { ok: false, problems: read.problems };
  }
  const top = read.map(root, '');
  if (top) {
    read.keys(top, '', ['programs']);
    const programsNode = top.get('programs', true);
    if (programsNode === undefined) read.problem(root as Node, 'programs', 'is required: the programs to run (to run nothing, write `programs: {}`)');
    else if (isScalar(programsNode) && programsNode.value === null) {
      const key = top.items.find((p) => keyOf(p) === 'programs')?.key as Node | undefined;
      read.problem(key, 'programs', 'is empty; to run nothing, write `programs: {}`');
    } else {
      const list = read.map(programsNode, 'programs');
      if (list) read.unique(list, 'programs');
      let instances = 0;
      for (const pair of list?.items ?? []) {
        const name = keyOf(pair);
        if (name === null) continue;
        const where = `programs.${name}`;
        if (!PROGRAM_NAME.test(name)) {
          read.problem(pair.key as Node, where, 'a program name may use letters, digits, _ . and - (and may not start with . or -)');
          continue;
        }
        if (programs.size === INPUT_LIMITS.programs) {
          read.problem(pair.key as Node, where, `more than ${INPUT_LIMITS.programs} programs in one file`);
          break;
        }
        const spec = readProgram(read, name, pair.value, (pair.key as Node).range?.[0] ?? 0, options, programProblems);
        if (!spec) continue;
        programs.set(name, spec);
        instances += spec.replicas;
        if (instances > INPUT_LIMITS.instances) read.problem(pair.key as Node, where, `more than ${INPUT_LIMITS.instances} instances in all (replicas summed over every program)`);
      }
    }
  }
  if (read.problems.length > 0) return { ok: false, problems: [...read.problems, ...programProblems], partial: programs };
  return { ok: true, desired: { file: options.file, programs, instanceRestarts: new Map() }, programProblems };
}

function readProgram(read: YamlReader, name: string, node: unknown, keyOffset: number, options: ValidateOptions, programProblems: Problem[]): ProgramSpec | null {
  const where = `programs.${name}`;
  const map = read.map(node, where, keyOffset);
  if (!map) return null;
  read.keys(map, where, PROGRAM_FIELDS);
  const before = read.problems.length;
  const baseDir = path.dirname(options.file);

  let command: string[] | null = null;
  const commandNode = map.get('command', true);
  if (commandNode === undefined) read.problemAt(keyOffset, `${where}.command`, 'is required: the program to run, as a list or a string');
  else if (isSeq(commandNode)) command = read.strList(commandNode, `${where}.command`);
  else if (!isScalar(commandNode)) read.problem(commandNode as Node, `${where}.command`, 'expected a list or a string');
  else {
    const text = read.str(commandNode, `${where}.command`);
    if (text !== null) {
      const split = splitCommand(text);
      if (split.ok) command = split.argv;
      else read.problem(commandNode as Node, `${where}.command`, split.error);
    }
  }
  if (command && command.length === 0) read.problem(commandNode as Node, `${where}.command`, 'the command is empty');
  const args = optional(map, 'args', (n) => read.strList(n, `${where}.args`)) ?? [];
  const cwdText = optional(map, 'cwd', (n) => read.str(n, `${where}.cwd`));
  const env = optional(map, 'env', (n) => read.strMap(n, `${where}.env`)) ?? {};
  const user = optional(map, 'user', (n) => read.str(n, `${where}.user`));
  const replicas = optional(map, 'replicas', (n) => read.int(n, `${where}.replicas`, 0, INPUT_LIMITS.replicas)) ?? DEFAULTS.replicas;
  const state = optional(map, 'state', (n) => read.oneOf(n, `${where}.state`, ['running', 'stopped'] as const)) ?? DEFAULTS.state;
  const generation = optional(map, 'generation', (n) => read.int(n, `${where}.generation`, 0)) ?? DEFAULTS.generation;
  const ownProblems = programProblems.length;
  const restart = readRestart(read, map.get('restart', true), `${where}.restart`, name, programProblems);
  const stop = readStop(read, map.get('stop', true), `${where}.stop`);
  const logs = readLogs(read, map.get('logs', true), `${where}.logs`, name, baseDir, options.stateDir);
  const limitsNode = map.get('limits', true);
  const limits = limitsNode === undefined ? null : readLimits(read, limitsNode, `${where}.limits`);
  const healthNode = map.get('health', true);
  const health = healthNode === undefined ? null : readHealth(read, healthNode, `${where}.health`);
  if (read.problems.length > before || !command || !restart || !stop || !logs) return null;
  const argv = [...command, ...args];
  const tooBig = execProblem(argv, env);
  if (tooBig) read.problem(map.get(tooBig.field, true) as Node, `${where}.${tooBig.field}`, tooBig.message, keyOffset);
  if (read.problems.length > before) return null;

  return {
    name,
    process: {
      command: argv,
      env,
      cwd: cwdText === null ? baseDir : path.resolve(baseDir, cwdText),
      user: user ?? null,
    },
    commandAt: read.position((commandNode as Node).range?.[0] ?? keyOffset),
    fieldsAt: positions(read, map, ['cwd', 'user']),
    replicas,
    state,
    generation,
    restart,
    stop,
    logs,
    limits,
    health,
    configError: programProblems[ownProblems]?.message ?? null,
  };
}

/** What the kernel would refuse to exec: an argument, a variable or the whole too long. */
function execProblem(argv: string[], env: Record<string, string>): { field: 'command' | 'args' | 'env'; message: string } | null {
  const limit = INPUT_LIMITS.argBytes;
  let total = 0;
  for (const [i, arg] of argv.entries()) {
    const bytes = Buffer.byteLength(arg);
    total += bytes + 1;
    if (bytes > limit) return { field: 'command', message: `argument ${i} is ${bytes} bytes; Linux takes at most ${limit} bytes per argument` };
  }
  for (const [key, value] of Object.entries(env)) {
    if (key === '' || key.includes('=')) return { field: 'env', message: `'${key}' cannot be an environment variable's name (empty or containing '=')` };
    const bytes = Buffer.byteLength(key) + 1 + Buffer.byteLength(value);
    total += bytes + 1;
    if (bytes > limit) return { field: 'env', message: `${key} is ${bytes} bytes; Linux takes at most ${limit} bytes per variable` };
  }
  if (total > INPUT_LIMITS.execBytes) return { field: 'command', message: `the command and its environment take ${total} bytes; at most ${INPUT_LIMITS.execBytes} are allowed` };
  return null;
}

function readRestart(read: YamlReader, node: unknown, where: string, program: string, programProblems: Problem[]): RestartSpec | null {
  const d = DEFAULTS.restart;
  if (node === undefined) return { ...d, exitCodes: [...d.exitCodes], backoff: { ...d.backoff } };
  const map = read.map(node, where);
  if (!map) return null;
  read.keys(map, where, RESTART_FIELDS);
  const backoffNode = map.get('backoff', true);
  let backoff: RestartSpec['backoff'] = { ...d.backoff };
  if (backoffNode !== undefined) {
    const b = read.map(backoffNode, `${where}.backoff`);
    if (b) {
      read.keys(b, `${where}.backoff`, BACKOFF_FIELDS);
      backoff = {
        initial: optional(b, 'initial', (n) => read.duration(n, `${where}.backoff.initial`)) ?? d.backoff.initial,
        max: optional(b, 'max', (n) => read.duration(n, `${where}.backoff.max`)) ?? d.backoff.max,
        resetAfter: optional(b, 'resetAfter', (n) => read.duration(n, `${where}.backoff.resetAfter`)) ?? d.backoff.resetAfter,
      };
      if (backoff.max < backoff.initial) {
        read.problem(b.get('max', true) as Node ?? backoffNode as Node, `${where}.backoff.max`, `must be at least backoff.initial (${backoff.initial}ms), got ${backoff.max}ms`);
      }
    }
  }
  // A cron expression or time zone this host cannot read concerns this program only:
  // it is left as it is, and the other programs go on converging.
  const forProgram = (n: unknown, field: string, message: string) => {
    const { line, col } = read.position((n as Node | undefined)?.range?.[0] ?? 0);
    programProblems.push({ file: read.file, line, col, path: `${where}.${field}`, message, program });
  };
  const schedule = optional(map, 'schedule', (n) => read.str(n, `${where}.schedule`));
  const timezone = optional(map, 'timezone', (n) => {
    const tz = read.str(n, `${where}.timezone`);
    const problem = tz === null ? null : timezoneProblem(tz);
    if (problem) forProgram(n, 'timezone', problem);
    return tz;
  });
  if (schedule !== null) {
    const problem = scheduleProblem(schedule, timezone !== null && timezoneProblem(timezone) ? null : timezone);
    if (problem) forProgram(map.get('schedule', true), 'schedule', problem);
  }
  return {
    schedule,
    timezone,
    maxUptime: optional(map, 'maxUptime', (n) => read.duration(n, `${where}.maxUptime`)),
    jitter: optional(map, 'jitter', (n) => read.duration(n, `${where}.jitter`)) ?? 0,
    policy: optional(map, 'policy', (n) => read.oneOf(n, `${where}.policy`, ['always', 'on-failure', 'never'] as const)) ?? d.policy,
    exitCodes: optional(map, 'exitCodes', (n) => read.intList(n, `${where}.exitCodes`, 0)) ?? [...d.exitCodes],
    startSeconds: optional(map, 'startSeconds', (n) => read.duration(n, `${where}.startSeconds`)) ?? d.startSeconds,
    maxRetries: optional(map, 'maxRetries', (n) => read.int(n, `${where}.maxRetries`, 0)) ?? d.maxRetries,
    backoff,
  };
}

function readLimits(read: YamlReader, node: unknown, where: string): LimitsSpec | null {
  const map = read.map(node, where);
  if (!map) return null;
  read.keys(map, where, LIMIT_FIELDS);
  const each = (kind: LimitKind) => optional(map, kind, (n) => (LIMIT_KINDS[kind] === 'size' ? read.size(n, `${where}.${kind}`) : read.int(n, `${where}.${kind}`, 1)));
  const limits: LimitsSpec = {
    ...(Object.fromEntries((Object.keys(LIMIT_KINDS) as LimitKind[]).map((kind) => [kind, each(kind)])) as Record<LimitKind, number | null>),
    interval: optional(map, 'interval', (n) => read.duration(n, `${where}.interval`)) ?? 1000,
    samples: optional(map, 'samples', (n) => read.int(n, `${where}.samples`, 1)) ?? 3,
  };
  if (limits.interval < 100) read.problem(map.get('interval', true) as Node, `${where}.interval`, `must be at least 100ms, got ${limits.interval}ms`);
  return limits;
}

function readHealth(read: YamlReader, node: unknown, where: string): HealthSpec | null {
  const map = read.map(node, where);
  if (!map) return null;
  read.keys(map, where, HEALTH_FIELDS);
  const kinds = (['http', 'tcp', 'exec'] as const).filter((k) => map.has(k));
  if (kinds.length !== 1) {
    read.problem(map, where, `needs exactly one probe of http, tcp or exec, got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`);
    return null;
  }
  const kind = kinds[0]!;
  const probeWhere = `${where}.${kind}`;
  const probeMap = read.map(map.get(kind, true), probeWhere);
  if (!probeMap) return null;
  let probe: ProbeSpec | null = null;
  if (kind === 'http') {
    read.keys(probeMap, probeWhere, ['url']);
    const url = read.str(probeMap.get('url', true), `${probeWhere}.url`);
    if (url !== null && !/^https?:\/\//.test(url)) read.problem(probeMap.get('url', true) as Node, `${probeWhere}.url`, `expected an http:// or https:// URL, got "${url}"`);
    else if (url !== null) probe = { kind, url };
  } else if (kind === 'tcp') {
    read.keys(probeMap, probeWhere, ['host', 'port']);
    const host = optional(probeMap, 'host', (n) => read.str(n, `${probeWhere}.host`)) ?? '127.0.0.1';
    const port = read.int(probeMap.get('port', true), `${probeWhere}.port`, 1);
    if (port !== null) probe = { kind, host, port };
  } else {
    read.keys(probeMap, probeWhere, ['command']);
    const c = probeMap.get('command', true);
    const command = isSeq(c) ? read.strList(c, `${probeWhere}.command`) : (() => {
      const text = read.str(c, `${probeWhere}.command`);
      const split = text === null ? null : splitCommand(text);
      if (split && !split.ok) read.problem(c as Node, `${probeWhere}.command`, split.error);
      return split && split.ok ? split.argv : null;
    })();
    if (command) probe = { kind, command };
  }
  if (!probe) return null;
  return {
    probe,
    interval: optional(map, 'interval', (n) => read.duration(n, `${where}.interval`)) ?? 10_000,
    timeout: optional(map, 'timeout', (n) => read.duration(n, `${where}.timeout`)) ?? 1000,
    failures: optional(map, 'failures', (n) => read.int(n, `${where}.failures`, 1)) ?? 3,
    initialDelay: optional(map, 'initialDelay', (n) => read.duration(n, `${where}.initialDelay`)) ?? 0,
  };
}

function readStop(read: YamlReader, node: unknown, where: string): StopSpec | null {
  if (node === undefined) return { ...DEFAULTS.stop };
  const map = read.map(node, where);
  if (!map) return null;
  read.keys(map, where, STOP_FIELDS);
  const signal = optional(map, 'signal', (n) => readSignal(read, n, `${where}.signal`));
  return {
    signal: signal ?? DEFAULTS.stop.signal,
    timeout: optional(map, 'timeout', (n) => read.duration(n, `${where}.timeout`)) ?? DEFAULTS.stop.timeout,
  };
}

function readLogs(read: YamlReader, node: unknown, where: string, program: string, baseDir: string, stateDir: string): LogSpec | null {
  const fallback = (stream: string) => path.join(stateDir, 'logs', `${program}.{replica}.${stream}.log`);
  const rotation = { maxSize: 50 * 2 ** 20, keep: 10 };
  if (node === undefined) return { stdout: fallback('out'), stderr: fallback('err'), ...rotation };
  const map = read.map(node, where);
  if (!map) return null;
  const reopen = map.get('reopenSignal', true) as Node | undefined;
  if (reopen !== undefined) {
    // Removed: no program reopens the stdout tend opened for it, so a rename rotation lost output.
    read.problem(reopen, `${where}.reopenSignal`, 'is no longer supported: tend rotates captured output by copy, then truncate, which needs no signal. Remove it (a program\'s own log files, like nginx\'s access.log, are rotated by logrotate as before)');
    map.delete('reopenSignal');
  }
  read.keys(map, where, LOG_FIELDS);
  const stdout = optional(map, 'stdout', (n) => read.str(n, `${where}.stdout`));
  const stderr = optional(map, 'stderr', (n) => read.str(n, `${where}.stderr`));
  return {
    stdout: stdout === null ? fallback('out') : path.resolve(baseDir, stdout),
    stderr: stderr === null ? fallback('err') : stderr === 'stdout' ? 'stdout' : path.resolve(baseDir, stderr),
    maxSize: optional(map, 'maxSize', (n) => read.size(n, `${where}.maxSize`)) ?? rotation.maxSize,
    keep: optional(map, 'keep', (n) => read.int(n, `${where}.keep`, 0)) ?? rotation.keep,
  };
}

function readSignal(read: YamlReader, n: unknown, where: string): NodeJS.Signals | null {
  const text = read.str(n, where);
  if (text === null) return null;
  const name = parseSignalName(text);
  if (name) return name;
  read.problem(n as Node, where, `expected a signal name like TERM, INT, QUIT, HUP or USR1, got "${text}"`);
  return null;
}

function positions<K extends string>(read: YamlReader, map: YAMLMap, keys: K[]): Partial<Record<K, { line: number; col: number }>> {
  const out: Partial<Record<K, { line: number; col: number }>> = {};
  for (const key of keys) {
    const node = map.get(key, true) as Node | undefined;
    if (node?.range) out[key] = read.position(node.range[0]);
  }
  return out;
}

/** Reads `key` when present (an explicit `null` counts as absent). */
function optional<T>(map: YAMLMap, key: string, read: (node: unknown) => T | null): T | null {
  const node = map.get(key, true) as { value?: unknown } | undefined;
  if (node === undefined || (node !== null && 'value' in node && node.value === null && !isMap(node))) return null;
  return read(node);
}
