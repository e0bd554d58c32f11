import t from 'tap';
import { jitterOffset } from '../../src/reconciler/due.js';
import { plan } from '../../src/reconciler/plan.js';
import type { Action, Observation } from '../../src/reconciler/plan-types.js';
import type { InstanceRecord } from '../../src/state/records/records.js';
import type { ProgramSpec } from '../../src/state/desired/schema.js';
import { alive, desired, program, record } from '../helpers/fixtures.js';

const at = (iso: string) => Date.parse(iso);
const hourly = (extra: Partial<ProgramSpec['restart']> = {}, more: Partial<ProgramSpec> = {}) => {
  const base = program('web');
  return program('web', { restart: { ...base.restart, schedule: '0 * * * *', timezone: 'UTC', ...extra }, ...more });
};
const armed = (p: ProgramSpec, since: string, overrides: Partial<InstanceRecord> = {}) =>
  record(p, 0, { startedAt: at(since), scheduleArmed: { expression: p.restart.schedule!, since: at(since) }, ...overrides });

function run(programs: ProgramSpec[], actual: [InstanceRecord, Observation][], now: number) {
  return plan({
    desired: desired(...programs),
    actual: { records: new Map(actual.map(([r]) => [r.name, r])), observed: new Map(actual.map(([r, o]) => [r.name, o])) },
    now,
  });
}
const only = (actions: Action[]) => actions.map((a) => `${a.type}:${a.instance}:${a.reason}`);

t.test('restarts on a schedule tick', async (t) => {
  const p = hourly();
  const r = run([p], [[armed(p, '2026-11-24T10:30:00Z'), alive]], at('2026-11-24T11:00:00.200Z'));
  t.same(only(r.actions), ['stop:web:0:schedule']);
  t.match(r.actions[0], { detail: "schedule '0 * * * *': tick at 2026-11-24T11:00:00.000Z" });
});

t.test('before the tick, sleeps until exactly the tick', async (t) => {
  const p = hourly();
  const r = run([p], [[armed(p, '2026-11-24T10:30:00Z'), alive]], at('2026-11-24T10:59:59Z'));
  t.same(r.actions, []);
  t.equal(r.wakeAt, at('2026-11-24T11:00:00Z'));
});

t.test('folds ticks missed while no tend ran into one restart', async (t) => {
  const p = hourly();
  const r = run([p], [[armed(p, '2026-11-24T01:30:00Z'), alive]], at('2026-11-24T09:10:00Z'));
  t.same(only(r.actions), ['stop:web:0:schedule'], 'one restart for eight missed ticks');
  const restarted = armed(p, '2026-11-24T01:30:00Z', { startedAt: at('2026-11-24T09:10:01Z') });
  t.same(run([p], [[restarted, alive]], at('2026-11-24T09:10:02Z')).actions, [], 'and nothing more after it');
});

t.test('adding a schedule restarts nothing at once: it is armed from now', async (t) => {
  const p = hourly();
  const running = record(p, 0, { startedAt: at('2026-11-24T08:00:00Z'), scheduleArmed: null });
  const r = run([p], [[running, alive]], at('2026-11-24T10:15:00Z'));
  t.same(r.actions, [{ type: 'arm', instance: 'web:0', reason: 'schedule', schedule: { expression: '0 * * * *', since: at('2026-11-24T10:15:00Z') } }]);
  const now = { ...running, scheduleArmed: { expression: '0 * * * *', since: at('2026-11-24T10:15:00Z') } };
  t.same(run([p], [[now, alive]], at('2026-11-24T10:20:00Z')).actions, [], 'the 10:00 tick is before the arming');
  t.same(only(run([p], [[now, alive]], at('2026-11-24T11:00:01Z')).actions), ['stop:web:0:schedule'], 'the next tick counts');
});

t.test('a stopped program is never started by its schedule', async (t) => {
  const p = hourly({}, { state: 'stopped' });
  const stopped = armed(p, '2026-11-24T10:30:00Z', { state: 'STOPPED', pid: null });
  t.same(run([p], [[stopped, { ...alive, alive: false }]], at('2026-11-24T12:00:01Z')).actions, []);
});

t.test('reads the schedule in its time zone', async (t) => {
  // 09:00 in Paris is 08:00 UTC in November.
  const p = program('web', { restart: { ...program('web').restart, schedule: '0 9 * * *', timezone: 'Europe/Paris' } });
  const rec = armed(p, '2026-11-24T07:00:00Z');
  t.same(run([p], [[rec, alive]], at('2026-11-24T07:59:59Z')).actions, []);
  t.equal(run([p], [[rec, alive]], at('2026-11-24T07:59:59Z')).wakeAt, at('2026-11-24T08:00:00Z'));
  t.same(only(run([p], [[rec, alive]], at('2026-11-24T08:00:01Z')).actions), ['stop:web:0:schedule']);
});

t.test('supports seconds-level schedules', async (t) => {
  const p = hourly({ schedule: '*/2 * * * * *' });
  const rec = armed(p, '2026-11-24T10:00:00.500Z');
  t.equal(run([p], [[rec, alive]], at('2026-11-24T10:00:01Z')).wakeAt, at('2026-11-24T10:00:02Z'));
  t.same(only(run([p], [[rec, alive]], at('2026-11-24T10:00:02.001Z')).actions), ['stop:web:0:schedule']);
});

t.test('rolls a scheduled restart one replica at a time', async (t) => {
  const p = hourly({}, { replicas: 3 });
  const recs = [0, 1, 2].map((i) => record(p, i, { startedAt: at('2026-11-24T10:30:00Z'), scheduleArmed: { expression: '0 * * * *', since: 0 } }));
  t.same(only(run([p], recs.map((r) => [r, alive]), at('2026-11-24T11:00:01Z')).actions), ['stop:web:0:schedule']);
});

t.test('restarts after maxUptime, spread by jitter within its bounds', async (t) => {
  const base = program('web');
  const p = program('web', { restart: { ...base.restart, maxUptime: 3_600_000, jitter: 600_000 } });
  const rec = record(p, 0, { startedAt: 0, token: 'a-token' });
  const offset = jitterOffset('a-token', 600_000);
  t.ok(offset >= 0 && offset <= 600_000, `offset ${offset} within [0, 10m]`);
  t.equal(run([p], [[rec, alive]], 3_600_000 + offset - 1).wakeAt, 3_600_000 + offset);
  t.same(only(run([p], [[rec, alive]], 3_600_000 + offset).actions), ['stop:web:0:max-uptime']);
  const offsets = new Set(Array.from({ length: 50 }, (_, i) => jitterOffset(`token-${i}`, 600_000)));
  t.ok(offsets.size > 40, 'replicas get different offsets');
  t.ok([...offsets].every((o) => o >= 0 && o <= 600_000), 'all within bounds');
  t.equal(jitterOffset('x', 0), 0);
});

const limited = program('web', { limits: { memory: 512 * 2 ** 20, openFiles: 100, closeWait: 5, interval: 1000, samples: 3 } });

t.test('hysteresis: N-1 samples over a limit do nothing, the Nth restarts', async (t) => {
  const over = (n: number): Observation => ({ ...alive, usage: { memory: { value: 530 * 2 ** 20, over: n } } });
  t.same(run([limited], [[record(limited, 0), over(2)]], 5000).actions, []);
  const r = run([limited], [[record(limited, 0), over(3)]], 5000);
  t.same(only(r.actions), ['stop:web:0:memory']);
  t.match(r.actions[0], { detail: 'memory: 530Mi > 512Mi for 3 samples' });
});

t.test('names the limit that was crossed: open files and CLOSE_WAIT', async (t) => {
  const fds = run([limited], [[record(limited, 0), { ...alive, usage: { openFiles: { value: 140, over: 3 } } }]], 5000);
  t.match(fds.actions[0], { reason: 'open-files', detail: 'openFiles: 140 > 100 for 3 samples' });
  const cw = run([limited], [[record(limited, 0), { ...alive, usage: { closeWait: { value: 9, over: 3 } } }]], 5000);
  t.match(cw.actions[0], { reason: 'close-wait', detail: 'closeWait: 9 > 5 for 3 samples' });
});

t.test('a leak restarts at once, without waiting for the roll', async (t) => {
  const p = program('web', { replicas: 2, limits: limited.limits });
  const leaking: Observation = { ...alive, usage: { memory: { value: 2 ** 30, over: 3 } } };
  const r = run([p], [[record(p, 0), leaking], [record(p, 1), leaking]], 5000);
  t.same(only(r.actions), ['stop:web:0:memory', 'stop:web:1:memory']);
});

t.test('restarts after the configured number of failed probes', async (t) => {
  const p = program('web', { health: { probe: { kind: 'tcp', host: '127.0.0.1', port: 1 }, interval: 1000, timeout: 500, failures: 3, initialDelay: 0 } });
  t.same(run([p], [[record(p, 0), { ...alive, probeFailures: 2 }]], 5000).actions, []);
  const r = run([p], [[record(p, 0), { ...alive, probeFailures: 3, probeError: 'ECONNREFUSED' }]], 5000);
  t.match(r.actions[0], { type: 'stop', reason: 'health', detail: 'health: 3 failed probes in a row (ECONNREFUSED)' });
});

t.test('a probe gates the roll: the next replica waits until the new one passes', async (t) => {
  const p = program('web', { replicas: 2, generation: 1, health: { probe: { kind: 'tcp', host: '127.0.0.1', port: 1 }, interval: 1000, timeout: 500, failures: 3, initialDelay: 0 } });
  const fresh = record(p, 0, { generation: 1 });
  const old = record(program('web', { replicas: 2 }), 1, { generation: 0 });
  t.same(run([p], [[fresh, { ...alive, probePassed: false }], [old, alive]], 5000).actions, [], 'waits while web:0 has not passed');
  t.same(only(run([p], [[fresh, alive], [old, alive]], 5000).actions), ['stop:web:1:generation'], 'goes on once it has');
});

t.test('limits and probes apply in place: changing them restarts nothing', async (t) => {
  const before = record(program('web'), 0);
  t.same(run([limited], [[before, alive]], 5000).actions, []);
});
