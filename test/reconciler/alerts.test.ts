import t from 'tap';
import { CRASH_LOOP_EXITS, Episodes } from '../../src/reconciler/alerts.js';
import type { TendEvent } from '../../src/state/records/events.js';
import { desired, program, record } from '../helpers/fixtures.js';

const web = program('web', { restart: { ...program('web').restart, backoff: { initial: 10, max: 100, resetAfter: 5000 } } });
const ev = (event: string, extra: Partial<TendEvent> = {}): TendEvent => ({ at: '', instance: 'web:0', event, reason: 'crash', pid: 1, message: 'exit code 1', ...extra });

t.test('a crash loop is one alert however long it lasts, and recovered once the run is stable', async (t) => {
  const e = new Episodes();
  const kinds: string[] = [];
  for (let i = 1; i <= 10; i++) {
    const r = record(web, 0, { state: 'BACKOFF', failures: i, startFailures: 0 });
    const a = e.onEvent(ev('exit', { to: 'BACKOFF' }), r, i * 100);
    if (a) kinds.push(`${a.kind}@${i}`);
  }
  t.same(kinds, [`crash-loop@${CRASH_LOOP_EXITS}`]);
  const running = new Map([['web:0', record(web, 0, { state: 'RUNNING', startedAt: 2000 })]]);
  const early = e.recoveries(running, desired(web), true, 6999);
  t.same(early.alerts, []);
  t.equal(early.wakeAt, 7000, 'looks again when the run becomes stable (startedAt + resetAfter)');
  const later = e.recoveries(running, desired(web), true, 7000);
  t.match(later.alerts, [{ kind: 'recovered', reason: 'crash-loop', episode: { kind: 'crash-loop' } }]);
  t.equal(e.size, 0);
});

t.test('which events open an episode (table)', async (t) => {
  const cases: [string, TendEvent, Partial<Parameters<typeof record>[2]>, string | null][] = [
    ['FATAL', ev('exit', { to: 'FATAL' }), { state: 'FATAL' }, 'fatal'],
    ['early exits are start failures, not a crash loop', ev('exit', { to: 'BACKOFF' }), { failures: 3, startFailures: 3 }, null],
    ['two crashes are not yet a loop', ev('exit', { to: 'BACKOFF' }), { failures: 2, startFailures: 0 }, null],
    ['an exit tend asked for', ev('exit', { to: 'STOPPED', reason: 'stopped' }), {}, null],
    ['a restart for memory', ev('stop', { reason: 'memory' }), { lastDetail: 'memory: 300Mi > 200Mi for 3 samples' }, 'restarted'],
    ['a restart for a failing probe', ev('stop', { reason: 'health' }), {}, 'restarted'],
    ['a restart for a schedule is routine', ev('stop', { reason: 'schedule' }), {}, null],
    ['an invalid file', ev('file-invalid', { instance: 'state.yaml', reason: 'file-invalid' }), {}, 'file-invalid'],
  ];
  for (const [name, event, fields, kind] of cases) {
    const a = new Episodes().onEvent(event, record(web, 0, fields), 1);
    t.equal(a?.kind ?? null, kind, name);
  }
});

t.test('an episode ends silently when the file stops or removes the program; the file episode when it is valid again', async (t) => {
  const e = new Episodes();
  e.onEvent(ev('exit', { to: 'FATAL' }), record(web, 0, { state: 'FATAL' }), 1);
  e.onEvent(ev('file-invalid', { instance: 'state.yaml' }), undefined, 1);
  const records = new Map([['web:0', record(web, 0, { state: 'FATAL' })]]);
  t.same(e.recoveries(records, desired(web), false, 2).alerts, []);
  const { alerts } = e.recoveries(records, desired({ ...web, state: 'stopped' }), true, 3);
  t.same(alerts.map((a) => [a.kind, a.instance]), [['recovered', 'state.yaml']]);
  t.equal(e.size, 0);
});
