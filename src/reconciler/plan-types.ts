import type { ExitInfo, InstanceRecord } from '../state/records/records.js';
import type { DesiredState, LimitKind } from '../state/desired/schema.js';
import type { Reason } from './reasons.js';

/** What the loop saw of one record's process this pass. */
export interface Observation {
  /** The recorded process exists and is ours (pid, start time and boot id match). */
  alive: boolean;
  /** Other live processes left in its session after the leader died. */
  lingering: number;
  /** How it ended, when this tend saw it end (its child) or the spawn failed. */
  exit: ExitInfo | null;
  /** This tend is its parent, so its exit arrives as an event (no polling needed). */
  child: boolean;
  /** Latest sample of each limited resource and how many samples in a row were over the limit. */
  usage?: Partial<Record<LimitKind, { value: number; over: number }>>;
  /** Consecutive failed health probes since the last success. */
  probeFailures: number;
  /** A probe passed since this process started (gates rolling restarts when a probe is set). */
  probePassed: boolean;
  probeError?: string;
}


export interface Snapshot {
  records: ReadonlyMap<string, InstanceRecord>;
  observed: ReadonlyMap<string, Observation>;
}

export interface PlanInput {
  desired: DesiredState;
  actual: Snapshot;
  /** Epoch ms. */
  now: number;
}

interface Base {
  instance: string;
  reason: Reason;
}

/** Spawn a process for the instance. */
export interface StartAction extends Base {
  type: 'start';
  program: string;
  replica: number;
}
/** Send the stop signal to the process group; SIGKILL follows at `deadline`. */
export interface StopAction extends Base {
  type: 'stop';
  signal: NodeJS.Signals;
  deadline: number;
  /** What was measured, when a limit, probe or schedule asked for it. */
  detail?: string;
}
/** Remember since when the current schedule applies to this instance (adding one restarts nothing at once). */
export interface ArmAction extends Base {
  type: 'arm';
  schedule: { expression: string; since: number } | null;
}
/** SIGKILL the group and sweep the session. */
export interface KillAction extends Base {
  type: 'kill';
}
/** The process is gone: record how, and what comes next. */
export interface ExitedAction extends Base {
  type: 'exited';
  exit: ExitInfo;
  to: 'BACKOFF' | 'EXITED' | 'FATAL' | 'STOPPED';
  backoffUntil: number | null;
  failures: number;
  startFailures: number;
}
/** A starting process stayed up for startSeconds. */
export interface RunningAction extends Base {
  type: 'running';
}
/** An instance with no process that should stay down (BACKOFF, EXITED or FATAL -> STOPPED). */
export interface SettleAction extends Base {
  type: 'settle';
}
/** Drop the record of a removed or scaled-down instance whose process is gone. */
export interface ForgetAction extends Base {
  type: 'forget';
}

/** The instance would start, but a dependency's condition is not met: say what it waits for. */
export interface WaitAction extends Base {
  type: 'wait';
  program: string;
  replica: number;
  /** `db running`: the dependency and the condition it waits for. */
  detail: string;
  /** For an instance never started: the generation and restart request it is waiting at. */
  generation: number;
  restartRequest: number;
}

export type Action = StartAction | StopAction | KillAction | ExitedAction | RunningAction | SettleAction | ForgetAction | ArmAction | WaitAction;

export interface Plan {
  actions: Action[];
  /** Epoch ms of the earliest moment a pass is needed again, or null when only events matter. */
  wakeAt: number | null;
}

export function noObservation(): Observation {
  return { alive: false, lingering: 0, exit: null, child: false, probeFailures: 0, probePassed: false };
}
