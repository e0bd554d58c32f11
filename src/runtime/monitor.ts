import type { InstanceRecord } from '../state/records/records.js';
import { instanceProcess, type DesiredState } from '../state/desired/schema.js';
import type { Observation } from '../reconciler/plan-types.js';
import { LIMIT_KIND_LIST } from '../reconciler/limits.js';
import type { LimitKind, LimitsSpec } from '../state/desired/schema.js';
import type { Observer } from './ports.js';

interface ProbeState {
  failures: number;
  passed: boolean;
  error?: string;
  lastAt: number | null;
  running: boolean;
}

/**
 * Samples limits and runs probes for live instances, and counts: consecutive samples over
 * each limit, consecutive failed probes. Counts are keyed by spawn token, so a new process
 * starts clean. It only counts (in --once, with no next sample to wait for, one sample over
 * a limit counts as enough); plan() reads the counts and decides.
 */
export class Monitor {
  private readonly usage = new Map<string, NonNullable<Observation['usage']>>();
  private readonly lastSample = new Map<string, number>();
  private readonly probes = new Map<string, ProbeState>();
  /** The earliest moment a sample or a probe is due (Infinity: nothing to watch). */
  nextDue = 0;

  constructor(
    private readonly control: Observer,
    /** reconcile --once: one sample over a limit is enough (there is no next sample). */
    private readonly singleSample: boolean,
    /** Told of each probe's result, by instance name. */
    private readonly onProbe?: (instance: string, ok: boolean) => void,
  ) {}

  /** Samples every limited instance whose interval has passed; returns true when a count reached its threshold. */
  sample(desired: DesiredState, records: Iterable<InstanceRecord>, now: number, all = false): boolean {
    // Most files set no limits: then there is nothing to look at among thousands of records.
    if (!watched(desired).limits) {
      this.nextDue = Infinity;
      return false;
    }
    const due: { name: string; record: InstanceRecord; want: Record<LimitKind, boolean> }[] = [];
    let next = Infinity;
    for (const r of records) {
      const limits = desired.programs.get(r.program)?.limits;
      if (!limits || r.pid === null || r.state !== 'RUNNING') continue;
      const at = (this.lastSample.get(r.token) ?? 0) + limits.interval;
      if (!all && now < at) {
        next = Math.min(next, at);
        continue;
      }
      next = Math.min(next, now + limits.interval);
      due.push({ name: r.name, record: r, want: this.wanted(limits) });
    }
    this.nextDue = next;
    if (due.length === 0) return false;
    const sampled = this.control.sample(due);
    let crossed = false;
    for (const { name, record } of due) {
      const limits = desired.programs.get(record.program)!.limits!;
      const values = sampled.get(name);
      this.lastSample.set(record.token, now);
      if (!values) continue;
      const previous = this.usage.get(record.token) ?? {};
      const next: NonNullable<Observation['usage']> = {};
      for (const kind of LIMIT_KIND_LIST) {
        const max = limits[kind];
        if (max === null) continue;
        const over = values[kind] > max ? (this.singleSample ? limits.samples : (previous[kind]?.over ?? 0) + 1) : 0;
        next[kind] = { value: values[kind], over };
        if (over >= limits.samples) crossed = true;
      }
      this.usage.set(record.token, next);
    }
    return crossed;
  }

  /** What to measure for these limits: one object per program's limits, not one per sample. */
  private wanted(limits: LimitsSpec): Record<LimitKind, boolean> {
    let want = this.wants.get(limits);
    if (!want) this.wants.set(limits, (want = Object.fromEntries(LIMIT_KIND_LIST.map((k) => [k, limits[k] !== null])) as Record<LimitKind, boolean>));
    return want;
  }

  private readonly wants = new WeakMap<LimitsSpec, Record<LimitKind, boolean>>();

  /** Starts every probe that is due; `onChange` is called when a result matters to the planner. */
  probe(desired: DesiredState, records: Iterable<InstanceRecord>, now: number, onChange: () => void): void {
    if (!watched(desired).health) return;
    let next = this.nextDue;
    for (const r of records) {
      const program = desired.programs.get(r.program);
      const health = program?.health;
      if (!program || !health || r.pid === null || r.startedAt === null || (r.state !== 'RUNNING' && r.state !== 'STARTING')) continue;
      const state = this.probes.get(r.token) ?? { failures: 0, passed: false, lastAt: null, running: false };
      this.probes.set(r.token, state);
      const dueAt = state.lastAt === null ? r.startedAt + health.initialDelay : state.lastAt + health.interval;
      next = Math.min(next, state.running ? now + 250 : Math.max(dueAt, now + (now >= dueAt ? health.interval : 0)));
      if (state.running || now < dueAt) continue;
      state.running = true;
      state.lastAt = now;
      void this.control.probe(health.probe, health.timeout, instanceProcess(program, r.replica).cwd).then((result) => {
        state.running = false;
        this.onProbe?.(r.name, result.ok);
        const wasPassed = state.passed;
        if (result.ok) {
          state.failures = 0;
          state.passed = true;
          delete state.error;
        } else {
          state.failures++;
          state.error = result.error;
        }
        if (state.passed !== wasPassed || state.failures >= health.failures) onChange();
      });
    }
    this.nextDue = next;
  }

  /** What the planner sees of one process. */
  observe(token: string, hasProbe: boolean): Pick<Observation, 'usage' | 'probeFailures' | 'probePassed' | 'probeError'> {
    const p = this.probes.get(token);
    // Without probe results (reconcile --once runs none), a probe cannot hold a roll back.
    const passed = !hasProbe || this.singleSample ? true : (p?.passed ?? false);
    return { usage: this.usage.get(token), probeFailures: p?.failures ?? 0, probePassed: passed, ...(p?.error ? { probeError: p.error } : {}) };
  }

  /** Drops the counts of processes that are gone. */
  forget(liveTokens: ReadonlySet<string>): void {
    for (const map of [this.usage, this.lastSample, this.probes]) for (const token of map.keys()) if (!liveTokens.has(token)) map.delete(token);
  }
}

/** Whether any program of this desired state has limits, or a health probe (asked on every tick, answered once per state). */
function watched(desired: DesiredState): { limits: boolean; health: boolean } {
  let found = watchedBy.get(desired.programs);
  if (!found) {
    const programs = [...desired.programs.values()];
    watchedBy.set(desired.programs, (found = { limits: programs.some((p) => p.limits), health: programs.some((p) => p.health) }));
  }
  return found;
}

const watchedBy = new WeakMap<DesiredState['programs'], { limits: boolean; health: boolean }>();
