import t from 'tap';
import type { DesiredRead } from '../../src/state/desired/source.js';
import type { DesiredState } from '../../src/state/desired/schema.js';
import type { InstanceRecord, RecordTable } from '../../src/state/records/records.js';
import { ReconcileLoop } from '../../src/runtime/loop.js';
import type { LogFiles, Observer, Processes, SpawnRequest } from '../../src/runtime/ports.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { desired, program, record } from '../helpers/fixtures.js';

/** Tiny scripted ports: spawned processes are handles the test tells to exit. */
class FakeOs implements Processes, Observer, LogFiles {
  private pid = 100;
  readonly spawned: { request: SpawnRequest; pid: number; exit: (code: number) => void }[] = [];
  readonly signals: { name: string; signal: string }[] = [];
  /** Pids of processes not spawned here (adopted) that are alive. */
  readonly adoptedAlive = new Set<number>();
  /** What each sample returns, by instance name. */
  memory = new Map<string, number>();
  async spawn(request: SpawnRequest, onExit: (code: number | null, signal: string | null) => void) {
    const pid = ++this.pid;
    this.spawned.push({ request, pid, exit: (code) => onExit(code, null) });
    return { ok: true as const, process: { pid, startTime: pid, bootId: 'boot' } };
  }
  signal(r: InstanceRecord, signal: NodeJS.Signals) {
    this.signals.push({ name: r.name, signal });
    return true;
  }
  kill() {}
  locate() {
    return new Map();
  }
  sweep() {
    return 0;
  }
  rebuild() {
    return [];
  }
  observe(records: Iterable<InstanceRecord>) {
    return new Map([...records].map((r) => [r.name, { alive: r.pid !== null && this.adoptedAlive.has(r.pid), lingering: 0 }]));
  }
  allExist(pids: readonly number[]) {
    return pids.every((p) => this.adoptedAlive.has(p));
  }
  sample(targets: { name: string }[]) {
    return new Map(targets.map((x) => [x.name, { memory: this.memory.get(x.name) ?? 0, openFiles: 0, closeWait: 0 }]));
  }
  async probe() {
    return { ok: true as const };
  }
  rotateLog() {
    return { rotated: false, size: 0 };
  }
}

function setup(state: DesiredState, table: RecordTable = new Map()) {
  const timers = new FakeTimers();
  const os = new FakeOs();
  const lines: string[] = [];
  const store = { failing: false, saves: 0 };
  const read: DesiredRead = { desired: state, fileProblems: [], programProblems: [], changed: false, recheckAt: null };
  const loop = new ReconcileLoop({
    desired: { read: () => read },
    store: {
      recover: () => ({ table, lost: false }),
      save: () => {
        if (store.failing) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        store.saves++;
        return true;
      },
    },
    processes: os,
    observer: os,
    logFiles: os,
    clock: timers,
    timers,
    log: (l) => lines.push(l),
  });
  return { timers, os, lines, store, loop };
}

t.test('starts every instance, marks them RUNNING after startSeconds, and restarts a crash at once', async (t) => {
  const { timers, os, loop } = setup(desired(program('web', { replicas: 2 })));
  loop.start();
  await timers.settle();
  t.same(os.spawned.map((s) => s.request.instance), ['web:0', 'web:1']);
  await timers.advance(1000);
  t.same([...loop.table().values()].map((r) => r.state), ['RUNNING', 'RUNNING']);
  os.spawned[0]!.exit(1);
  await timers.settle();
  t.equal(os.spawned.length, 3, 'the crashed instance was started again in the same pass');
  t.match(loop.table().get('web:0'), { state: 'STARTING', restarts: 1, lastReason: 'crash' });
  await loop.close();
});

t.test('the adopted-process poll notices within a second that an adopted process is gone', async (t) => {
  const web = program('web');
  const adopted = record(web, 0, { pid: 500, startedAt: 0 });
  const { timers, os, loop } = setup(desired(web), new Map([['web:0', adopted]]));
  os.adoptedAlive.add(500);
  loop.start();
  await timers.settle();
  t.equal(os.spawned.length, 0, 'adopted, not started again');
  os.adoptedAlive.delete(500);
  await timers.advance(999);
  t.equal(os.spawned.length, 0);
  await timers.advance(1);
  t.equal(os.spawned.length, 1, 'the poll asked for a pass, which started it again');
  t.match(loop.table().get('web:0')!.lastExit, { code: null, signal: null });
  await loop.close();
});

t.test('a memory limit restarts only after `samples` samples over it in a row (one noisy sample does nothing)', async (t) => {
  const web = program('web', { limits: { memory: 100, openFiles: null, closeWait: null, interval: 1000, samples: 3 } });
  const { timers, os, loop } = setup(desired(web));
  loop.start();
  await timers.settle();
  await timers.advance(1000); // RUNNING
  const series = [200, 200, 50, 200, 200];
  for (const value of series) {
    os.memory.set('web:0', value);
    await timers.advance(1000);
  }
  t.same(os.signals, [], 'two over, one under, two over: no restart');
  os.memory.set('web:0', 200);
  await timers.advance(1000);
  t.same(os.signals, [{ name: 'web:0', signal: 'SIGTERM' }], 'the third in a row restarts it');
  t.match(loop.table().get('web:0'), { state: 'STOPPING', lastReason: 'memory', lastDetail: 'memory: 200B > 100B for 3 samples' });
  await loop.close();
});

t.test('a pass that cannot save the table is retried with backoff; nothing is spawned without its intent on disk; it converges when space returns', async (t) => {
  const { timers, os, loop, store, lines } = setup(desired(program('web')));
  store.failing = true;
  loop.start();
  await timers.settle();
  t.equal(os.spawned.length, 0, 'no spawn before its intent is saved');
  t.match(lines.join('\n'), /a reconcile pass failed \(1 in a row\); programs keep running; trying again in 1s: Error: ENOSPC/);
  await timers.advance(1000);
  t.match(lines.join('\n'), /a reconcile pass failed \(2 in a row\).*trying again in 2s/);
  store.failing = false;
  await timers.advance(2000);
  t.equal(os.spawned.length, 1, 'started once the disk took the intent');
  await timers.advance(1000);
  t.equal(loop.table().get('web:0')!.state, 'RUNNING');
  await loop.close();
});
