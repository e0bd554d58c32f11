import t from 'tap';
import { MAX_TIMER_MS, timerDelay } from '../../src/runtime/node-timers.js';
import { emptyResult, type PassResult } from '../../src/runtime/pass-result.js';
import { Scheduler } from '../../src/runtime/scheduler.js';
import { FakeTimers } from '../helpers/fake-timers.js';

const done = (over: Partial<PassResult> = {}): PassResult => ({ converged: true, moving: false, problems: [], actions: [], idle: true, wakeAt: null, fileProblems: [], ...over });

function setup(run: () => Promise<PassResult>) {
  const timers = new FakeTimers();
  const failures: { inARow: number; delay: number; message: string }[] = [];
  const scheduler = new Scheduler({ timers, clock: timers, run, onFailure: (e, inARow, delay) => failures.push({ inARow, delay, message: (e as Error).message }) });
  return { timers, scheduler, failures };
}

t.test('a burst of 100 exits makes one pass', async (t) => {
  let passes = 0;
  const { timers, scheduler } = setup(async () => (passes++, done()));
  scheduler.start();
  await timers.settle();
  t.equal(passes, 1, 'the first pass');
  for (let i = 0; i < 100; i++) scheduler.request();
  await timers.settle();
  t.equal(passes, 2, 'one pass for the whole burst');
});

t.test('requests during a pass make exactly one more pass, never two at once', async (t) => {
  let passes = 0;
  let overlapping = 0;
  let inside = 0;
  let release!: () => void;
  const { timers, scheduler } = setup(async () => {
    passes++;
    inside++;
    overlapping = Math.max(overlapping, inside);
    if (passes === 1) await new Promise<void>((r) => (release = r));
    inside--;
    return done();
  });
  scheduler.start();
  await timers.settle();
  for (let i = 0; i < 50; i++) scheduler.request();
  await timers.settle();
  t.equal(passes, 1, 'no second pass while the first runs');
  release();
  await timers.settle();
  t.equal(passes, 2, 'one more pass after it');
  t.equal(overlapping, 1, 'passes never overlapped');
});

t.test('a pass that throws is retried after 1 s, then 2 s, and the loop converges once the fault is gone', async (t) => {
  let passes = 0;
  const { timers, scheduler, failures } = setup(async () => {
    passes++;
    if (passes <= 2) throw new Error('ENOSPC: no space left on device');
    return done();
  });
  const settled = scheduler.settle(60_000);
  scheduler.start();
  await timers.settle();
  t.equal(passes, 1);
  t.same(failures.map((f) => [f.inARow, f.delay]), [[1, 1000]], 'logged and recorded, with its retry delay');
  await timers.advance(999);
  t.equal(passes, 1, 'not retried before 1 s');
  await timers.advance(1);
  t.equal(passes, 2, 'retried at 1 s');
  t.same(failures.map((f) => f.delay), [1000, 2000], 'the delay doubles');
  await timers.advance(2000);
  t.equal(passes, 3, 'retried at 2 s, and this time it worked');
  t.match(await settled, { converged: true }, 'converged once the fault was gone');
});

t.test('the retry delay is capped at 30 s, and a success resets it', async (t) => {
  let fail = true;
  const { timers, scheduler, failures } = setup(async () => {
    if (fail) throw new Error('still failing');
    return done();
  });
  scheduler.start();
  await timers.settle();
  for (let i = 0; i < 8; i++) await timers.advance(30_000);
  t.same(failures.map((f) => f.delay).slice(0, 7), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  fail = false;
  await timers.advance(30_000);
  fail = true;
  scheduler.request();
  await timers.settle();
  t.equal(failures.at(-1)!.delay, 1000, 'the next failure starts again at 1 s');
});

t.test('a pass asks for its own next wake-up, and only one timer waits for it', async (t) => {
  let passes = 0;
  const { timers, scheduler } = setup(async () => (passes++, done({ wakeAt: timers.now() + 5000 })));
  scheduler.start();
  await timers.settle();
  await timers.advance(4999);
  t.equal(passes, 1);
  await timers.advance(1);
  t.equal(passes, 2, 'woken at wakeAt');
  for (let i = 0; i < 10; i++) scheduler.request();
  await timers.settle();
  await timers.advance(5000);
  t.equal(passes, 4, 'one pass for the requests, one at its wakeAt: the earlier timer was replaced');
});

t.test('settle resolves on the first idle, settled result, or at its deadline with the last one', async (t) => {
  let moving = true;
  const { timers, scheduler } = setup(async () => done({ moving, converged: !moving, wakeAt: timers.now() + 100 }));
  scheduler.start();
  const first = scheduler.settle(1000);
  await timers.advance(300);
  moving = false;
  await timers.advance(100);
  t.match(await first, { moving: false, converged: true });
  moving = true;
  const second = scheduler.settle(250);
  await timers.advance(250);
  t.match(await second, { moving: true }, 'the deadline gives the last result');
});

t.test('a closed scheduler schedules nothing more', async (t) => {
  let passes = 0;
  const { timers, scheduler } = setup(async () => (passes++, done({ wakeAt: timers.now() + 10 })));
  scheduler.start();
  await timers.settle();
  await scheduler.close();
  await timers.advance(120_000);
  t.equal(passes, 1);
});

t.test('waits past 24.8 days are clamped (Node would fire them at once: a busy loop)', async (t) => {
  t.equal(timerDelay(30 * 86_400_000), MAX_TIMER_MS);
  t.equal(timerDelay(-5), 0);
  t.equal(timerDelay(1234), 1234);
  t.same(emptyResult([], 99), { converged: false, moving: true, problems: [], actions: [], idle: true, wakeAt: 99, fileProblems: [] });
});

t.test('settle asked during a pass waits for a pass that began after it: the one under way may have read the file before the change', async (t) => {
  let passes = 0;
  let release!: () => void;
  const { timers, scheduler } = setup(async () => {
    passes++;
    if (passes === 1) await new Promise<void>((r) => (release = r));
    return done({ actions: [], problems: passes === 1 ? [{ subject: 'old', message: 'from the pass under way' }] : [] });
  });
  scheduler.start();
  await timers.settle();
  const settled = scheduler.settle(60_000);
  release();
  await timers.settle();
  t.equal(passes, 2, 'a second pass was made for the waiter');
  t.same((await settled).problems, [], 'and its result, not the one under way, is the answer');
});
