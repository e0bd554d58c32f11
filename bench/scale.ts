/**
 * How cost grows with the number of programs, in-process (the loop with real ports, as the
 * daemon runs it): converge from nothing, a pass with nothing to do, an edit of one program
 * until its new pid exists, a kill -9 until the replacement pid is in the table, and the
 * memory the loop holds per program (heap measured after a full GC, against an empty loop).
 */
import { ReconcileLoop, OsProcessControl, ports, DesiredSource, RecordStore } from './shipped.js';
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { allRunning, type Bench, exists, exit, killToReplacement, pids, sleepers, timeIt, waitFor } from './harness.js';
import type { Project } from '../test/helpers/project.js';

type RecordFigure = (f: { name: string; unit: 'ms' | 'MB' | 'KB'; samples: number[]; goal?: { max: number; text: string } }) => void;

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
    const daemonKills = await daemonKillFigure(bench.project(sleepers(M)), M);
    record({ name: `${M} programs: converge from nothing until every pid exists (in-process loop)`, unit: 'ms', samples: [converge] });
    record({ name: `${M} programs: kill -9 -> replacement spawned (the daemon's own log line, ms clock)`, unit: 'ms', samples: daemonKills, goal: { max: 10, text: '<= 10 ms' } });
    record({ name: `${M} programs: a pass with nothing to do`, unit: 'ms', samples: noop, goal: { max: 20, text: '<= 20 ms' } });
    record({ name: `${M} programs: kill -9 -> replacement pid in the loop's table, read when its pass ends (in-process)`, unit: 'ms', samples: kills });
    record({ name: `${M} programs: an edit of one program -> its new pid (file written, loop told)`, unit: 'ms', samples: edits, goal: { max: 100, text: '<= 100 ms' } });
    record({ name: `${M} programs: heap the loop holds per program`, unit: 'KB', samples: [perProgram], goal: { max: 20, text: '<= 20 KB' } });
    await bench.cleanup();
  }
}

/**
 * kill -9 of one program under a real daemon, until the daemon logs the replacement's start
 * (it logs right after the spawn, with a millisecond timestamp): polling a table of thousands
 * of records from outside would measure the polling.
 */
export async function daemonKillFigure(p: Project, M: number): Promise<number[]> {
  const d = p.daemon();
  await waitFor(`${M} pids under the daemon`, () => allRunning(p, M), 120_000, 50);
  await waitFor('settled', () => (d.log().match(/: RUNNING \(/g) ?? []).length >= M, 60_000, 50);
  const samples: number[] = [];
  for (let k = 0; k < 10; k++) {
    const name = `s${(k * 41 + 3) % M}:0`;
    const old = pids(p).get(name)!;
    const seen = d.log().length;
    const t0 = Date.now();
    process.kill(old!, 'SIGKILL');
    const line = (await waitFor('the replacement started', () => d.log().slice(seen).split('\n').find((l) => l.includes(`${name}: started pid`)), 10_000, 1)) as string;
    samples.push(Date.parse(line.slice(0, 24)) - t0);
    await waitFor('running again', () => d.log().slice(seen).includes(`${name}: RUNNING`), 10_000, 20);
  }
  d.kill('SIGTERM');
  await exit(d);
  return samples;
}
