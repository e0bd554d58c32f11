/**
 * Where the time of a kill -9 -> replacement goes, in-process: the loop with real ports
 * and 100 programs, each stage of the pass timed (`npm run build && node --import=tsx
 * bench/kill-path.ts`). A profile, for the README's account of the restart path.
 */
import { ReconcileLoop, OsProcessControl, ports, DesiredSource, RecordStore } from './shipped.js';
import { allRunning, Bench, killToReplacement, sleepers, stats, waitFor } from './harness.js';

const N = Number(process.argv[2] ?? 100);
const bench = new Bench();
const p = bench.project(sleepers(N));
const spent = new Map<string, number[]>();
const timed = <T extends object>(obj: T, name: keyof T & string, label: string) => {
  const fn = (obj[name] as (...a: unknown[]) => unknown).bind(obj);
  (obj as Record<string, unknown>)[name] = (...a: unknown[]) => {
    const t0 = performance.now();
    const r = fn(...a);
    const done = () => spent.get(label)!.push(performance.now() - t0);
    if (!spent.has(label)) spent.set(label, []);
    if (r instanceof Promise) return r.finally(done);
    done();
    return r;
  };
};
const store = new RecordStore(p.stateDir);
const desired = new DesiredSource(p.file, p.stateDir);
const control = new OsProcessControl(p.stateDir);
timed(store, 'save', 'table save');
timed(desired, 'read', 'desired read');
timed(control, 'spawn', 'spawn');
timed(control, 'observe', 'observe /proc');
const lines: [number, string][] = [];
const loop = new ReconcileLoop({ desired, store, ...ports(control), clock: { now: () => Date.now() }, log: (l) => lines.push([performance.now(), l]) });
timed(loop as never, 'pass' as never, 'pass');
loop.start();
await waitFor('all up', () => allRunning(p, N), 30_000, 5);
await loop.settle(30_000);
spent.clear();
const kills: number[] = [];
const pidsInLoop = () => ({ get: (name: string) => loop.table().get(name)?.pid });
for (let k = 0; k < 20; k++) {
  lines.length = 0;
  const t0 = performance.now();
  kills.push(await killToReplacement(pidsInLoop, `s${(k * 7) % N}:0`));
  if (k === 19) for (const [at, l] of lines) console.log(`  +${(at - t0).toFixed(2)} ms ${l.slice(0, 100)}`);
  await loop.settle(5000);
}
await loop.close();
const s = stats(kills);
console.log(`kill -9 -> new pid in the table (in-process, ${N} programs): median ${s.median.toFixed(2)} ms, min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)}`);
for (const [label, xs] of spent) {
  const st = stats(xs);
  console.log(`  ${label}: n=${xs.length}, median ${st.median.toFixed(2)} ms, max ${st.max.toFixed(2)}`);
}
await bench.cleanup();
