import t from 'tap';
import { Notifier, NOTIFY_QUEUE } from '../../src/runtime/notifier.js';
import type { NotifyDelivery } from '../../src/runtime/ports.js';
import type { NotifySpec } from '../../src/state/desired/notify.js';
import type { TendEvent } from '../../src/state/records/events.js';
import type { InstanceRecord } from '../../src/state/records/records.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { desired, program, record } from '../helpers/fixtures.js';

type Outcome = { ok: true } | { ok: false; error: string };

/** A delivery that records each attempt and answers when the test says (or hangs). */
function scripted() {
  const attempts: { body: Record<string, unknown>; env: Record<string, string>; answer: (o: Outcome) => void }[] = [];
  const delivery: NotifyDelivery = {
    deliver: (_sink, body, env) => new Promise<Outcome>((answer) => attempts.push({ body: JSON.parse(body), env, answer })),
    tail: () => ['last line of stderr'],
  };
  return { attempts, delivery };
}

function setup(sinks: Partial<NotifySpec>[] = [{}]) {
  const timers = new FakeTimers();
  const { attempts, delivery } = scripted();
  const counts = { sent: 0, failed: 0, dropped: 0 };
  const log: string[] = [];
  const web = program('web');
  const state = { ...desired(web), notify: sinks.map((s) => ({ sink: { kind: 'webhook' as const, url: 'http://127.0.0.1:9/hook', headers: {} }, on: ['fatal', 'crash-loop', 'restarted', 'recovered', 'file-invalid'] as NotifySpec['on'], timeout: 1000, retries: 2, ...s })) };
  const table = new Map<string, InstanceRecord>([['web:0', record(web, 0, { state: 'FATAL', pid: null })]]);
  const notifier = new Notifier({ timers, clock: timers, delivery, log: (l) => log.push(l), count: (r) => counts[r]++, desired: () => state, table: () => table, fileValid: () => true, host: 'h1' });
  const fatal = (i = 0): TendEvent => ({ at: '', instance: `web:${i}`, event: 'exit', reason: 'crash', pid: 1, to: 'FATAL', message: 'exit code 2' });
  return { timers, attempts, counts, log, notifier, table, fatal };
}

t.test('an alert goes out as JSON with the TEND_* variables and the last stderr lines', async (t) => {
  const s = setup();
  s.notifier.onEvent(s.fatal());
  t.equal(s.attempts.length, 1);
  t.match(s.attempts[0]!.body, { kind: 'fatal', instance: 'web:0', program: 'web', reason: 'crash', host: 'h1', stderr: ['last line of stderr'] });
  t.match(s.attempts[0]!.env, { TEND_KIND: 'fatal', TEND_INSTANCE: 'web:0', TEND_PROGRAM: 'web', TEND_HOST: 'h1' });
  s.attempts[0]!.answer({ ok: true });
  await s.timers.settle();
  t.same(s.counts, { sent: 1, failed: 0, dropped: 0 });
});

t.test('a failed delivery is retried 1 s, then 2 s later, then counted failed and logged', async (t) => {
  const s = setup();
  s.notifier.onEvent(s.fatal());
  s.attempts[0]!.answer({ ok: false, error: 'HTTP 500 from the webhook' });
  await s.timers.settle();
  t.equal(s.attempts.length, 1, 'no retry before its delay');
  await s.timers.advance(1000);
  t.equal(s.attempts.length, 2);
  s.attempts[1]!.answer({ ok: false, error: 'HTTP 500 from the webhook' });
  await s.timers.advance(1999);
  t.equal(s.attempts.length, 2);
  await s.timers.advance(1);
  t.equal(s.attempts.length, 3);
  s.attempts[2]!.answer({ ok: false, error: 'HTTP 500 from the webhook' });
  await s.timers.settle();
  t.same(s.counts, { sent: 0, failed: 1, dropped: 0 });
  t.match(s.log.join('\n'), /could not send a fatal alert for web:0 to webhook http:\/\/127\.0\.0\.1:9 after 3 attempt\(s\): HTTP 500/);
  t.notMatch(s.log.join('\n'), /\/hook/, 'the webhook path (often a token) is not logged');
});

t.test('a sink that hangs holds only its own queue: events are taken at once, the queue is bounded, the overflow counted', async (t) => {
  const s = setup();
  // One instance per alert: each is its own episode.
  for (let i = 0; i < NOTIFY_QUEUE + 5; i++) {
    s.table.set(`web:${i}`, record(program('web'), i, { state: 'FATAL', pid: null }));
    s.notifier.onEvent(s.fatal(i));
  }
  t.equal(s.attempts.length, 1, 'one delivery at a time');
  t.equal(s.counts.dropped, 5, `the queue holds ${NOTIFY_QUEUE}`);
  s.notifier.close();
  t.equal(s.counts.dropped, 5 + NOTIFY_QUEUE, 'what is still queued at exit is counted as dropped');
});

t.test('only the kinds a sink asks for go to it', async (t) => {
  const s = setup([{ on: ['recovered'] }]);
  s.notifier.onEvent(s.fatal());
  t.equal(s.attempts.length, 0);
  s.notifier.onEvent({ at: '', instance: 'web:0', event: 'running', reason: 'start', pid: 2, message: '' });
  t.equal(s.attempts.length, 1);
  t.match(s.attempts[0]!.body, { kind: 'recovered', reason: 'fatal', episode: { kind: 'fatal' } });
});
