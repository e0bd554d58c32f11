import path from 'node:path';
import { formatProblem } from '../errors.js';
import type { DesiredRead } from '../state/desired/source.js';
import type { DesiredState } from '../state/desired/schema.js';
import type { RecordTable } from '../state/records/records.js';
import { convergence } from '../reconciler/convergence.js';
import { plan } from '../reconciler/plan.js';
import type { Action, Observation } from '../reconciler/plan-types.js';
import type { Emit, Executor } from './executor.js';
import type { Instances } from './instances.js';
import type { LogHousekeeping } from './log-housekeeping.js';
import type { Monitor } from './monitor.js';
import { emptyResult, type PassResult } from './pass-result.js';
import type { Clock, Observer, Processes } from './ports.js';

/** Rounds per pass: after acting, plan again at once so the next wakeAt reflects what was done. */
export const MAX_ROUNDS = 8;

export interface PassDeps {
  desired: { read(now: number): DesiredRead };
  store: { save(table: RecordTable): boolean };
  instances: Instances;
  executor: Executor;
  monitor: Monitor;
  housekeeping: LogHousekeeping;
  observer: Observer;
  processes: Processes;
  clock: Clock;
  log: (line: string) => void;
  emit: Emit;
  /** reconcile --once: sample limits in the pass (there is no watch timer), rotate logs at its end. */
  once: boolean;
  telemetry?: { file(valid: boolean, appliedAt: number | null): void };
}

/**
 * One pass, level-triggered: read the whole desired state and the whole actual state,
 * plan, act; again while acting changed something (up to MAX_ROUNDS); save the table.
 */
export class PassRunner {
  private latest: DesiredState | null = null;
  /** --stop-on-exit: every program is treated as `state: stopped`. */
  stopEverything = false;

  constructor(private readonly deps: PassDeps) {}

  /** The desired state the last pass acted on. */
  get desired(): DesiredState | null {
    return this.latest;
  }

  async run(): Promise<PassResult> {
    const { instances, monitor, clock } = this.deps;
    const read = this.deps.desired.read(clock.now());
    const { desired, fileProblems, recheckAt } = read;
    const problems = fileProblems.map(formatProblem);
    // Told first: whoever hears of a file-invalid event below sees the file counted invalid.
    this.deps.telemetry?.file(fileProblems.length === 0, read.changed && desired && fileProblems.length === 0 ? clock.now() : null);
    // What the daemon log says of the file also goes to the events, where `tend events` shows it.
    if (read.changed) {
      for (const p of fileProblems) this.deps.emit(path.basename(p.file), 'file-invalid', 'file-invalid', null, formatProblem(p));
      for (const p of read.programProblems) this.deps.emit(p.program ?? '', 'config-error', 'config-error', null, `${formatProblem(p)}; the program is left as it is`);
      for (const program of read.overridesEnded ?? []) this.deps.emit(program, 'override-ended', 'file-changed', null, `${program}: the local override ended: the file changed this program`);
      for (const u of read.updated ?? []) {
        const line = `${u.program}: ${u.fields.join(', ')} changed; applied in place, no restart`;
        this.deps.log(line);
        this.deps.emit(u.program, 'updated', 'in-place', null, line);
      }
    }
    // None valid yet, or a file still being written: look again when it is still.
    if (!desired) return emptyResult(problems, recheckAt);
    this.latest = desired;
    instances.refresh(desired);
    const effective = this.stopEverything ? allStopped(desired) : desired;
    // --once has no sampling timer: it samples every limited instance once, here.
    if (this.deps.once) monitor.sample(effective, instances.records.values(), clock.now(), true);
    const all: Action[] = [];
    let result: PassResult | null = null;
    for (let round = 0; !result; round++) {
      const now = clock.now();
      instances.recoverInterruptedSpawns(this.deps.processes, this.deps.log);
      const observed = this.observe();
      const decided = plan({ desired: effective, actual: { records: instances.records, observed }, now });
      const judge = (seen: Map<string, Observation>, idle: boolean, wake: number | null): PassResult => {
        const c = convergence(effective, instances.records, seen, clock.now());
        const wakeAt = recheckAt === null ? wake : wake === null ? recheckAt : Math.min(wake, recheckAt);
        return { ...c, converged: c.converged && problems.length === 0 && recheckAt === null, moving: c.moving || recheckAt !== null, actions: all, idle, wakeAt, fileProblems: problems };
      };
      if (decided.actions.length === 0) {
        result = judge(observed, true, decided.wakeAt);
        break;
      }
      await this.deps.executor.act(decided, effective, now);
      all.push(...decided.actions);
      // After stop signals, one turn of the event loop: the exits that have already happened
      // are reaped and told (SIGCHLD is read there) before the next round plans, so a stop
      // (and the start after it, in a restart) completes in this pass, not in the next one.
      if (decided.actions.some((a) => a.type === 'stop')) await new Promise((resolve) => setImmediate(resolve));
      // Plan again at once so the next wakeAt reflects what was just done; but a SIGKILL
      // takes a moment to land, which the planner's poll wakeAt covers (no busy loop).
      if (decided.actions.every((a) => a.type === 'kill')) result = judge(this.observe(), false, decided.wakeAt);
      else if (round === MAX_ROUNDS - 1) result = judge(this.observe(), false, clock.now());
    }
    this.deps.store.save(instances.records);
    this.deps.executor.sweepGone();
    if (this.deps.once) this.deps.housekeeping.rotate(desired, instances.records.values(), clock.now(), true);
    // Per-process caches (samples, probes, log paths) drop the processes that are gone: one set, one sweep.
    const live = instances.liveTokens();
    monitor.forget(live);
    this.deps.housekeeping.prune(live);
    return result;
  }

  private observe(): Map<string, Observation> {
    return this.deps.instances.observe(this.deps.observer, this.deps.monitor, this.latest);
  }
}

function allStopped(desired: DesiredState): DesiredState {
  const programs = new Map([...desired.programs].map(([name, p]) => [name, { ...p, state: 'stopped' as const }]));
  return { ...desired, programs };
}
