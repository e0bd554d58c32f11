import equal from 'fast-deep-equal';
import type { ExitInfo, InstanceRecord } from '../state/records/records.js';
import { instanceProcess, type Dependency, type DesiredState, type ProcessSpec, type ProgramSpec, type StopSpec } from '../state/desired/schema.js';
import { assertNever } from '../state/records/states.js';
import { backoffDelay, isStableRun } from './backoff.js';
import { dependencyRestarted } from './dependencies.js';
import { dueRestart } from './due.js';
import type { Action, Observation } from './plan-types.js';
import { isReason, isRestartReason, type Reason } from './reasons.js';
import { changedFields } from './spec-diff.js';

type Wake = (at: number) => void;

/** What planning one program's instances needs, computed once per program per pass. */
export interface ProgramContext {
  program: ProgramSpec;
  desired: DesiredState;
  records: ReadonlyMap<string, InstanceRecord>;
  now: number;
  actions: Action[];
  wake: Wake;
  /** Rolling: a restart for a new spec or generation waits while any replica is not up. */
  rolling: { mayRestart: () => boolean };
  /** A dependency whose condition is not met: starts wait for it. */
  waitingOn: Dependency | null;
  /** A dependent that goes down too and still runs: stops of this program wait for it. */
  stopHeld: string | null;
}

/** How soon to look again at a process whose end sends no event (adopted, or lingering). */
export const POLL_MS = 100;

/**
 * The one gate every start goes through: whether the program may have a process started
 * at all now. Dependencies are the second half of the gate (startOrWait).
 */
export function mayStart(program: ProgramSpec): boolean {
  return program.state === 'running' && program.configError === null;
}

/** Starts the instance, or, while a dependency's condition is unmet, says what it waits for. */
export function startOrWait(ctx: ProgramContext, instance: string, replica: number, reason: Reason, record: InstanceRecord | undefined): void {
  const { program } = ctx;
  if (!mayStart(program)) return;
  const d = ctx.waitingOn;
  if (!d) return void ctx.actions.push({ type: 'start', instance, program: program.name, replica, reason });
  const detail = `${d.program} ${d.condition}`;
  if (record?.lastReason === 'waiting' && record.lastDetail === detail) return;
  const restartRequest = ctx.desired.instanceRestarts.get(instance) ?? 0;
  ctx.actions.push({ type: 'wait', instance, program: program.name, replica, reason: 'waiting', detail, generation: program.generation, restartRequest });
}

/** A reason read from the table, which an older tend may have written: unknown ones read as `start`. */
function known(reason: string): Reason {
  return isReason(reason) ? reason : 'start';
}

export function planInstance(ctx: ProgramContext, record: InstanceRecord, obs: Observation, restartRequest: number): void {
  const { program, now, actions, wake, rolling } = ctx;
  const name = record.name;
  const wantRunning = program.state === 'running';
  const broken = program.configError !== null;
  const start = (reason: Reason) => startOrWait(ctx, name, record.replica, reason, record);
  const renew = renewReason(record, program, restartRequest, dependencyRestarted(program, record, ctx.desired, ctx.records));

  switch (record.state) {
    case 'STARTING':
    case 'RUNNING':
    case 'UNKNOWN':
      if (record.pid === null) {
        // The spawn failed (exit says why) or was interrupted by a crash of tend (retry it).
        if (obs.exit) actions.push(exited(program, record, obs.exit, now, wantRunning));
        else if (broken) return;
        else if (wantRunning) start(known(record.lastReason));
        else actions.push({ type: 'settle', instance: name, reason: 'stopped' });
        return;
      }
      if (!obs.alive) return gone(program, record, obs, now, actions, wake, wantRunning);
      if (broken) return;
      if (!wantRunning) {
        // Dependents going down stop first; this waits for them (their exits wake the loop).
        if (ctx.stopHeld) return wake(now + POLL_MS);
        actions.push({ type: 'stop', instance: name, reason: 'stopped', signal: program.stop.signal, deadline: now + program.stop.timeout });
      } else if (renew && rolling.mayRestart()) {
        const detail = renew === 'spec-changed' && record.spec ? { detail: `changed: ${changedFields(record.spec, instanceProcess(program, record.replica)).join(', ')}` } : {};
        actions.push({ type: 'stop', instance: name, reason: renew, ...detail, signal: program.stop.signal, deadline: now + program.stop.timeout });
      } else if (record.state !== 'RUNNING') {
        const upAt = (record.startedAt ?? now) + program.restart.startSeconds;
        if (now >= upAt) actions.push({ type: 'running', instance: name, reason: known(record.lastReason) });
        else wake(upAt);
      } else if (!renew) {
        const expression = program.restart.schedule;
        if ((record.scheduleArmed?.expression ?? null) !== expression) {
          actions.push({ type: 'arm', instance: name, reason: 'schedule', schedule: expression === null ? null : { expression, since: now } });
          return;
        }
        const due = dueRestart(program, record, obs, now, wake);
        if (due && (due.immediate || rolling.mayRestart())) {
          actions.push({ type: 'stop', instance: name, reason: due.reason, detail: due.detail, signal: program.stop.signal, deadline: now + program.stop.timeout });
        }
      }
      return;
    case 'STOPPING':
      if (!obs.alive) return gone(program, record, obs, now, actions, wake, wantRunning);
      return waitForStop(record, obs, now, actions, wake, program.stop);
    case 'BACKOFF':
      if (broken) return;
      if (!wantRunning) actions.push({ type: 'settle', instance: name, reason: 'stopped' });
      else if (renew) start(renew);
      else if (now >= (record.backoffUntil ?? now)) start(known(record.lastReason));
      else wake(record.backoffUntil!);
      return;
    case 'EXITED':
    case 'FATAL':
      if (broken) return;
      if (!wantRunning) actions.push({ type: 'settle', instance: name, reason: 'stopped' });
      else if (renew) start(renew);
      return;
    case 'STOPPED':
      if (broken || !wantRunning) return;
      start(renew ?? (isRestartReason(record.lastReason) ? known(record.lastReason) : 'start'));
      return;
    default:
      assertNever(record.state);
  }
}

/** An instance beyond `replicas`, or of a program no longer in the file. */
export function planLeaving(record: InstanceRecord, obs: Observation, reason: Reason, now: number, actions: Action[], wake: Wake, stop: StopSpec, held: string | null): void {
  if (record.pid === null) return void actions.push({ type: 'forget', instance: record.name, reason });
  if (!obs.alive) {
    if (obs.lingering > 0) return lingering(record, actions, now, wake);
    return void actions.push({ type: 'forget', instance: record.name, reason });
  }
  if (record.state === 'STOPPING') return waitForStop(record, obs, now, actions, wake, stop);
  if (held) return wake(now + POLL_MS);
  actions.push({ type: 'stop', instance: record.name, reason, signal: stop.signal, deadline: now + stop.timeout });
}

function waitForStop(record: InstanceRecord, obs: Observation, now: number, actions: Action[], wake: Wake, stop: StopSpec): void {
  // Written STOPPING, but the tend that wrote it died before sending the signal: send it now,
  // so the program gets its graceful stop rather than only the SIGKILL at the deadline.
  if (record.stopSignalSent === false) {
    const deadline = record.stopDeadline ?? now + stop.timeout;
    actions.push({ type: 'stop', instance: record.name, reason: known(record.lastReason), detail: 'stop signal not sent yet', signal: stop.signal, deadline });
    return wake(deadline);
  }
  const deadline = record.stopDeadline ?? now;
  if (now >= deadline) {
    if (!record.killed) actions.push({ type: 'kill', instance: record.name, reason: 'stop-timeout' });
    wake(now + POLL_MS);
  } else {
    wake(obs.child ? deadline : Math.min(deadline, now + POLL_MS));
  }
}

function lingering(record: InstanceRecord, actions: Action[], now: number, wake: Wake): void {
  actions.push({ type: 'kill', instance: record.name, reason: 'leftover' });
  wake(now + POLL_MS);
}

/** The leader is gone: sweep what it left behind, then record the exit. */
function gone(program: ProgramSpec, record: InstanceRecord, obs: Observation, now: number, actions: Action[], wake: Wake, wantRunning: boolean): void {
  if (obs.lingering > 0) return lingering(record, actions, now, wake);
  actions.push(exited(program, record, obs.exit ?? { code: null, signal: null, at: now }, now, wantRunning));
}

function exited(program: ProgramSpec, record: InstanceRecord, exit: ExitInfo, now: number, wantRunning: boolean): Action {
  const base = { type: 'exited' as const, instance: record.name, exit, backoffUntil: null };
  if (record.state === 'STOPPING') {
    return { ...base, to: 'STOPPED', reason: known(record.lastReason), failures: record.failures, startFailures: record.startFailures };
  }
  const { restart } = program;
  const uptime = record.startedAt === null ? 0 : Math.max(0, exit.at - record.startedAt);
  const early = exit.error !== undefined || uptime < restart.startSeconds;
  const failures = isStableRun(uptime, restart.backoff) ? 1 : record.failures + 1;
  const startFailures = early ? record.startFailures + 1 : 0;
  const reason: Reason = exit.error !== undefined ? 'spawn-error' : exit.code === 0 && exit.signal === null ? 'exit' : 'crash';
  const counts = { failures, startFailures, reason };
  if (!wantRunning) return { ...base, ...counts, to: 'STOPPED' };
  if (!shouldRestart(program, exit)) return { ...base, ...counts, to: 'EXITED' };
  // Supervisor's startretries: the first attempt plus maxRetries retries, then FATAL.
  if (early && startFailures > restart.maxRetries) return { ...base, ...counts, to: 'FATAL' };
  return { ...base, ...counts, to: 'BACKOFF', backoffUntil: Math.max(now, exit.at + backoffDelay(failures, restart.backoff)) };
}

function shouldRestart(program: ProgramSpec, exit: ExitInfo): boolean {
  const { policy, exitCodes } = program.restart;
  switch (policy) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'on-failure':
      // An exit nobody saw counts as a failure: restarting is the safe guess for a service.
      return exit.signal !== null || exit.code === null || !exitCodes.includes(exit.code);
    default:
      return assertNever(policy);
  }
}

/**
 * Whether two specs are equal, remembered per pair: specs are never changed once made, and
 * each pass compares every instance's spec with the file's, mostly the same two objects as
 * the pass before (a deep comparison each time was 14 ms a pass with 5000 programs).
 */
const compared = new WeakMap<ProcessSpec, { other: ProcessSpec; equal: boolean }>();

function sameSpec(a: ProcessSpec, b: ProcessSpec): boolean {
  if (a === b) return true;
  const last = compared.get(a);
  if (last !== undefined && last.other === b) return last.equal;
  const result = equal(a, b);
  compared.set(a, { other: b, equal: result });
  return result;
}

/** Why the instance needs a new process, or null when its process still matches the spec. */
export function renewReason(record: InstanceRecord, program: ProgramSpec, restartRequest: number, dependencyRestarted = false): Extract<Reason, 'spec-changed' | 'generation' | 'restart' | 'dependency'> | null {
  if (record.spec !== null && !sameSpec(record.spec, instanceProcess(program, record.replica))) return 'spec-changed';
  if (record.generation !== program.generation) return 'generation';
  if ((record.restartRequest ?? 0) < restartRequest) return 'restart';
  if (dependencyRestarted) return 'dependency';
  return null;
}
