/**
 * A CPU profile of the loop at scale (not part of `npm run bench`): converge M programs,
 * then profile no-op passes, an edit of one program and a kill -9, each on its own.
 * node --import=tsx bench/profile-scale.ts 5000 /tmp/out  -> /tmp/out/{noop,edit,kill}.cpuprofile
 */
import { ReconcileLoop, OsProcessControl, ports, DesiredSource, RecordStore } from './shipped.js';
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { allRunning, Bench, exists, killToReplacement, sleepers, timeIt, waitFor } from './harness.js';

const M = Number(process.argv[2] ?? 5000);
const out = process.argv[3] ?? '/tmp';
const bench = new Bench();
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
async function profiled(name: string, fn: () => Promise<unknown>): Promise<void> {
  await session.post('Profiler.start');
  const ms = await timeIt(fn);
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(`${out}/${name}.cpuprofile`, JSON.stringify(profile));
  process.stderr.write(`${name}: ${ms.toFixed(1)} ms\n`);
}
try {
  const p = bench.project(sleepers(M));
  const loop = new ReconcileLoop({ desired: new DesiredSource(p.file, p.stateDir), store: new RecordStore(p.stateDir), ...ports(new OsProcessControl(p.stateDir)), clock: { now: () => Date.now() }, log: () => {} });
  loop.start();
  await waitFor(`${M} pids`, () => allRunning(p, M), 300_000, 50);
  await loop.settle(60_000);
  for (let i = 0; i < 5; i++) await loop.pass();
  await profiled('noop', async () => {
    for (let i = 0; i < 10; i++) await loop.pass();
  });
  await profiled('edit', async () => {
    const old = loop.table().get('s1:0')!.pid!;
    writeFileSync(`${p.file}.tmp`, sleepers(M).replace("  s1:\n    command: [sleep, '100000']\n", "  s1:\n    command: [sleep, '200001']\n").replaceAll('@MARK@', p.mark));
    renameSync(`${p.file}.tmp`, p.file);
    loop.requestPass();
    await waitFor('edited', () => {
      const now = loop.table().get('s1:0')?.pid;
      return now != null && now !== old && exists(now);
    }, 20_000, 0);
  });
  await loop.settle(20_000);
  await profiled('kill', async () => {
    await killToReplacement(() => ({ get: (name: string) => loop.table().get(name)?.pid }), 's7:0');
    await loop.settle(10_000);
  });
  await loop.close();
} finally {
  await bench.cleanup();
}
