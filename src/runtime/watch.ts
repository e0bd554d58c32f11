import type { DesiredState } from '../state/desired/schema.js';
import type { Instances } from './instances.js';
import type { LogHousekeeping } from './log-housekeeping.js';
import type { Monitor } from './monitor.js';
import type { Clock, Observer, TimerHandle, Timers } from './ports.js';

/** The shortest wait of the watch timer (each program has its own interval above it). */
const WATCH_MIN_MS = 250;
/** How often to check that adopted processes (not our children: no exit event) still exist. */
export const ADOPTED_POLL_MS = 1000;

export interface WatchDeps {
  timers: Timers;
  clock: Clock;
  monitor: Monitor;
  housekeeping: LogHousekeeping;
  instances: Instances;
  observer: Observer;
  /** The desired state of the last pass (null before the first valid one). */
  desired: () => DesiredState | null;
  /** Asks for a pass: a count reached its threshold, an adopted process is gone. */
  request: () => void;
  log: (line: string) => void;
  /** reconcile --once samples in the pass itself: no watch timer, only the adopted poll. */
  once: boolean;
}

/**
 * Between passes: limits, probes and log sizes on one timer set for the next moment any
 * of them is due (an idle daemon wakes every 10 s for its log sizes), and a 1 s liveness
 * poll that runs only while some process is adopted (its exit sends tend no event).
 * Errors here are logged, never the end of the daemon.
 */
export class Watch {
  private timer: TimerHandle | null = null;
  private poll: TimerHandle | null = null;
  private nextAt = 0;
  private active = false;

  constructor(private readonly deps: WatchDeps) {}

  start(): void {
    this.active = true;
  }

  /** After each pass: the table changed, so look at everything again soon; poll while anything is adopted. */
  afterPass(): void {
    if (!this.active) return;
    this.nextAt = 0;
    this.schedule();
    const adopted = this.deps.instances.adoptedPids().length > 0;
    if (adopted && !this.poll) this.poll = this.deps.timers.every(ADOPTED_POLL_MS, () => this.guard('polling adopted processes', () => this.pollAdopted()), true);
    else if (!adopted && this.poll) {
      this.poll.cancel();
      this.poll = null;
    }
  }

  close(): void {
    this.active = false;
    this.timer?.cancel();
    this.poll?.cancel();
    this.timer = this.poll = null;
  }

  private schedule(): void {
    this.timer?.cancel();
    this.timer = null;
    if (!this.active || this.deps.once || this.nextAt === Infinity) return;
    const delay = Math.max(WATCH_MIN_MS, this.nextAt - this.deps.clock.now());
    this.timer = this.deps.timers.after(delay, () => this.guard('watching limits, probes and logs', () => this.tick()), true);
  }

  private tick(): void {
    this.timer = null;
    const desired = this.deps.desired();
    if (!desired || !this.active) return;
    const { monitor, instances } = this.deps;
    const now = this.deps.clock.now();
    if (monitor.sample(desired, instances.records.values(), now)) this.deps.request();
    monitor.probe(desired, instances.records.values(), now, () => this.deps.request());
    const nextLog = this.deps.housekeeping.rotate(desired, instances.records.values(), now);
    this.nextAt = Math.min(monitor.nextDue, nextLog);
    this.schedule();
  }

  private pollAdopted(): void {
    const adopted = this.deps.instances.adoptedPids();
    if (adopted.length > 0 && !this.deps.observer.allExist(adopted)) this.deps.request();
  }

  private guard(what: string, work: () => void): void {
    try {
      work();
    } catch (e) {
      this.deps.log(`${what} failed: ${(e as Error).stack ?? e}`);
    }
  }
}
