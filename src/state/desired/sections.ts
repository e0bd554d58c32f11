import path from 'node:path';
import { isMap, isSeq, type Node, type YAMLMap } from 'yaml';
import type { Problem } from '../../errors.js';
import { splitCommand } from './command-line.js';
import { DEFAULTS, INHERIT_STDERR, INHERIT_STDOUT, LIMIT_KINDS, type HealthSpec, type LimitKind, type LimitsSpec, type LogSpec, type ProbeSpec, type RestartSpec, type StopSpec } from './schema.js';
import { scheduleProblem, timezoneProblem } from './schedule-check.js';
import { parseSignalName } from './signal-name.js';
import type { YamlReader } from './yaml-reader.js';

/** The sections of a program (restart, limits, health, stop, logs): each read with every default filled. */

export const RESTART_FIELDS = ['policy', 'exitCodes', 'startSeconds', 'backoff', 'maxRetries', 'schedule', 'timezone', 'maxUptime', 'jitter'] as const;
export const LIMIT_FIELDS = [...(Object.keys(LIMIT_KINDS) as LimitKind[]), 'interval', 'samples'] as const;
export const HEALTH_FIELDS = ['http', 'tcp', 'exec', 'interval', 'timeout', 'failures', 'initialDelay'] as const;
export const BACKOFF_FIELDS = ['initial', 'max', 'resetAfter'] as const;
export const STOP_FIELDS = ['signal', 'timeout'] as const;
export const LOG_FIELDS = ['stdout', 'stderr', 'maxSize', 'keep'] as const;

export function readRestart(read: YamlReader, node: unknown, where: string, program: string, programProblems: Problem[]): RestartSpec | null {
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

export function readLimits(read: YamlReader, node: unknown, where: string): LimitsSpec | null {
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

export function readHealth(read: YamlReader, node: unknown, where: string): HealthSpec | null {
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

export function readStop(read: YamlReader, node: unknown, where: string): StopSpec | null {
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

export function readLogs(read: YamlReader, node: unknown, where: string, program: string, baseDir: string, stateDir: string): LogSpec | null {
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
  // `inherit` (and the paths that name tend's own streams) mean tend's stdout or stderr itself.
  const target = (text: string, own: string) => TEND_STREAMS[text === 'inherit' ? own : text] ?? path.resolve(baseDir, text);
  return {
    stdout: stdout === null ? fallback('out') : target(stdout, '/dev/stdout'),
    stderr: stderr === null ? fallback('err') : stderr === 'stdout' ? 'stdout' : target(stderr, '/dev/stderr'),
    maxSize: optional(map, 'maxSize', (n) => read.size(n, `${where}.maxSize`)) ?? rotation.maxSize,
    keep: optional(map, 'keep', (n) => read.int(n, `${where}.keep`, 0)) ?? rotation.keep,
  };
}

/** Paths that mean tend's own stdout or stderr: the program gets that descriptor itself, never a file tend opens. */
const TEND_STREAMS: Record<string, string> = {
  '/dev/stdout': INHERIT_STDOUT,
  '/dev/fd/1': INHERIT_STDOUT,
  '/proc/self/fd/1': INHERIT_STDOUT,
  '/dev/stderr': INHERIT_STDERR,
  '/dev/fd/2': INHERIT_STDERR,
  '/proc/self/fd/2': INHERIT_STDERR,
};

function readSignal(read: YamlReader, n: unknown, where: string): NodeJS.Signals | null {
  const text = read.str(n, where);
  if (text === null) return null;
  const name = parseSignalName(text);
  if (name) return name;
  read.problem(n as Node, where, `expected a signal name like TERM, INT, QUIT, HUP or USR1, got "${text}"`);
  return null;
}

/** Reads `key` when present (an explicit `null` counts as absent). */
export function optional<T>(map: YAMLMap, key: string, read: (node: unknown) => T | null): T | null {
  const node = map.get(key, true) as { value?: unknown } | undefined;
  if (node === undefined || (node !== null && 'value' in node && node.value === null && !isMap(node))) return null;
  return read(node);
}
