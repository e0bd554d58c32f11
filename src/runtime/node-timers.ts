import type { TimerHandle, Timers } from './ports.js';

/** Node fires a timer of more than 2^31-1 ms at once: a 30-day wait would become a busy loop. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer delay Node honours: never negative, never past MAX_TIMER_MS (a pass then simply plans again). */
export function timerDelay(ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

/** The real Timers: Node's, with every delay clamped. The only setTimeout of the runtime. */
export const nodeTimers: Timers = {
  after(ms, fn, background = false): TimerHandle {
    const timer = setTimeout(fn, timerDelay(ms));
    if (background) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  every(ms, fn, background = false): TimerHandle {
    const timer = setInterval(fn, timerDelay(ms));
    if (background) timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
  soon(fn) {
    setImmediate(fn);
  },
};
