import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
    const t = JSON.parse(readFileSync(`${p.stateDir}/instances.json`, 'utf8')) as { instances: { name: string; pid: number | null }[] };
    return new Map(t.instances.map((i) => [i.name, i.pid]));
  } catch {
    return new Map();
  }
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU time (user + system) a process has used, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
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
