import t from 'tap';
import { plan, POLL_MS } from '../../src/reconciler/plan.js';
import type { Action, Observation } from '../../src/reconciler/plan-types.js';
import type { InstanceRecord } from '../../src/state/records/records.js';
import type { ProgramSpec } from '../../src/state/desired/schema.js';
import { adopted, alive, dead, desired, program, record, vanished } from '../helpers/fixtures.js';

interface Case {
  name: string;
  programs: ProgramSpec[];
  actual: [InstanceRecord, Observation][];
  now: number;
  /** Expected actions, compared on these fields only. */
  expect: Partial<Action>[];
  wakeAt?: number | null;
}

const web = program('web');
const web3 = program('web', { replicas: 3 });
const onFailure = program('job', { restart: { ...web.restart, policy: 'on-failure' } });
const never = program('job', { restart: { ...web.restart, policy: 'never' } });
const fastBackoff = program('web', { restart: { ...web.restart, backoff: { initial: 1000, max: 4000, resetAfter: 60_000 } } });

const cases: Case[] = [
  { name: 'starts a missing instance', programs: [web], actual: [], now: 0, expect: [{ type: 'start', instance: 'web:0', reason: 'start' }] },
  {
    name: 'scales up by starting only the missing replicas',
    programs: [web3],
    actual: [[record(web3, 0), alive]],
    now: 5000,
    expect: [
      { type: 'start', instance: 'web:1' },
      { type: 'start', instance: 'web:2' },
    ],
  },
  {
    name: 'scales down by stopping the highest replicas first',
    programs: [web],
    actual: [
      [record(web3, 0), alive],
      [record(web3, 1), alive],
      [record(web3, 2), alive],
    ],
    now: 5000,
    expect: [
      { type: 'stop', instance: 'web:2', reason: 'scale-down' },
      { type: 'stop', instance: 'web:1', reason: 'scale-down' },
    ],
  },
  { name: 'does nothing when everything matches', programs: [web], actual: [[record(web, 0), alive]], now: 5000, expect: [], wakeAt: null },
  {
    name: 'restarts when the command changes',
    programs: [program('web', { process: { ...web.process, command: ['/bin/sleep', '2000'] } })],
    actual: [[record(web, 0), alive]],
    now: 5000,
    expect: [{ type: 'stop', instance: 'web:0', reason: 'spec-changed', detail: 'changed: command', deadline: 15_000 }],
  },
  {
    name: 'restarts when env changes',
    programs: [program('web', { process: { ...web.process, env: { PORT: '81' } } })],
    actual: [[record(web, 0), alive]],
    now: 5000,
    expect: [{ type: 'stop', reason: 'spec-changed', detail: 'changed: env' }],
  },
  {
    name: 'applies a new stop timeout in place without a restart',
    programs: [program('web', { stop: { signal: 'SIGINT', timeout: 1 } })],
    actual: [[record(web, 0), alive]],
    now: 5000,
    expect: [],
  },
  {
    name: 'applies a new restart policy in place without a restart',
    programs: [onFailure],
    actual: [[record(program('job'), 0), alive]],
    now: 5000,
    expect: [],
  },
  {
    name: 'restarts on a generation bump',
    programs: [program('web', { generation: 1 })],
    actual: [[record(web, 0), alive]],
    now: 5000,
    expect: [{ type: 'stop', reason: 'generation' }],
  },
  {
    name: 'rolls a generation bump one replica at a time',
    programs: [program('web', { replicas: 3, generation: 1 })],
    actual: [
      [record(web3, 0), alive],
      [record(web3, 1), alive],
      [record(web3, 2), alive],
    ],
    now: 5000,
    expect: [{ type: 'stop', instance: 'web:0', reason: 'generation' }],
  },
  {
    name: 'holds the roll while a new replica is still starting',
    programs: [program('web', { replicas: 2, generation: 1 })],
    actual: [
      [record(program('web', { generation: 1 }), 0, { state: 'STARTING', startedAt: 4500 }), alive],
      [record(web3, 1), alive],
    ],
    now: 5000,
    expect: [],
    wakeAt: 5500,
  },
  {
    name: 'starts a stopped instance again with the reason of its restart',
    programs: [program('web', { generation: 1 })],
    actual: [[record(program('web', { generation: 1 }), 0, { state: 'STOPPED', pid: null, lastReason: 'generation' }), vanished]],
    now: 5000,
    expect: [{ type: 'start', reason: 'generation' }],
  },
  {
    name: 'stops every instance of a program set to stopped, at once',
    programs: [program('web', { replicas: 2, state: 'stopped' })],
    actual: [
      [record(web3, 0), alive],
      [record(web3, 1), alive],
    ],
    now: 5000,
    expect: [
      { type: 'stop', instance: 'web:0', reason: 'stopped', signal: 'SIGTERM' },
      { type: 'stop', instance: 'web:1', reason: 'stopped' },
    ],
  },
  { name: 'does not start a stopped program', programs: [program('web', { state: 'stopped' })], actual: [], now: 0, expect: [] },
  {
    name: 'stops the instances of a removed program',
    programs: [],
    actual: [[record(web, 0), alive]],
    now: 5000,
    expect: [{ type: 'stop', instance: 'web:0', reason: 'removed' }],
  },
  {
    name: 'forgets a removed instance once its process is gone',
    programs: [],
    actual: [[record(web, 0, { state: 'STOPPING', stopDeadline: 9000 }), vanished]],
    now: 5000,
    expect: [{ type: 'forget', instance: 'web:0' }],
  },
  {
    name: 'marks a starting instance RUNNING after startSeconds',
    programs: [web],
    actual: [[record(web, 0, { state: 'STARTING', startedAt: 4000 }), alive]],
    now: 5000,
    expect: [{ type: 'running', instance: 'web:0' }],
  },
  {
    name: 'waits until startSeconds before calling it RUNNING',
    programs: [web],
    actual: [[record(web, 0, { state: 'STARTING', startedAt: 4500 }), alive]],
    now: 5000,
    expect: [],
    wakeAt: 5500,
  },
  {
    name: 'restarts a crash after a stable run at once (policy always)',
    programs: [web],
    actual: [[record(web, 0, { startedAt: 0 }), dead(1, null, 100_000)]],
    now: 100_000,
    expect: [{ type: 'exited', to: 'BACKOFF', backoffUntil: 100_000, failures: 1, reason: 'crash' }],
  },
  {
    name: 'backs off the second crash in a row by backoff.initial',
    programs: [fastBackoff],
    actual: [[record(fastBackoff, 0, { startedAt: 0, failures: 1 }), dead(1, null, 10_000)]],
    now: 10_000,
    expect: [{ type: 'exited', to: 'BACKOFF', backoffUntil: 11_000, failures: 2 }],
  },
  {
    name: 'doubles the backoff up to backoff.max',
    programs: [fastBackoff],
    actual: [[record(fastBackoff, 0, { startedAt: 0, failures: 9 }), dead(1, null, 10_000)]],
    now: 10_000,
    expect: [{ type: 'exited', to: 'BACKOFF', backoffUntil: 14_000, failures: 10 }],
  },
  {
    name: 'resets the backoff after resetAfter of stable running',
    programs: [fastBackoff],
    actual: [[record(fastBackoff, 0, { startedAt: 0, failures: 9 }), dead(1, null, 60_000)]],
    now: 60_000,
    expect: [{ type: 'exited', to: 'BACKOFF', backoffUntil: 60_000, failures: 1, startFailures: 0 }],
  },
  {
    name: 'starts again when the backoff has passed',
    programs: [web],
    actual: [[record(web, 0, { state: 'BACKOFF', pid: null, backoffUntil: 5000, lastReason: 'crash' }), vanished]],
    now: 5000,
    expect: [{ type: 'start', reason: 'crash' }],
  },
  {
    name: 'waits out the backoff',
    programs: [web],
    actual: [[record(web, 0, { state: 'BACKOFF', pid: null, backoffUntil: 7000 }), vanished]],
    now: 5000,
    expect: [],
    wakeAt: 7000,
  },
  {
    name: 'retries maxRetries times after the first failed start, as supervisord\'s startretries',
    programs: [web],
    actual: [[record(web, 0, { state: 'STARTING', startedAt: 4900, startFailures: 2, failures: 2 }), dead(1, null, 5000)]],
    now: 5000,
    expect: [{ type: 'exited', to: 'BACKOFF', startFailures: 3 }],
  },
  {
    name: 'goes FATAL when the first attempt and maxRetries retries all failed',
    programs: [web],
    actual: [[record(web, 0, { state: 'STARTING', startedAt: 4900, startFailures: 3, failures: 3 }), dead(1, null, 5000)]],
    now: 5000,
    expect: [{ type: 'exited', to: 'FATAL', startFailures: 4 }],
  },
  {
    name: 'stays FATAL while nothing changes',
    programs: [web],
    actual: [[record(web, 0, { state: 'FATAL', pid: null }), vanished]],
    now: 99_000,
    expect: [],
  },
  {
    name: 'leaves FATAL when the spec changes',
    programs: [program('web', { process: { ...web.process, command: ['/bin/true'] } })],
    actual: [[record(web, 0, { state: 'FATAL', pid: null }), vanished]],
    now: 99_000,
    expect: [{ type: 'start', reason: 'spec-changed' }],
  },
  {
    name: 'leaves FATAL when the generation is bumped',
    programs: [program('web', { generation: 3 })],
    actual: [[record(web, 0, { state: 'FATAL', pid: null }), vanished]],
    now: 99_000,
    expect: [{ type: 'start', reason: 'generation' }],
  },
  {
    name: 'on-failure: leaves a clean exit alone',
    programs: [onFailure],
    actual: [[record(onFailure, 0), dead(0, null, 5000)]],
    now: 5000,
    expect: [{ type: 'exited', to: 'EXITED', reason: 'exit' }],
  },
  {
    name: 'on-failure: restarts on an exit code outside exitCodes',
    programs: [onFailure],
    actual: [[record(onFailure, 0), dead(2, null, 5000)]],
    now: 5000,
    expect: [{ type: 'exited', to: 'BACKOFF', reason: 'crash' }],
  },
  {
    name: 'on-failure: restarts on a signal',
    programs: [onFailure],
    actual: [[record(onFailure, 0), dead(null, 'SIGSEGV', 5000)]],
    now: 5000,
    expect: [{ type: 'exited', to: 'BACKOFF' }],
  },
  {
    name: 'on-failure: counts an exit nobody saw as a failure',
    programs: [onFailure],
    actual: [[record(onFailure, 0), vanished]],
    now: 5000,
    expect: [{ type: 'exited', to: 'BACKOFF', exit: { code: null, signal: null, at: 5000 } }],
  },
  {
    name: 'never: leaves a crash alone',
    programs: [never],
    actual: [[record(never, 0), dead(1, null, 5000)]],
    now: 5000,
    expect: [{ type: 'exited', to: 'EXITED' }],
  },
  {
    name: 'records a stopped instance as STOPPED, not as a crash',
    programs: [program('web', { state: 'stopped' })],
    actual: [[record(web, 0, { state: 'STOPPING', stopDeadline: 9000, lastReason: 'stopped' }), dead(null, 'SIGTERM', 5000)]],
    now: 5000,
    expect: [{ type: 'exited', to: 'STOPPED', reason: 'stopped' }],
  },
  {
    name: 'kills a process that outlives its stop timeout',
    programs: [program('web', { state: 'stopped' })],
    actual: [[record(web, 0, { state: 'STOPPING', stopDeadline: 5000 }), alive]],
    now: 5000,
    expect: [{ type: 'kill', reason: 'stop-timeout' }],
    wakeAt: 5000 + POLL_MS,
  },
  {
    name: 'waits for the stop deadline of its own child without polling',
    programs: [program('web', { state: 'stopped' })],
    actual: [[record(web, 0, { state: 'STOPPING', stopDeadline: 9000 }), alive]],
    now: 5000,
    expect: [],
    wakeAt: 9000,
  },
  {
    name: 'polls an adopted process that is stopping',
    programs: [program('web', { state: 'stopped' })],
    actual: [[record(web, 0, { state: 'STOPPING', stopDeadline: 9000 }), adopted]],
    now: 5000,
    expect: [],
    wakeAt: 5000 + POLL_MS,
  },
  {
    name: 'sweeps what a dead leader left in its session before restarting',
    programs: [web],
    actual: [[record(web, 0), { ...vanished, lingering: 2 }]],
    now: 5000,
    expect: [{ type: 'kill', reason: 'leftover' }],
  },
  {
    name: 'retries a spawn that tend died in the middle of',
    programs: [web],
    actual: [[record(web, 0, { state: 'STARTING', pid: null, lastReason: 'generation' }), vanished]],
    now: 5000,
    expect: [{ type: 'start', reason: 'generation' }],
  },
  {
    name: 'counts a spawn error as a failed start',
    programs: [web],
    actual: [[record(web, 0, { state: 'STARTING', pid: null, startedAt: 5000 }), { ...vanished, exit: { code: null, signal: null, at: 5000, error: 'spawn error' } }]],
    now: 5000,
    expect: [{ type: 'exited', to: 'BACKOFF', reason: 'spawn-error', startFailures: 1 }],
  },
  {
    name: 'settles a backing-off instance when its program is stopped',
    programs: [program('web', { state: 'stopped' })],
    actual: [[record(web, 0, { state: 'BACKOFF', pid: null, backoffUntil: 99_000 }), vanished]],
    now: 5000,
    expect: [{ type: 'settle', reason: 'stopped' }],
  },
  {
    name: 'leaves a program with a config error exactly as it is',
    programs: [program('web', { configError: "'nodee' was not found on PATH", state: 'stopped', process: { ...web.process, command: ['nodee'] } })],
    actual: [[record(web, 0), alive]],
    now: 5000,
    expect: [],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const records = new Map(c.actual.map(([r]) => [r.name, r]));
    const observed = new Map(c.actual.map(([r, o]) => [r.name, o]));
    const result = plan({ desired: desired(...c.programs), actual: { records, observed }, now: c.now });
    t.equal(result.actions.length, c.expect.length, `actions: ${JSON.stringify(result.actions)}`);
    c.expect.forEach((e, i) => t.match(result.actions[i], e));
    if (c.wakeAt !== undefined) t.equal(result.wakeAt, c.wakeAt, 'wakeAt');
  });
}

t.test('is pure: the same input gives the same plan', async (t) => {
  const records = new Map([[`web:0`, record(web, 0, { state: 'BACKOFF', pid: null, backoffUntil: 7000 })]]);
  const input = { desired: desired(web3), actual: { records, observed: new Map() }, now: 5000 };
  t.same(plan(input), plan(input));
});
