import { RecordStore } from './shipped.js';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { exited, Project, waitFor } from '../test/helpers/project.js';

export { waitFor };

/** Cleanup registry: every project a benchmark makes is torn down, also on Ctrl-C. */
export class Bench {
  private readonly cleanups: (() => void | Promise<void>)[] = [];

  project(yaml: string): Project {
    return new Project({ teardown: (fn) => this.cleanups.push(fn) }, yaml);
  }

  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) await fn();
  }
}

export function sleepers(n: number, extra = ''): string {
  let out = 'programs:\n';
  for (let i = 0; i < n; i++) out += `  s${i}:\n    command: [sleep, '100000']\n    env: { TEND_TEST_MARK: '@MARK@' }\n${extra}`;
  return out;
}

export function exists(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** The process table as the daemon last wrote it (read directly: faster than `tend status`). */
export function pids(p: Project): Map<string, number | null> {
  try {
    return new Map([...new RecordStore(p.stateDir).load().values()].map((r) => [r.name, r.pid]));
  } catch {
    return new Map(); // read while the table was replaced: the next look sees it
  }
}

/** Instance name -> pid from a table file shaped like instances.json. */
export function pidsIn(file: string): Map<string, number | null> {
  try {
    const t = JSON.parse(readFileSync(file, 'utf8')) as { instances: { name: string; pid: number | null }[] };
    return new Map(t.instances.map((i) => [i.name, i.pid]));
  } catch {
    return new Map();
  }
}

/**
 * A process's resident memory split by where it comes from: the pages of the node binary
 * (code, clean, shared with every other Node process on the host) and anonymous memory
 * (the heaps: what the process itself costs).
 */
export function memoryMb(pid: number): { rss: number; binary: number; anonymous: number } {
  const binary = realpathSync(process.execPath);
  let inBinary = false;
  let rss = 0;
  let binaryKb = 0;
  let anonymous = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      inBinary = head[1] === binary;
      continue;
    }
    const field = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (!field) continue;
    const kb = Number(field[2]);
    if (field[1] === 'Anonymous') anonymous += kb;
    else {
      rss += kb;
      if (inBinary) binaryKb += kb;
    }
  }
  return { rss: rss / 1024, binary: binaryKb / 1024, anonymous: anonymous / 1024 };
}

/**
 * CPU time a process has used, in ms, over all its threads (V8's GC helpers included):
 * the scheduler's exact run time from /proc/PID/task/TID/schedstat. utime/stime in
 * /proc/PID/stat come in 10 ms ticks and are sampled at the tick, which misjudges a
 * process that wakes briefly a few times a minute by tens of ms.
 */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      // a thread that just ended
    }
  }
  return ns / 1e6;
}

export function allRunning(p: Project, n: number): boolean {
  const table = pids(p);
  if (table.size !== n) return false;
  for (const pid of table.values()) if (pid === null || !exists(pid)) return false;
  return true;
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function stats(samples: number[]): { median: number; min: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

export { exited as exit };

/** The floor: how long Node takes to spawn `sleep` until its pid shows in /proc. */
export async function spawnFloor(): Promise<number> {
  const t0 = performance.now();
  const child = spawn('sleep', ['100'], { detached: true, stdio: 'ignore' });
  await waitFor('pid', () => child.pid !== undefined && exists(child.pid), 5000, 0);
  const ms = performance.now() - t0;
  child.kill('SIGKILL');
  await exited(child);
  return ms;
}

/**
 * SIGKILLs the process `name` has in `table`, and times until the table names a live
 * replacement (polled without pause). Both kill figures, tend's and the reference's, use it.
 */
export async function killToReplacement(table: () => { get(name: string): number | null | undefined }, name: string): Promise<number> {
  const old = table().get(name)!;
  const t0 = performance.now();
  process.kill(old, 'SIGKILL');
  await waitFor('replacement', () => {
    const now = table().get(name);
    return now !== null && now !== undefined && now !== old && exists(now);
  }, 10_000, 0);
  return performance.now() - t0;
}

/**
 * What any Node supervisor pays to bring a killed program back, seen by the same observer
 * as tend's figure: a minimal restarter (spawn; on exit, spawn again and write the pid to a
 * table file by temp + rename), its child killed with SIGKILL, the replacement's pid read
 * from its table. No records, no checks: the like-for-like floor for tend's kill figure.
 */
export async function restarterFloor(p: Project, kills: number): Promise<number[]> {
  const table = `${p.dir}/restarter.json`;
  const script = `
    const { spawn } = require('node:child_process');
    const fs = require('node:fs');
    const start = () => {
      const child = spawn('sleep', ['100000'], { detached: true, stdio: 'ignore' });
      fs.writeFileSync(process.argv[1] + '.tmp', JSON.stringify({ instances: [{ name: 'x', pid: child.pid }] }));
      fs.renameSync(process.argv[1] + '.tmp', process.argv[1]);
      child.on('exit', start);
    };
    start();`;
  const restarter = spawn(process.execPath, ['-e', script, table], { stdio: 'ignore', env: { ...process.env, TEND_TEST_MARK: p.mark } });
  const samples: number[] = [];
  try {
    await waitFor('first child', () => pidsIn(table).get('x'), 10_000, 5);
    for (let k = 0; k < kills; k++) samples.push(await killToReplacement(() => pidsIn(table), 'x'));
  } finally {
    restarter.kill('SIGKILL');
    await exited(restarter);
  }
  return samples;
}
