import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { splitCommand } from './command-line.js';
import { parseSignalName } from './signal-name.js';
import type { Problem } from './errors.js';
import { DEFAULTS, type DesiredState, type HealthSpec, type LimitsSpec, type LogSpec, type ProbeSpec, type ProgramSpec, type RestartSpec, type StopSpec } from './schema.js';
import { scheduleProblem, timezoneProblem } from './schedule-check.js';
import { keyOf, YamlReader } from './yaml-reader.js';

export interface ValidateOptions {
  /** Absolute path of the file, used for messages and to resolve relative paths. */
  file: string;
  /** Absolute state directory; default log files live under it. */
  stateDir: string;
}

export type Validation = { ok: true; desired: DesiredState } | { ok: false; problems: Problem[] };

const PROGRAM_FIELDS = ['command', 'args', 'cwd', 'env', 'user', 'replicas', 'state', 'generation', 'restart', 'stop', 'logs', 'limits', 'health'] as const;
const RESTART_FIELDS = ['policy', 'exitCodes', 'startSeconds', 'backoff', 'maxRetries', 'schedule', 'timezone', 'maxUptime', 'jitter'] as const;
const LIMIT_FIELDS = ['memory', 'openFiles', 'closeWait', 'interval', 'samples'] as const;
const HEALTH_FIELDS = ['http', 'tcp', 'exec', 'interval', 'timeout', 'failures', 'initialDelay'] as const;
const BACKOFF_FIELDS = ['initial', 'max', 'resetAfter'] as const;
const STOP_FIELDS = ['signal', 'timeout'] as const;
const LOG_FIELDS = ['stdout', 'stderr', 'maxSize', 'keep', 'reopenSignal'] as const;
const PROGRAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Validates state.yaml text and fills every default; reports all problems at once. */
export function validateState(text: string, options: ValidateOptions): Validation {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const display = path.basename(options.file);
  const read = new YamlReader(display, lines);
  for (const error of doc.errors) read.problemAt(error.pos[0], '', error.message.split('\n')[0]!);
  if (read.problems.length > 0) return { ok: false, problems: read.problems };

  const programs = new Map<string, ProgramSpec>();
  const root = doc.contents;
  if (root === null) return { ok: true, desired: { file: options.file, programs, instanceRestarts: new Map() } };
  const top = read.map(root, '');
  if (top) {
    read.keys(top, '', ['programs']);
    const programsNode = top.get('programs', true);
    if (programsNode !== undefined && !(isMap(programsNode) && programsNode.items.length === 0)) {
      const list = read.map(programsNode, 'programs');
      for (const pair of list?.items ?? []) {
        const name = keyOf(pair);
        if (name === null) continue;
        const where = `programs.${name}`;
        if (!PROGRAM_NAME.test(name)) {
          read.problem(pair.key as Node, where, 'a program name may use letters, digits, _ . and - (and may not start with . or -)');
          continue;
        }
        const spec = readProgram(read, name, pair.value, (pair.key as Node).range?.[0] ?? 0, options);
        if (spec) programs.set(name, spec);
      }
    }
  }
  return read.problems.length > 0 ? { ok: false, problems: read.problems } : { ok: true, desired: { file: options.file, programs, instanceRestarts: new Map() } };
}

function readProgram(read: YamlReader, name: string, node: unknown, keyOffset: number, options: ValidateOptions): ProgramSpec | null {
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
  const replicas = optional(map, 'replicas', (n) => read.int(n, `${where}.replicas`, 0)) ?? DEFAULTS.replicas;
  const state = optional(map, 'state', (n) => read.oneOf(n, `${where}.state`, ['running', 'stopped'] as const)) ?? DEFAULTS.state;
  const generation = optional(map, 'generation', (n) => read.int(n, `${where}.generation`, 0)) ?? DEFAULTS.generation;
  const restart = readRestart(read, map.get('restart', true), `${where}.restart`);
  const stop = readStop(read, map.get('stop', true), `${where}.stop`);
  const logs = readLogs(read, map.get('logs', true), `${where}.logs`, name, baseDir, options.stateDir);
  const limitsNode = map.get('limits', true);
  const limits = limitsNode === undefined ? null : readLimits(read, limitsNode, `${where}.limits`);
  const healthNode = map.get('health', true);
  const health = healthNode === undefined ? null : readHealth(read, healthNode, `${where}.health`);
  if (read.problems.length > before || !command || !restart || !stop || !logs) return null;

  return {
    name,
    process: {
      command: [...command, ...args],
      env,
      cwd: cwdText === null ? baseDir : path.resolve(baseDir, cwdText),
      user: user ?? null,
    },
    commandAt: read.position((commandNode as Node).range?.[0] ?? keyOffset),
    replicas,
    state,
    generation,
    restart,
    stop,
    logs,
    limits,
    health,
    configError: null,
  };
}

function readRestart(read: YamlReader, node: unknown, where: string): RestartSpec | null {
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
  const schedule = optional(map, 'schedule', (n) => read.str(n, `${where}.schedule`));
  const timezone = optional(map, 'timezone', (n) => {
    const tz = read.str(n, `${where}.timezone`);
    const problem = tz === null ? null : timezoneProblem(tz);
    if (problem) read.problem(n as Node, `${where}.timezone`, problem);
    return problem ? null : tz;
  });
  if (schedule !== null) {
    const problem = scheduleProblem(schedule, timezone);
    if (problem) read.problem(map.get('schedule', true) as Node, `${where}.schedule`, problem);
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
  const limits: LimitsSpec = {
    memory: optional(map, 'memory', (n) => read.size(n, `${where}.memory`)),
    openFiles: optional(map, 'openFiles', (n) => read.int(n, `${where}.openFiles`, 1)),
    closeWait: optional(map, 'closeWait', (n) => read.int(n, `${where}.closeWait`, 1)),
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
  const rotation = { maxSize: 50 * 2 ** 20, keep: 10, reopenSignal: null };
  if (node === undefined) return { stdout: fallback('out'), stderr: fallback('err'), ...rotation };
  const map = read.map(node, where);
  if (!map) return null;
  read.keys(map, where, LOG_FIELDS);
  const stdout = optional(map, 'stdout', (n) => read.str(n, `${where}.stdout`));
  const stderr = optional(map, 'stderr', (n) => read.str(n, `${where}.stderr`));
  return {
    stdout: stdout === null ? fallback('out') : path.resolve(baseDir, stdout),
    stderr: stderr === null ? fallback('err') : stderr === 'stdout' ? 'stdout' : path.resolve(baseDir, stderr),
    maxSize: optional(map, 'maxSize', (n) => read.size(n, `${where}.maxSize`)) ?? rotation.maxSize,
    keep: optional(map, 'keep', (n) => read.int(n, `${where}.keep`, 0)) ?? rotation.keep,
    reopenSignal: optional(map, 'reopenSignal', (n) => readSignal(read, n, `${where}.reopenSignal`)),
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

/** Reads `key` when present (an explicit `null` counts as absent). */
function optional<T>(map: YAMLMap, key: string, read: (node: unknown) => T | null): T | null {
  const node = map.get(key, true) as { value?: unknown } | undefined;
  if (node === undefined || (node !== null && 'value' in node && node.value === null && !isMap(node))) return null;
  return read(node);
}
