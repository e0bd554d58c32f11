import type { DesiredRead } from '../state/desired/source.js';
import type { DesiredState } from '../state/desired/schema.js';
import type { TendEvent } from '../state/records/events.js';
import type { InstanceRecord, RecordTable } from '../state/records/records.js';
import { Executor, type Emit } from './executor.js';
import { Instances, rebuildTable } from './instances.js';
import { LogHousekeeping } from './log-housekeeping.js';
import { Monitor } from './monitor.js';
import { nodeTimers } from './node-timers.js';
import { PassRunner } from './pass.js';
import type { PassResult } from './pass-result.js';
import type { Clock, LogFiles, Observer, Processes, Timers } from './ports.js';
import { Scheduler, type Trigger } from './scheduler.js';
import { Watch } from './watch.js';

export type { PassResult } from './pass-result.js';
export type { Trigger } from './scheduler.js';

export interface LoopDeps {
  desired: { read(now: number): DesiredRead; acceptNext?(): void };
  store: { recover(warn: (line: string) => void): { table: RecordTable; lost: boolean }; save(table: RecordTable, touched?: ReadonlySet<string>): boolean };
  processes: Processes;
  observer: Observer;
  logFiles: LogFiles;
  clock: Clock;
  /** Default Node's timers, clamped. */
  timers?: Timers;
  /** One line per thing done or seen. */
  log: (line: string) => void;
  /** The same, as a structured event (for the events file). */
  event?: (event: TendEvent) => void;
  /** reconcile --once: sample limits once per pass, and let one sample over a limit count. */
  once?: boolean;
  /** Told of every pass and probe result (the metrics). */
  telemetry?: LoopTelemetry;
}

export interface LoopTelemetry {
  pass(trigger: Trigger, durationMs: number, ok: boolean): void;
  probe(instance: string, ok: boolean): void;
  /** What the pass read of the file: valid or not, and when a new valid one was put in force (or null). */
  file(valid: boolean, appliedAt: number | null): void;
}

/**
 * The control loop, put together: observe, plan, act. Events (a file change, a child's
 * exit, a timer) only ask for a pass; passes never overlap; each pass reads everything again.
 */
export class ReconcileLoop {
  private readonly instances: Instances;
  private readonly scheduler: Scheduler;
  private readonly runner: PassRunner;
  private readonly watch: Watch;

  constructor(private readonly deps: LoopDeps) {
    const timers = deps.timers ?? nodeTimers;
    const once = deps.once ?? false;
    const emit: Emit = (instance, event, reason, pid, message, extra = {}) =>
      deps.event?.({ at: new Date(deps.clock.now()).toISOString(), instance, event, reason, pid, ...extra, message });
    const { table, lost } = deps.store.recover(deps.log);
    this.instances = new Instances(lost ? rebuildTable(deps.processes, deps.clock.now(), deps.log) : table);
    const request = (trigger: Trigger) => () => this.requestPass(trigger);
    const monitor = new Monitor(deps.observer, once, deps.telemetry ? (name, ok) => deps.telemetry!.probe(name, ok) : undefined);
    const housekeeping = new LogHousekeeping(deps.logFiles, deps.log);
    const executor = new Executor({ instances: this.instances, processes: deps.processes, store: deps.store, clock: deps.clock, log: deps.log, emit, request: request('exit') });
    this.runner = new PassRunner({ ...deps, instances: this.instances, executor, monitor, housekeeping, emit, once });
    this.watch = new Watch({ timers, clock: deps.clock, monitor, housekeeping, instances: this.instances, observer: deps.observer, desired: () => this.runner.desired, request: request('monitor'), log: deps.log, once });
    this.scheduler = new Scheduler({
      timers,
      clock: deps.clock,
      run: async () => {
        const result = await this.runner.run();
        this.watch.afterPass();
        return result;
      },
      onPass: deps.telemetry ? (trigger, ms, ok) => deps.telemetry!.pass(trigger, ms, ok) : undefined,
      onFailure: (e, inARow, delay) => {
        const message = e instanceof Error ? e.message : String(e);
        deps.log(`a reconcile pass failed (${inARow} in a row); programs keep running; trying again in ${delay / 1000}s: ${(e as Error)?.stack ?? message}`);
        try {
          emit('tend', 'pass-failed', 'error', null, `a reconcile pass failed: ${message}; trying again in ${delay / 1000}s`);
        } catch {
          // The events file may be on the very disk that is full: the log line above is enough.
        }
      },
    });
  }

  /** Starts reacting to events and timers. */
  start(): void {
    this.watch.start();
    this.scheduler.start();
  }

  /** Stops timers; waits for a pass in progress. Programs keep running. */
  async close(): Promise<void> {
    this.watch.close();
    await this.scheduler.close();
  }

  /** Asks for a pass soon; many requests make one pass. Ignored once closed. */
  requestPass(trigger: Trigger = 'verb'): void {
    if (this.scheduler.active) this.scheduler.request(trigger);
  }

  /**
   * The file was just replaced whole by a writer that holds the edit lock (a verb): the
   * next read takes it without waiting for it to stay still.
   */
  trustFile(): void {
    this.deps.desired.acceptNext?.();
  }

  /** From now on every program is treated as `state: stopped` (for --stop-on-exit). */
  stopAll(): void {
    this.runner.stopEverything = true;
    this.requestPass();
  }

  /** Resolves with the first pass result that is converged or no longer moving, or at the deadline. */
  settle(timeoutMs: number): Promise<PassResult> {
    return this.scheduler.settle(timeoutMs);
  }

  /** One pass now (or the one under way). */
  pass(): Promise<PassResult> {
    return this.scheduler.pass();
  }

  /** The desired state the last pass acted on (null before the first valid one). */
  desired(): DesiredState | null {
    return this.runner.desired;
  }

  table(): ReadonlyMap<string, InstanceRecord> {
    return this.instances.records;
  }
}
