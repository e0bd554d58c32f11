import type { NotifySpec } from './notify.js';
import { fillPlaceholders, fillProcess } from './placeholders.js';
/** The desired state after validation: every default filled, every path absolute, every duration in ms. */

export type RestartPolicy = 'always' | 'on-failure' | 'never';
export type DesiredRunState = 'running' | 'stopped';

/** The fields that define a process: a change to any of them needs a new process. */
export interface ProcessSpec {
  command: string[];
  env: Record<string, string>;
  cwd: string;
  user: string | null;
}

export interface BackoffSpec {
  /** Delay before the second restart in a row; doubles each time. Default 1s. */
  initial: number;
  /** Cap on the delay. Default 60s. */
  max: number;
  /** Running this long resets the backoff and the retry count. Default 60s. */
  resetAfter: number;
}

export interface RestartSpec {
  /** Default `always`. */
  policy: RestartPolicy;
  /** Exit codes that count as success for `on-failure`. Default [0]. */
  exitCodes: number[];
  /** How long a new process must stay up to count as RUNNING. Default 1s. */
  startSeconds: number;
  backoff: BackoffSpec;
  /**
   * Retries after a failed start (an exit before startSeconds), as Supervisor's
   * `startretries`: the first attempt and this many retries all fail, then FATAL. Default 3.
   */
  maxRetries: number;
  /** Cron expression (5 fields, or 6 with seconds): restart on each tick. Default none. */
  schedule: string | null;
  /** IANA time zone for `schedule`. Default the host's. */
  timezone: string | null;
  /** Restart an instance that has run this long (ms). Default none. */
  maxUptime: number | null;
  /** Up to this much (ms) is added to maxUptime, differently per instance start, so replicas spread out. Default 0. */
  jitter: number;
}

/**
 * The limits a program can set on its instance's whole process tree (its session), and
 * how each is written: `memory` a size (PSS summed over the tree), `openFiles` a count of
 * descriptors, `closeWait` a count of TCP sockets the peer closed and the program never
 * did. One table: validation, the sampler, the planner and status all read it.
 */
export const LIMIT_KINDS = { memory: 'size', openFiles: 'count', closeWait: 'count' } as const;
export type LimitKind = keyof typeof LIMIT_KINDS;

/** Restarts for leaks: each limit defaults to none. */
export type LimitsSpec = Record<LimitKind, number | null> & {
  /** Time between samples. Default 1s. */
  interval: number;
  /** Consecutive samples over a limit before a restart. Default 3. */
  samples: number;
};

export type ProbeSpec = { kind: 'http'; url: string } | { kind: 'tcp'; host: string; port: number } | { kind: 'exec'; command: string[] };

/** A liveness probe: `failures` consecutive failures restart the instance. */
export interface HealthSpec {
  probe: ProbeSpec;
  /** Default 10s. */
  interval: number;
  /** Default 1s. */
  timeout: number;
  /** Default 3. */
  failures: number;
  /** Time after a start before the first probe. Default 0. */
  initialDelay: number;
}

export interface StopSpec {
  /** Default SIGTERM. */
  signal: NodeJS.Signals;
  /** Time between the stop signal and SIGKILL. Default 10s. */
  timeout: number;
}

/** A log target that is tend's own stdout or stderr (a container's console): inherited, never opened, never rotated. */
export const INHERIT_STDOUT = '/dev/stdout';
export const INHERIT_STDERR = '/dev/stderr';

export function isInherited(target: string): boolean {
  return target === INHERIT_STDOUT || target === INHERIT_STDERR;
}

export interface LogSpec {
  /** Absolute path template; `{program}` and `{replica}` are filled per instance. */
  stdout: string;
  /** Absolute path template, or `stdout` to share the stdout file. */
  stderr: string;
  /** Rotate a log file larger than this many bytes; 0 never. Default 50Mi (Supervisor's). */
  maxSize: number;
  /** Rotated files kept per log. Default 10 (Supervisor's). */
  keep: number;
}

/**
 * What a dependent waits for: `started` (spawned), `running` (RUNNING: up for startSeconds),
 * `healthy` (its health probe passes), `completed` (a one-shot that exited), `succeeded`
 * (exited 0). Every replica of the dependency must meet it.
 */
export const DEPENDENCY_CONDITIONS = ['started', 'running', 'healthy', 'completed', 'succeeded'] as const;
export type DependencyCondition = (typeof DEPENDENCY_CONDITIONS)[number];

export interface Dependency {
  program: string;
  condition: DependencyCondition;
  /** Restart the dependent after the dependency restarts (systemd's PartOf=). Default false. */
  restart: boolean;
  at: { line: number; col: number };
}

export interface ProgramSpec {
  name: string;
  /** The process, as written: `{program}` and `{replica}` are filled per instance (instanceProcess). */
  process: ProcessSpec;
  /** `process` holds placeholders. */
  templated?: boolean;
  /** Supervisor's `[group:x]`: verbs and status take `GROUP:*`. Default none. */
  group?: string | null;
  /** Runs only on hosts whose labels match: each key, one of its values (`role: [web, api]`). Default every host. */
  selector?: Record<string, string[]> | null;
  /** Programs this one waits for before it starts, and stops before. Default none. */
  dependsOn?: Dependency[];
  /**
   * Ends tend (everything stopped, exit code 6) when an instance goes FATAL (`fatal`), or
   * exits in any way tend did not ask for (`exit`): so a container's orchestrator restarts
   * the container. Supervisor users wire an eventlistener for this. Default none.
   */
  shutdownOn?: 'fatal' | 'exit' | null;
  /** Where `command` stands in the file, for errors found after validation. */
  commandAt: { line: number; col: number };
  /** Where `cwd` and `user` stand, when given, for the host checks made after validation. */
  fieldsAt?: Partial<Record<'cwd' | 'user', { line: number; col: number }>>;
  replicas: number;
  state: DesiredRunState;
  generation: number;
  restart: RestartSpec;
  stop: StopSpec;
  logs: LogSpec;
  limits: LimitsSpec | null;
  health: HealthSpec | null;
  /**
   * A problem that concerns only this program (its command cannot be found, say):
   * the program is left exactly as it is until the file changes.
   */
  configError: string | null;
}

export interface DesiredState {
  /** Absolute path of state.yaml. */
  file: string;
  programs: Map<string, ProgramSpec>;
  /** Restarts asked for single instances (`tend restart web:1`), by instance name. */
  instanceRestarts: ReadonlyMap<string, number>;
  /** Where alerts go (`notify:`). Default none. */
  notify?: NotifySpec[];
  /** Programs of the file this host does not run (their selector does not match its labels). */
  skipped?: { program: string; why: string; replicas: number }[];
  /** Programs whose state this host overrides (`tend stop web --local`). */
  overridden?: ReadonlyMap<string, { state: DesiredRunState; at: string }>;
}

export const DEFAULTS = {
  replicas: 1,
  state: 'running' as DesiredRunState,
  generation: 0,
  restart: {
    policy: 'always' as RestartPolicy,
    exitCodes: [0],
    startSeconds: 1000,
    backoff: { initial: 1000, max: 60_000, resetAfter: 60_000 },
    maxRetries: 3,
    schedule: null,
    timezone: null,
    maxUptime: null,
    jitter: 0,
  },
  stop: { signal: 'SIGTERM' as NodeJS.Signals, timeout: 10_000 },
} as const;

/** Fills `{program}` and `{replica}` (`{replica:02}`) in a log path template. */
export function logPath(template: string, program: string, replica: number): string {
  return fillPlaceholders(template, program, replica);
}

/** The process one instance runs: the program's with `{program}` and `{replica}` filled. */
export function instanceProcess(program: ProgramSpec, replica: number): ProcessSpec {
  if (!program.templated) return program.process;
  // The same object for the same program and replica: a pass asks for every instance's.
  let filled = filledSpecs.get(program);
  if (!filled) filledSpecs.set(program, (filled = new Map()));
  let spec = filled.get(replica);
  if (!spec) filled.set(replica, (spec = fillProcess(program.process, program.name, replica)));
  return spec;
}

/** Filled-in specs of templated programs, per program object (programs are never changed once made). */
const filledSpecs = new WeakMap<ProgramSpec, Map<number, ProcessSpec>>();

export function instanceName(program: string, replica: number): string {
  return `${program}:${replica}`;
}

export function parseInstanceName(name: string): { program: string; replica: number } | null {
  const m = /^(.+):(\d+)$/.exec(name);
  return m ? { program: m[1]!, replica: Number(m[2]) } : null;
}
