import { constants } from 'node:os';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { splitCommand } from './command-line.js';
import type { Problem } from './errors.js';
import { DEFAULTS, type DesiredState, type LogSpec, type ProgramSpec, type RestartSpec, type StopSpec } from './schema.js';
import { keyOf, YamlReader } from './yaml-reader.js';

export interface ValidateOptions {
  /** Absolute path of the file, used for messages and to resolve relative paths. */
  file: string;
  /** Absolute state directory; default log files live under it. */
  stateDir: string;
}

export type Validation = { ok: true; desired: DesiredState } | { ok: false; problems: Problem[] };

const PROGRAM_FIELDS = ['command', 'args', 'cwd', 'env', 'user', 'replicas', 'state', 'generation', 'restart', 'stop', 'logs'] as const;
const RESTART_FIELDS = ['policy', 'exitCodes', 'startSeconds', 'backoff', 'maxRetries'] as const;
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
  return {
    policy: optional(map, 'policy', (n) => read.oneOf(n, `${where}.policy`, ['always', 'on-failure', 'never'] as const)) ?? d.policy,
    exitCodes: optional(map, 'exitCodes', (n) => read.intList(n, `${where}.exitCodes`, 0)) ?? [...d.exitCodes],
    startSeconds: optional(map, 'startSeconds', (n) => read.duration(n, `${where}.startSeconds`)) ?? d.startSeconds,
    maxRetries: optional(map, 'maxRetries', (n) => read.int(n, `${where}.maxRetries`, 0)) ?? d.maxRetries,
    backoff,
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
  const name = (text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`) as NodeJS.Signals;
  if (name in constants.signals) return name;
  read.problem(n as Node, where, `expected a signal name like TERM, INT, QUIT, HUP or USR1, got "${text}"`);
  return null;
}

/** Reads `key` when present (an explicit `null` counts as absent). */
function optional<T>(map: YAMLMap, key: string, read: (node: unknown) => T | null): T | null {
  const node = map.get(key, true) as { value?: unknown } | undefined;
  if (node === undefined || (node !== null && 'value' in node && node.value === null && !isMap(node))) return null;
  return read(node);
}
