import type { InstanceRecord } from '../state/records/records.js';
import type { LimitKind, ProbeSpec, ProcessSpec } from '../state/desired/schema.js';

/** Everything the loop asks of the operating system; the real one lives in src/spawner. */
export interface ProcessControl {
  /** Spawns detached, in its own session; `onExit` fires when this process sees the child end. */
  spawn(request: SpawnRequest, onExit: (code: number | null, signal: string | null) => void): Promise<SpawnOutcome>;
  /** Liveness of every record's process, with what lingers in the sessions of dead leaders. */
  observe(records: Iterable<InstanceRecord>): Map<string, { alive: boolean; lingering: number }>;
  /** Cheap check that every pid still exists (no /proc read); false when one is gone. */
  allExist(pids: readonly number[]): boolean;
  /** Sends `signal` to the instance's process group (or its main process only), only if the process is still ours. */
  signal(record: InstanceRecord, signal: NodeJS.Signals, target?: 'group' | 'process'): boolean;
  /** SIGKILLs the group, the session and any process carrying the instance's token. */
  kill(record: InstanceRecord): void;
  /** Rotates one log file (a regular file only) if it is over its size, by copy then truncate. */
  rotateLog(file: string, spec: { maxSize: number; keep: number }): { rotated: boolean; size: number };
  /** Samples the process trees of these instances (one walk of /proc for all). */
  sample(targets: { name: string; record: InstanceRecord; want: Record<LimitKind, boolean> }[]): Map<string, Record<LimitKind, number>>;
  /** Runs one liveness probe; never rejects. */
  probe(probe: ProbeSpec, timeoutMs: number, cwd: string): Promise<{ ok: true } | { ok: false; error: string }>;
  /** Finds the session leaders started with these tokens (spawns interrupted by a crash of tend). */
  locate(tokens: ReadonlySet<string>): Map<string, ProcessRef>;
  /** SIGKILLs processes that still carry these tokens (daemons that left the session); returns how many. */
  sweep(tokens: ReadonlySet<string>): number;
  /** The instances' processes that this state directory started, found in /proc: a lost table rebuilt. */
  rebuild(): RebuiltInstance[];
}

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

export type SpawnOutcome = { ok: true; process: ProcessRef } | { ok: false; error: string };
