import type { InstanceRecord } from '../state/records/records.js';
import { formatDuration } from '../state/desired/duration.js';
import { instanceName, type DesiredState } from '../state/desired/schema.js';
import { renewReason } from './plan-instance.js';
import { noObservation, type Observation } from './plan-types.js';
import { dependencyRestarted, unmetDependency } from './dependencies.js';

export interface Convergence {
  /** Every instance is in its desired state. */
  converged: boolean;
  /** Something is on its way (starting, stopping, or waiting to be swept): worth waiting for. */
  moving: boolean;
  /** One per instance or program that is not where it should be. */
  problems: Shortfall[];
}

/** What keeps one instance (`web:0`) or program (`web`) from its desired state. Empty subject: the file. */
export interface Shortfall {
  subject: string;
  message: string;
}

export function formatShortfall(s: Shortfall): string {
  return s.subject ? `${s.subject}: ${s.message}` : s.message;
}

/** Judges how far the actual state is from the desired one. Pure. */
export function convergence(desired: DesiredState, records: ReadonlyMap<string, InstanceRecord>, observed: ReadonlyMap<string, Observation>, now: number): Convergence {
  const problems: Shortfall[] = [];
  const short = (subject: string, message: string) => problems.push({ subject, message });
  let moving = false;
  const expected = new Set<string>();
  for (const program of desired.programs.values()) {
    if (program.configError) short(program.name, program.configError);
    // A roll waits for every replica to be up; behind a failed one it is halted, not moving.
    // Asked only of a program with an instance waiting to be replaced (a pass asks of all).
    const halted = () => {
      for (let i = 0; i < program.replicas; i++) {
        const s = records.get(instanceName(program.name, i))?.state;
        if (s === 'BACKOFF' || s === 'FATAL' || s === 'EXITED') return true;
      }
      return false;
    };
    // Waiting on a dependency that is itself on its way (starting, or up but not yet healthy) is moving too.
    const waitingOn = program.state === 'running' ? unmetDependency(program, desired, records, (n) => observed.get(n) ?? noObservation()) : null;
    if (waitingOn && [...records.values()].some((r) => r.program === waitingOn.program && (r.state === 'STARTING' || r.state === 'RUNNING' || r.state === 'BACKOFF'))) moving = true;
    for (let i = 0; i < program.replicas; i++) {
      const name = instanceName(program.name, i);
      expected.add(name);
      const r = records.get(name);
      if (program.configError) continue;
      const alive = observed.get(name)?.alive ?? false;
      if (r?.state === 'STARTING' || r?.state === 'STOPPING') moving = true;
      if (program.state === 'running') {
        const renew = r ? renewReason(r, program, desired.instanceRestarts.get(name) ?? 0, dependencyRestarted(program, r, desired, records)) : null;
        if (!r || r.state !== 'RUNNING' || !alive) short(name, describe(r, now));
        else if (renew) {
          const stuck = halted();
          moving ||= !stuck;
          short(name, `${stuck ? 'not replaced: the roll is halted by a failed replica' : 'waiting to be replaced'} (${renew})`);
        }
      } else if (r && alive) {
        short(name, `${r.state}, should be stopped`);
      }
    }
  }
  for (const r of records.values()) {
    if (expected.has(r.name)) continue;
    moving = true;
    short(r.name, `${r.state}, being removed`);
  }
  return { converged: problems.length === 0, moving, problems };
}

export function describeExit(r: InstanceRecord): string {
  const e = r.lastExit;
  if (!e) return '';
  if (e.error) return e.error;
  if (e.signal) return `killed by ${e.signal}`;
  // Only a process's parent learns its exit status; an adopted process's parent is another.
  if (e.code === null) return 'exit unknown (an adopted process: tend is not its parent, so its exit status is not known)';
  return `exited with code ${e.code}`;
}

function describe(r: InstanceRecord | undefined, now: number): string {
  if (!r) return 'not started';
  if (r.lastReason === 'waiting' && r.pid === null) return `${r.state} (waiting: ${r.lastDetail})`;
  const exit = describeExit(r);
  switch (r.state) {
    case 'BACKOFF':
      return `BACKOFF (${exit}; next start in ${formatDuration(Math.max(0, (r.backoffUntil ?? now) - now))})`;
    case 'FATAL':
      return `FATAL (${exit}; gave up after ${r.startFailures} failed starts in a row)`;
    case 'EXITED':
      return `EXITED (${exit}; restart policy says leave it)`;
    default:
      return exit ? `${r.state} (${exit})` : r.state;
  }
}
