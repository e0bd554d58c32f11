import { emptyResult, type PassResult } from './pass-result.js';
import type { Clock, TimerHandle, Timers } from './ports.js';

/** A full pass now and then catches what no event reported (controller-runtime's resync). */
export const RESYNC_MS = 60_000;
/** A pass that throws is tried again after this, doubling per failure in a row, up to the cap. */
export const PASS_RETRY_MS = 1000;
export const PASS_RETRY_MAX_MS = 30_000;

/** What asked for a pass (the metrics count passes by the first ask that a pass answered). */
export const TRIGGERS = ['startup', 'file', 'exit', 'wake', 'resync', 'retry', 'monitor', 'verb', 'signal'] as const;
export type Trigger = (typeof TRIGGERS)[number];

export interface SchedulerDeps {
  timers: Timers;
  clock: Clock;
  /** One pass: observe, plan, act. May throw: the scheduler is its error boundary. */
  run: () => Promise<PassResult>;
  /** A pass threw: log it with its stack, record it. `delayMs` is when it is tried again. */
  onFailure: (error: unknown, inARow: number, delayMs: number) => void;
  /** A pass ended: what asked for it, how long it took, whether it threw. */
  onPass?: (trigger: Trigger, durationMs: number, ok: boolean) => void;
}

/**
 * When passes run: events (a file change, a child's exit, a timer) only ask for one; many
 * asks make one pass (after the I/O callbacks of the turn, so every exit of one SIGCHLD
 * lands in it); passes never overlap; a pass that throws is retried after a capped backoff
 * (controller-runtime's reconcileHandler); the next wake-up is the pass's own wakeAt.
 */
export class Scheduler {
  private passing: Promise<PassResult> | null = null;
  private again = false;
  private queued = false;
  private running = false;
  private wake: TimerHandle | null = null;
  private resync: TimerHandle | null = null;
  private failures = 0;
  /** The first ask since the last pass began. */
  private cause: Trigger | null = null;
  private last: PassResult | null = null;
  private readonly listeners = new Set<(r: PassResult, pass: number) => void>();
  /** Passes begun so far: a waiter takes only the result of a pass that began after it asked. */
  private begun = 0;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Starts the resync timer and asks for the first pass. */
  start(): void {
    this.running = true;
    this.resync = this.deps.timers.every(RESYNC_MS, () => this.request('resync'), true);
    this.request('startup');
  }

  get active(): boolean {
    return this.running;
  }

  /** Asks for a pass soon; many requests make one pass. */
  request(trigger: Trigger = 'verb'): void {
    this.cause ??= trigger;
    if (this.passing) {
      this.again = true;
      return;
    }
    if (this.queued) return;
    this.queued = true;
    this.deps.timers.soon(() => {
      this.queued = false;
      void this.pass();
    });
  }

  /** One pass now (or the one under way). Never rejects: a failure is a result that says so. */
  async pass(): Promise<PassResult> {
    if (this.passing) {
      this.again = true;
      return this.passing;
    }
    const trigger = this.cause ?? 'verb';
    this.cause = null;
    const number = ++this.begun;
    const began = this.deps.clock.now();
    const ended = (ok: boolean) => this.deps.onPass?.(trigger, this.deps.clock.now() - began, ok);
    this.passing = this.deps.run().then(
      (result) => {
        ended(true);
        this.failures = 0;
        this.wakeAt(result.wakeAt);
        return result;
      },
      (e: unknown) => {
        ended(false);
        return this.failed(e);
      },
    );
    try {
      const result = await this.passing;
      this.last = result;
      for (const listener of [...this.listeners]) listener(result, number);
      return result;
    } finally {
      this.passing = null;
      if (this.again) {
        this.again = false;
        this.deps.timers.soon(() => this.request(this.cause ?? 'verb'));
      }
    }
  }

  private failed(e: unknown): PassResult {
    this.failures++;
    const delay = Math.min(PASS_RETRY_MAX_MS, PASS_RETRY_MS * 2 ** (this.failures - 1));
    this.deps.onFailure(e, this.failures, delay);
    const at = this.deps.clock.now() + delay;
    this.wakeAt(at, 'retry');
    const message = e instanceof Error ? e.message : String(e);
    return { converged: false, moving: true, problems: [{ subject: 'tend', message: `a reconcile pass failed: ${message}` }], actions: [], idle: false, wakeAt: at, fileProblems: [] };
  }

  /** One timer for the next moment a pass is due without any event. */
  private wakeAt(at: number | null, trigger: Trigger = 'wake'): void {
    this.wake?.cancel();
    this.wake = null;
    if (at === null || !this.running) return;
    this.wake = this.deps.timers.after(at - this.deps.clock.now(), () => this.request(trigger));
  }

  /** Resolves with the first pass result that is converged or no longer moving, or at the deadline. */
  settle(timeoutMs: number): Promise<PassResult> {
    return new Promise((resolve) => {
      const finish = (r: PassResult) => {
        timeout.cancel();
        this.listeners.delete(listener);
        resolve(r);
      };
      // A pass under way may have read the file before the change this waiter made (a pass
      // yields to the event loop after stop signals): only a pass begun from now on counts.
      const since = this.begun;
      const listener = (r: PassResult, pass: number) => {
        if (pass > since && r.idle && !r.moving) finish(r);
      };
      const timeout = this.deps.timers.after(timeoutMs, () => finish(this.last ?? emptyResult(['no pass completed in time'])));
      this.listeners.add(listener);
      this.request();
    });
  }

  /** Stops the timers; waits for a pass under way. */
  async close(): Promise<void> {
    this.running = false;
    this.wake?.cancel();
    this.resync?.cancel();
    await this.passing;
  }
}
