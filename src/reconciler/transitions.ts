import { formatDuration } from '../state/desired/duration.js';
import { blankRecord } from '../state/records/blank-record.js';
import type { InstanceRecord, RecordTable } from '../state/records/records.js';
import { instanceProcess, type ProgramSpec } from '../state/desired/schema.js';
import { describeExit } from './convergence.js';
import type { Action, ExitedAction, StartAction, WaitAction } from './plan-types.js';
import { continuesStreak } from './reasons.js';
import { assertTransition, type InstanceState } from '../state/records/states.js';


/** The record of a start about to happen: STARTING, no pid yet, a fresh token. Written before the spawn. */
export function startingRecord(action: StartAction, program: ProgramSpec, previous: InstanceRecord | undefined, token: string, now: number, restartRequest: number): InstanceRecord {
  if (previous) assertTransition(previous.name, previous.state, 'STARTING');
  // A start after a crash continues the streak; any other (a person's, a new spec) resets it.
  const streak = previous && continuesStreak(action.reason);
  return {
    name: action.instance,
    program: action.program,
    replica: action.replica,
    state: 'STARTING',
    pid: null,
    startTime: null,
    bootId: null,
    token,
    spec: instanceProcess(program, action.replica),
    generation: program.generation,
    restartRequest,
    scheduleArmed: program.restart.schedule === null ? null : { expression: program.restart.schedule, since: now },
    startedAt: now,
    restarts: previous ? previous.restarts + (action.reason === 'start' ? 0 : 1) : 0,
    failures: streak ? previous.failures : 0,
    startFailures: streak ? previous.startFailures : 0,
    backoffUntil: null,
    stopDeadline: null,
    stop: { signal: program.stop.signal, timeout: program.stop.timeout },
    killed: false,
    lastExit: previous?.lastExit ?? null,
    lastReason: action.reason,
    lastDetail: previous?.lastReason === action.reason ? (previous.lastDetail ?? null) : null,
  };
}

/**
 * Applies an action's effect on the table (not on the OS). Returns a line for the log.
 * `start` is handled by startingRecord, since it needs the program and a token.
 */
export function applyToRecord(table: RecordTable, action: Exclude<Action, StartAction>, now: number): string {
  if (action.type === 'wait') return recordWait(table, action);
  const record = table.get(action.instance);
  if (!record) return `${action.instance}: no record`;
  const move = (to: InstanceState) => {
    assertTransition(record.name, record.state, to);
    record.state = to;
  };
  switch (action.type) {
    case 'stop':
      move('STOPPING');
      record.stopDeadline = action.deadline;
      record.stopSignalSent = false;
      record.killed = false;
      record.lastReason = action.reason;
      record.lastDetail = action.detail ?? null;
      return `${record.name}: stopping pid ${record.pid} with ${action.signal} (${action.detail ?? action.reason}), SIGKILL in ${formatDuration(action.deadline - now)}`;
    case 'kill':
      record.killed = true;
      return `${record.name}: SIGKILL to its process group and session (${action.reason})`;
    case 'exited':
      return recordExit(record, action, move, now);
    case 'running':
      move('RUNNING');
      record.startFailures = 0;
      return `${record.name}: RUNNING (pid ${record.pid}, up ${formatDuration(now - (record.startedAt ?? now))})`;
    case 'settle':
      move('STOPPED');
      record.backoffUntil = null;
      record.lastReason = action.reason;
      return `${record.name}: STOPPED (${action.reason})`;
    case 'arm':
      record.scheduleArmed = action.schedule;
      return `${record.name}: ${action.schedule ? `follows schedule '${action.schedule.expression}' from now on` : 'no longer follows a schedule'}`;
    case 'forget':
      table.delete(record.name);
      return `${record.name}: removed (${action.reason})`;
  }
}

/** A waiting instance says what it waits for; one never started gets a STOPPED record to say it in. */
function recordWait(table: RecordTable, action: WaitAction): string {
  const record = table.get(action.instance) ?? waitingRecord(action);
  table.set(record.name, record);
  record.lastReason = action.reason;
  record.lastDetail = action.detail;
  return `${record.name}: waiting for ${action.detail}`;
}

function waitingRecord(action: WaitAction): InstanceRecord {
  const { instance: name, program, replica, generation, restartRequest, reason: lastReason } = action;
  return blankRecord({ name, program, replica, state: 'STOPPED', token: '', generation, restartRequest, lastReason });
}

function recordExit(record: InstanceRecord, action: ExitedAction, move: (to: InstanceState) => void, now: number): string {
  const pid = record.pid;
  move(action.to);
  Object.assign(record, {
    pid: null,
    startTime: null,
    bootId: null,
    lastExit: action.exit,
    lastReason: action.reason,
    failures: action.failures,
    startFailures: action.startFailures,
    backoffUntil: action.backoffUntil,
    stopDeadline: null,
    killed: false,
  } satisfies Partial<InstanceRecord>);
  const how = describeExit(record);
  const next = action.to === 'BACKOFF' ? `, next start in ${formatDuration(Math.max(0, (action.backoffUntil ?? now) - now))}` : '';
  return `${record.name}: pid ${pid ?? '-'} ${how} -> ${action.to}${next}`;
}
