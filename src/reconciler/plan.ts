import { DEFAULTS, instanceName } from '../state/desired/schema.js';
import { stopHeldBy, unmetDependency } from './dependencies.js';
import { planInstance, planLeaving, startOrWait, type ProgramContext } from './plan-instance.js';
import { noObservation, type Action, type Plan, type PlanInput } from './plan-types.js';

export { mayStart, POLL_MS } from './plan-instance.js';

/**
 * Compares the desired state with the actual one and says what to do. Pure and total:
 * no I/O, no clock; the same input always gives the same plan.
 */
export function plan({ desired, actual, now }: PlanInput): Plan {
  const actions: Action[] = [];
  let wakeAt: number | null = null;
  const wake = (at: number) => {
    wakeAt = wakeAt === null ? at : Math.min(wakeAt, at);
  };
  const observe = (name: string) => actual.observed.get(name) ?? noObservation();

  for (const program of desired.programs.values()) {
    // Rolling: a restart for a new spec or generation waits while any replica is not up.
    let busy = false;
    for (let i = 0; i < program.replicas; i++) {
      const r = actual.records.get(instanceName(program.name, i));
      const o = r ? observe(r.name) : null;
      if (!r || r.state !== 'RUNNING' || !o!.alive || (program.health !== null && !o!.probePassed)) busy = true;
    }
    const ctx: ProgramContext = {
      program,
      desired,
      records: actual.records,
      now,
      actions,
      wake,
      rolling: {
        mayRestart: () => {
          if (busy) return false;
          busy = true;
          return true;
        },
      },
      // Every start goes through mayStart, then this: re-evaluated every pass, never missed.
      waitingOn: unmetDependency(program, desired, actual.records, observe),
      stopHeld: stopHeldBy(program.name, desired, actual.records, observe),
    };
    for (let i = 0; i < program.replicas; i++) {
      const name = instanceName(program.name, i);
      const record = actual.records.get(name);
      if (!record) startOrWait(ctx, name, i, 'start', undefined);
      else planInstance(ctx, record, observe(name), desired.instanceRestarts.get(name) ?? 0);
    }
  }

  const leaving = [...actual.records.values()]
    .filter((r) => {
      const program = desired.programs.get(r.program);
      return !program || (r.replica >= program.replicas && !program.configError);
    })
    .sort((a, b) => b.replica - a.replica);
  for (const record of leaving) {
    // Every stop uses the program's own settings; a removed program's are the last it had.
    const program = desired.programs.get(record.program);
    const stop = program?.stop ?? record.stop ?? DEFAULTS.stop;
    const held = program ? stopHeldBy(program.name, desired, actual.records, observe) : null;
    planLeaving(record, observe(record.name), program ? 'scale-down' : 'removed', now, actions, wake, stop, held);
  }
  return { actions, wakeAt };
}
