import type { InstanceRecord } from '../state/records/records.js';
import type { LimitKind, ProbeSpec, ProcessSpec } from '../state/desired/schema.js';
import type { NotifySink } from '../state/desired/notify.js';

/** Epoch milliseconds. The real one is Date.now; tests pass their own. */
export interface Clock {
  now(): number;
}

export interface TimerHandle {
  cancel(): void;
}

/**
 * Every wait the runtime makes goes through this port, so the scheduler is tested with
 * fake time. `background` timers do not keep the process alive.
 */
export interface Timers {
  after(ms: number, fn: () => void, background?: boolean): TimerHandle;
  every(ms: number, fn: () => void, background?: boolean): TimerHandle;
  /** After the I/O callbacks of this turn (setImmediate): what coalesces a burst of exits. */
  soon(fn: () => void): void;
}

/** What the runtime does to processes; the real one lives in src/spawner. */
export interface Processes {
  /** Spawns detached, in its own session; `onExit` fires when this process sees the child end. */
  spawn(request: SpawnRequest, onExit: (code: number | null, signal: string | null) => void): Promise<SpawnOutcome>;
  /** Sends `signal` to the instance's process group (or its main process only), only if the process is still ours. */
  signal(record: InstanceRecord, signal: NodeJS.Signals, target?: 'group' | 'process'): boolean;
  /** SIGKILLs the group, the session and any process carrying the instance's token. */
  kill(record: InstanceRecord): void;
  /** Finds the session leaders started with these tokens (spawns interrupted by a crash of tend). */
  locate(tokens: ReadonlySet<string>): Map<string, ProcessRef>;
  /** SIGKILLs processes that still carry these tokens (daemons that left the session), not looking at `skip` (live instances' own); returns how many. */
  sweep(tokens: ReadonlySet<string>, skip?: ReadonlySet<number>): number;
  /** The instances' processes that this state directory started, found in /proc: a lost table rebuilt. */
  rebuild(): RebuiltInstance[];
}

/** What the runtime reads of processes. */
export interface Observer {
  /** Liveness of every record's process, with what lingers in the sessions of dead leaders. */
  observe(records: Iterable<InstanceRecord>): Map<string, { alive: boolean; lingering: number }>;
  /** Cheap check that every pid is still a live process (a zombie is not); false when one is not. */
  allExist(pids: readonly number[]): boolean;
  /** Samples the process trees of these instances (one walk of /proc for all). */
  sample(targets: { name: string; record: InstanceRecord; want: Record<LimitKind, boolean> }[]): Map<string, Record<LimitKind, number>>;
  /** Runs one liveness probe; never rejects. */
  probe(probe: ProbeSpec, timeoutMs: number, cwd: string): Promise<{ ok: true } | { ok: false; error: string }>;
}

/** Log housekeeping. */
export interface LogFiles {
  /** Rotates one log file (a regular file only) if it is over its size, by copy then truncate. */
  rotateLog(file: string, spec: { maxSize: number; keep: number }): { rotated: boolean; size: number };
}

/** What src/spawner implements against Linux: the three ports in one. */
export type ProcessControl = Processes & Observer & LogFiles;

export interface RebuiltInstance {
  program: string;
  replica: number;
  token: string;
  process: ProcessRef;
}

export interface SpawnRequest {
  instance: string;
  program: string;
  replica: number;
  token: string;
  spec: ProcessSpec;
  stdout: string;
  /** A path, or `stdout` to share that file. */
  stderr: string;
}

export interface ProcessRef {
  pid: number;
  startTime: number;
  bootId: string;
}

/** `logStart`: each log file's size when it was opened for this process, where its output begins. */
export type SpawnOutcome = { ok: true; process: ProcessRef; logStart?: { stdout: number | null; stderr: number | null } } | { ok: false; error: string };

/** Where notifications go: an exec sink or a webhook. The real one lives in src/spawner. */
export interface NotifyDelivery {
  /** One attempt: `body` (JSON) on the command's stdin or POSTed; never rejects. */
  deliver(sink: NotifySink, body: string, env: Record<string, string>, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }>;
  /** The last `lines` lines of a log file (read from its end); [] when it cannot be read. */
  tail(file: string, lines: number): string[];
}
