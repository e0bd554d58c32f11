import t from 'tap';
import { plan } from '../../src/reconciler/plan.js';
import type { Action, Observation } from '../../src/reconciler/plan-types.js';
import type { InstanceRecord } from '../../src/state/records/records.js';
import type { Dependency, ProgramSpec } from '../../src/state/desired/schema.js';
import { alive, desired, program, record, vanished } from '../helpers/fixtures.js';

const on = (name: string, condition: Dependency['condition'], restart = false): Dependency => ({ program: name, condition, restart, at: { line: 1, col: 1 } });
const db = program('db');
const app = program('app', { dependsOn: [on('db', 'running')] });
const appFollows = program('app', { dependsOn: [on('db', 'running', true)] });
const migrate = program('migrate', { restart: { ...db.restart, policy: 'never' } });
const afterMigrate = program('app', { dependsOn: [on('migrate', 'succeeded')] });
const stopped = (p: ProgramSpec): ProgramSpec => ({ ...p, state: 'stopped' });

interface Case {
  name: string;
  programs: ProgramSpec[];
  actual: [InstanceRecord, Observation][];
  expect: Partial<Action>[];
}

const cases: Case[] = [
  { name: 'a dependent waits while its dependency has no process, and says for what', programs: [db, app], actual: [], expect: [{ type: 'start', instance: 'db:0' }, { type: 'wait', instance: 'app:0', detail: 'db running' }] },
  { name: 'it waits while the dependency is only STARTING', programs: [db, app], actual: [[record(db, 0, { state: 'STARTING', startedAt: 4900 }), alive]], expect: [{ type: 'wait', instance: 'app:0' }] },
  {
    name: 'it says so once: a wait already recorded is not repeated',
    programs: [db, app],
    actual: [[record(db, 0, { state: 'STARTING', startedAt: 4900 }), alive], [record(app, 0, { state: 'STOPPED', pid: null, lastReason: 'waiting', lastDetail: 'db running' }), vanished]],
    expect: [],
  },
  { name: 'it starts once the dependency is RUNNING', programs: [db, app], actual: [[record(db, 0), alive]], expect: [{ type: 'start', instance: 'app:0', reason: 'start' }] },
  {
    name: 'succeeded waits for a one-shot that exited 0',
    programs: [migrate, afterMigrate],
    actual: [[record(migrate, 0, { state: 'EXITED', pid: null, lastExit: { code: 1, signal: null, at: 1 } }), vanished]],
    expect: [{ type: 'wait', instance: 'app:0', detail: 'migrate succeeded' }],
  },
  { name: 'and starts after it', programs: [migrate, afterMigrate], actual: [[record(migrate, 0, { state: 'EXITED', pid: null, lastExit: { code: 0, signal: null, at: 1 } }), vanished]], expect: [{ type: 'start', instance: 'app:0' }] },
  {
    name: 'a dependency that restarted leaves a running dependent alone',
    programs: [db, app],
    actual: [[record(db, 0, { startedAt: 3000 }), alive], [record(app, 0, { startedAt: 1000 }), alive]],
    expect: [],
  },
  {
    name: 'unless the edge says restart: true (PartOf=): then the dependent restarts after it',
    programs: [db, appFollows],
    actual: [[record(db, 0, { startedAt: 3000 }), alive], [record(appFollows, 0, { startedAt: 1000 }), alive]],
    expect: [{ type: 'stop', instance: 'app:0', reason: 'dependency' }],
  },
  {
    name: 'stopping both: the dependent stops first, the dependency waits for it',
    programs: [stopped(db), stopped(app)],
    actual: [[record(db, 0), alive], [record(app, 0), alive]],
    expect: [{ type: 'stop', instance: 'app:0' }],
  },
  { name: 'then the dependency stops', programs: [stopped(db), stopped(app)], actual: [[record(db, 0), alive]], expect: [{ type: 'stop', instance: 'db:0' }] },
  {
    name: 'stopping only the dependency does not wait for a dependent that stays up',
    programs: [stopped(db), app],
    actual: [[record(db, 0), alive], [record(app, 0), alive]],
    expect: [{ type: 'stop', instance: 'db:0' }],
  },
  {
    name: 'scaling the dependent to 0 with the dependency stopped: the dependent goes first',
    programs: [stopped(db), { ...app, replicas: 0 }],
    actual: [[record(db, 0), alive], [record(app, 0), alive]],
    expect: [{ type: 'stop', instance: 'app:0', reason: 'scale-down' }],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const records = new Map(c.actual.map(([r]) => [r.name, r]));
    const observed = new Map(c.actual.map(([r, o]) => [r.name, o]));
    const result = plan({ desired: desired(...c.programs), actual: { records, observed }, now: 5000 });
    t.equal(result.actions.length, c.expect.length, `actions: ${JSON.stringify(result.actions)}`);
    c.expect.forEach((e, i) => t.match(result.actions[i], e));
  });
}
