import type { Clock, TimerHandle, Timers } from '../../src/runtime/ports.js';

/**
 * Scripted time for the runtime: nothing runs until the test says so. `settle()` runs what
 * is queued for "soon" (and the promises it starts); `advance(ms)` moves the clock, firing
 * due timers in order.
 */
export class FakeTimers implements Timers, Clock {
  private time = 0;
  private seq = 0;
  private timers: { id: number; at: number; fn: () => void; every: number | null }[] = [];
  private soonQueue: (() => void)[] = [];
  /** Every delay asked for, in order (for asserting what was scheduled). */
  readonly delays: number[] = [];

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, fn, null);
  }

  every(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, fn, ms);
  }

  soon(fn: () => void): void {
    this.soonQueue.push(fn);
  }

  /** Runs everything queued for soon, and what that queues, letting promises resolve in between. */
  async settle(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      await new Promise((r) => setImmediate(r));
      const queued = this.soonQueue.splice(0);
      if (queued.length === 0) {
        await new Promise((r) => setImmediate(r));
        if (this.soonQueue.length === 0) return;
        continue;
      }
      for (const fn of queued) fn();
    }
    throw new Error('soon() kept queueing work: a busy loop');
  }

  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await this.settle();
    for (;;) {
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.time = next.at;
      if (next.every === null) this.timers = this.timers.filter((t) => t !== next);
      else next.at += next.every;
      next.fn();
      await this.settle();
    }
    this.time = end;
  }

  private add(ms: number, fn: () => void, every: number | null): TimerHandle {
    this.delays.push(ms);
    const timer = { id: ++this.seq, at: this.time + Math.max(0, ms), fn, every };
    this.timers.push(timer);
    return { cancel: () => void (this.timers = this.timers.filter((t) => t !== timer)) };
  }
}
