/**
 * How cost grows with the number of programs, in-process (the loop with real ports, as the
 * daemon runs it): converge from nothing, a pass with nothing to do, an edit of one program
 * until its new pid exists, a kill -9 until the replacement pid is in the table, and the
 * memory the loop holds per program (heap measured after a full GC, against an empty loop).
 */
import { ReconcileLoop, OsProcessControl, ports, DesiredSource, RecordStore } from './shipped.js';
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { allRunning, type Bench, exists, exit, killToReplacement, memoryMb, pids, sleepers, stats, timeIt, waitFor } from './harness.js';
import type { Project } from '../test/helpers/project.js';

type RecordFigure = (f: { name: string; unit: 'ms' | 'MB' | 'KB'; samples: number[]; goal?: { max: number; text: string; worst?: number } }) => void;

/** Heap in use after a full collection, in bytes (needs --expose-gc; else what the heap holds now). */
function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return v8.getHeapStatistics().used_heap_size;
}

export async function scaleFigures(bench: Bench, record: RecordFigure, sizes: number[]): Promise<void> {
  const base = heapUsed();
  for (const M of sizes) {
    const p = bench.project(sleepers(M));
    const loop = new ReconcileLoop({
      desired: new DesiredSource(p.file, p.stateDir),
      store: new RecordStore(p.stateDir),
      ...ports(new OsProcessControl(p.stateDir)),
      clock: { now: () => Date.now() },
      log: () => {},
    });
    const converge = await timeIt(async () => {
      loop.start();
      await waitFor(`${M} pids`, () => allRunning(p, M), 120_000, 20);
    });
    await loop.settle(60_000);
    const noop: number[] = [];
    for (let i = 0; i < 15; i++) noop.push(await timeIt(() => loop.pass()));
    const perProgram = (heapUsed() - base) / M / 1024;
    // kill -9: the replacement's pid in the table the loop keeps (read in-process, polled every turn).
    const kills: number[] = [];
    const pidsInLoop = () => ({ get: (name: string) => loop.table().get(name)?.pid });
    for (let k = 0; k < 10; k++) {
      kills.push(await killToReplacement(pidsInLoop, `s${(k * 37) % M}:0`));
      await loop.settle(10_000);
    }
    // An edit of one program (a new argument), written atomically: until its new pid exists.
    const edits: number[] = [];
    for (let e = 0; e < 5; e++) {
      const old = loop.table().get('s1:0')!.pid!;
      const text = sleepers(M).replace("  s1:\n    command: [sleep, '100000']\n", `  s1:\n    command: [sleep, '${200_000 + e}']\n`);
      const t0 = performance.now();
      writeFileSync(`${p.file}.tmp`, text.replaceAll('@MARK@', p.mark));
      const { renameSync } = await import('node:fs');
      renameSync(`${p.file}.tmp`, p.file);
      loop.requestPass();
      await waitFor('edited program restarted', () => {
        const now = loop.table().get('s1:0')?.pid;
        return now != null && now !== old && exists(now);
      }, 20_000, 0);
      edits.push(performance.now() - t0);
      await loop.settle(20_000);
    }
    await loop.close();
    await bench.cleanup();
    const daemon = await daemonKillFigure(bench.project(sleepers(M)), M, M === 1000);
    await bench.cleanup();
    const big = M >= 5000;
    record({ name: `${M} programs: converge from nothing until every pid exists (daemon)`, unit: 'ms', samples: [daemon.converge] });
    record({ name: `${M} programs: converge from nothing until every pid exists (in-process loop)`, unit: 'ms', samples: [converge] });
    record({ name: `${M} programs: kill -9 -> replacement spawned (the daemon's own log line, ms clock)`, unit: 'ms', samples: daemon.kills, ...(M === 1000 ? { goal: { max: 10, text: '<= 10 ms' } } : {}) });
    if (daemon.stopGone !== null) record({ name: `${M} programs: tend stop all, until every process is gone`, unit: 'ms', samples: [daemon.stopGone], goal: { max: 300, text: '<= 300 ms' } });
    record({ name: `${M} programs: a pass with nothing to do (in-process)`, unit: 'ms', samples: noop, ...(big ? { goal: { max: 20, text: '<= 20 ms' } } : {}) });
    record({ name: `${M} programs: kill -9 -> replacement pid in the loop's table, read when its pass ends (in-process)`, unit: 'ms', samples: kills });
    record({ name: `${M} programs: an edit of one program -> its new pid (file written, loop told; in-process)`, unit: 'ms', samples: edits, ...(big ? { goal: { max: 100, text: '<= 100 ms' } } : {}) });
    record({ name: `${M} programs: heap the loop holds per program`, unit: 'KB', samples: [perProgram] });
    record({ name: `${M} programs: daemon RSS`, unit: 'MB', samples: [daemon.rss] });
    // Per program: what the daemon's RSS grows by from the next smaller size measured (100 in run.ts).
    const smaller = [...daemonRssBySize.keys()].filter((n) => n < M).sort((a, b) => b - a)[0];
    if (smaller !== undefined) {
      const from = stats(daemonRssBySize.get(smaller)!).median;
      record({ name: `daemon RSS per program, ${smaller} -> ${M} programs`, unit: 'KB', samples: [((daemon.rss - from) * 1024) / (M - smaller)], goal: { max: 20, text: '<= 20 KB' } });
    }
    await bench.cleanup();
  }
}

/** How long the daemon's RSS is watched at rest (its lowest reading counts). */
const RSS_QUIET_MS = process.argv.includes('--quick') ? 3000 : 30_000;

/** The daemon's RSS with M programs, by M, as daemonKillFigure found it (for the per-program figure). */
export const daemonRssBySize = new Map<number, number[]>();

/**
 * Under a real daemon with M programs: converge from nothing until every pid exists, kill -9
 * of one program until the daemon logs the replacement's start (it logs right after the
 * spawn, with a millisecond timestamp: polling a table of thousands of records from outside
 * would measure the polling), its RSS at rest (the lowest over RSS_QUIET_MS after the last kill), and with `stopAll`, `tend stop all` from the
 * shell until every process is gone.
 */
export async function daemonKillFigure(p: Project, M: number, stopAll = false): Promise<{ kills: number[]; converge: number; rss: number; stopGone: number | null }> {
  const t0 = performance.now();
  const d = p.daemon();
  await waitFor(`${M} pids under the daemon`, () => allRunning(p, M), 120_000, 50);
  const converge = performance.now() - t0;
  await waitFor('settled', () => (d.log().match(/: RUNNING \(/g) ?? []).length >= M, 60_000, 50);
  const kills: number[] = [];
  for (let k = 0; k < 10; k++) {
    const name = `s${(k * 41 + 3) % M}:0`;
    const old = pids(p).get(name)!;
    const seen = d.log().length;
    const t0 = Date.now();
    process.kill(old!, 'SIGKILL');
    const line = (await waitFor('the replacement started', () => d.log().slice(seen).split('\n').find((l) => l.includes(`${name}: started pid`)), 10_000, 1)) as string;
    kills.push(Date.parse(line.slice(0, 24)) - t0);
    await waitFor('running again', () => d.log().slice(seen).includes(`${name}: RUNNING`), 10_000, 20);
  }
  // At rest, as the 100-program figure is taken: V8's memory reducer gives back what the
  // burst of spawning allocated some 8-20 s after it stops (107 -> 70 MB at 1000 programs),
  // so the lowest reading of a window after the last action is the daemon's resting size.
  let rss = Infinity;
  for (const end = Date.now() + RSS_QUIET_MS; Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 1000)); // measuring at rest, not synchronising
    rss = Math.min(rss, memoryMb(d.pid!).rss);
  }
  daemonRssBySize.set(M, [...(daemonRssBySize.get(M) ?? []), rss]);
  let stopGone: number | null = null;
  if (stopAll) {
    const before = [...pids(p).values()].filter((pid): pid is number => pid !== null);
    const t1 = performance.now();
    const stopped = p.run(['stop', 'all'], 120_000);
    // Checked a slice at a time: a full sweep of thousands of /proc entries takes a while itself.
    let left = before;
    await waitFor('all gone', () => (left = left.filter(exists)).length === 0, 60_000, 0);
    stopGone = performance.now() - t1;
    const r = await stopped;
    if (r.code !== 0) throw new Error(`tend stop all: ${r.stdout}${r.stderr}`);
  }
  d.kill('SIGTERM');
  await exit(d);
  return { kills, converge, rss, stopGone };
}
