import { instanceName, type Dependency, type DesiredState, type ProgramSpec } from '../state/desired/schema.js';
import type { InstanceRecord } from '../state/records/records.js';
import type { Observation } from './plan-types.js';

type Records = ReadonlyMap<string, InstanceRecord>;
type Observe = (name: string) => Observation;

/** Who depends on whom, reversed, once per desired state: a pass over 1000 programs must not be quadratic. */
const reverse = new WeakMap<DesiredState, Map<string, ProgramSpec[]>>();

function dependentsOf(desired: DesiredState): Map<string, ProgramSpec[]> {
  let index = reverse.get(desired);
  if (!index) {
    index = new Map();
    for (const p of desired.programs.values()) for (const d of p.dependsOn ?? []) index.set(d.program, [...(index.get(d.program) ?? []), p]);
    reverse.set(desired, index);
  }
  return index;
}

/** The instances a program should have, with their records (absent when never started). */
function instancesOf(program: ProgramSpec, records: Records): (InstanceRecord | undefined)[] {
  return Array.from({ length: program.replicas }, (_, i) => records.get(instanceName(program.name, i)));
}

/** Whether every replica of `dependency` meets the edge's condition. */
function met(d: Dependency, dependency: ProgramSpec, records: Records, observe: Observe): boolean {
  const all = instancesOf(dependency, records);
  if (all.length === 0) return false;
  return all.every((r) => {
    if (!r) return false;
    const up = r.pid !== null && observe(r.name).alive;
    switch (d.condition) {
      case 'started':
        return (up && (r.state === 'STARTING' || r.state === 'RUNNING')) || r.state === 'EXITED';
      case 'running':
        return up && r.state === 'RUNNING';
      case 'healthy':
        return up && r.state === 'RUNNING' && observe(r.name).probePassed;
      case 'completed':
        return r.state === 'EXITED';
      case 'succeeded':
        return r.state === 'EXITED' && r.lastExit?.code === 0 && r.lastExit.signal === null;
    }
  });
}

/** The first dependency of `program` whose condition is not met now, or null. Re-evaluated every pass. */
export function unmetDependency(program: ProgramSpec, desired: DesiredState, records: Records, observe: Observe): Dependency | null {
  for (const d of program.dependsOn ?? []) {
    const dependency = desired.programs.get(d.program);
    if (!dependency || !met(d, dependency, records, observe)) return d;
  }
  return null;
}

/** A `restart: true` dependency started after this instance did: the instance follows it (systemd's PartOf=). */
export function dependencyRestarted(program: ProgramSpec, record: InstanceRecord, desired: DesiredState, records: Records): boolean {
  const since = record.startedAt;
  if (since === null) return false;
  for (const d of program.dependsOn ?? []) {
    if (!d.restart) continue;
    const dependency = desired.programs.get(d.program);
    if (dependency && instancesOf(dependency, records).some((r) => r?.startedAt != null && r.startedAt > since)) return true;
  }
  return false;
}

/**
 * Programs going down stop in dependency order: an instance of `program` waits while a
 * program that depends on it is also going down and still has a live process. Branches
 * that do not depend on each other stop in parallel. A dependent that stays up does not
 * hold anything (`tend stop db` stops db).
 */
export function stopHeldBy(program: string, desired: DesiredState, records: Records, observe: Observe): string | null {
  for (const other of dependentsOf(desired).get(program) ?? []) {
    const goingDown = other.state === 'stopped' || other.replicas === 0;
    const live = [...records.values()].some((r) => r.program === other.name && r.pid !== null && observe(r.name).alive);
    if (goingDown && live) return other.name;
  }
  return null;
}
