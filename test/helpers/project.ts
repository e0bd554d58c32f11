import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstanceStatus } from '../../src/reconciler/status.js';
import { collectStatus as statusRowsOf } from '../../src/cli/status.js';
import { resolveGlobals } from '../../src/cli/context.js';
import { RecordStore } from '../../src/state/records/records.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Polls `check` until it returns a truthy value or the deadline passes. Never a bare sleep. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 20): Promise<NonNullable<Awaited<T>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<Awaited<T>>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => (everyMs > 0 ? setTimeout(r, everyMs) : setImmediate(r)));
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/**
 * A throwaway project: a directory with state.yaml and its state directory. Every
 * program it runs carries TEND_TEST_MARK in its environment, so teardown finds and
 * kills, by PID, every process the test caused, even one tend lost track of.
 */
export class Project {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'tend-test-'));
  readonly file = path.join(this.dir, 'state.yaml');
  readonly stateDir = path.join(this.dir, '.tend');
  readonly mark = path.basename(this.dir);
  private readonly daemons = new Set<ChildProcess>();
  /** Commands name the state directory, not the file (a `reconcile --git` project: the file is its link). */
  byStateDir = false;

  constructor(t: Teardown, yaml?: string) {
    if (yaml !== undefined) this.write(yaml);
    t.teardown(() => this.cleanup());
  }

  /** Writes state.yaml atomically (temp + rename, as editors and git do); `@MARK@` is replaced by the test mark. */
  write(yaml: string): void {
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, yaml.replaceAll('@MARK@', this.mark));
    renameSync(temp, this.file);
  }

  run(args: string[], timeoutMs = 30_000, uid?: number): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...this.target(), ...args], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'], ...(uid === undefined ? {} : { uid, gid: uid }) });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`tend ${args.join(' ')} took over ${timeoutMs}ms\n${stderr}`));
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Starts `tend reconcile` in the background; its log accumulates in `log()`. */
  daemon(extra: string[] = []): ChildProcess & { log: () => string } {
    const child = spawn(process.execPath, [CLI, ...this.target(), 'reconcile', ...extra], { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (c) => (log += c));
    this.daemons.add(child);
    child.on('exit', () => this.daemons.delete(child));
    return Object.assign(child, { log: () => log });
  }

  /**
   * What `tend status --json` prints, read in-process by the same code (the table and
   * /proc): a poll of it costs microseconds, not the ~300 ms start of a Node process.
   * Tests of the status command itself run the CLI.
   */
  async status(): Promise<InstanceStatus[]> {
    const globals = this.byStateDir ? resolveGlobals(undefined, this.stateDir, {}, this.dir) : { file: this.file, stateDir: this.stateDir };
    return JSON.parse(JSON.stringify(statusRowsOf(globals))) as InstanceStatus[];
  }

  private target(): string[] {
    return this.byStateDir ? ['--state-dir', this.stateDir] : ['--file', this.file];
  }

  table(): { instances: { name: string; pid: number | null; state: string; token: string }[] } {
    try {
      return { instances: [...new RecordStore(this.stateDir).load().values()] };
    } catch {
      return { instances: [] };
    }
  }

  /** Live processes carrying this project's mark: [pid, TEND_PROGRAM:TEND_REPLICA, is session leader]. */
  processes(): { pid: number; instance: string; leader: boolean }[] {
    const found: { pid: number; instance: string; leader: boolean }[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
        if (!env.includes(`TEND_TEST_MARK=${this.mark}`)) continue;
        const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (fields[0] === 'Z') continue;
        const get = (k: string) => env.find((e) => e.startsWith(`${k}=`))?.slice(k.length + 1) ?? '?';
        found.push({ pid: Number(entry), instance: `${get('TEND_PROGRAM')}:${get('TEND_REPLICA')}`, leader: Number(fields[3]) === Number(entry) });
      } catch {
        // Gone while we looked, or not ours to read.
      }
    }
    return found;
  }

  async cleanup(): Promise<void> {
    for (const d of this.daemons) d.kill('SIGKILL');
    for (const p of this.processes()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await waitFor('test processes to end', () => this.processes().length === 0, 5000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Resolves when a child process has ended (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A program that grows by 8 MB every 50 ms until its memory limit restarts it (the test mark, and `extra` lines, included). */
export function leaker(name: string, extra = ''): string {
  return `  ${name}:
    command: [node, -e, "const a = []; setInterval(() => a.push(Buffer.alloc(8e6, 1)), 50)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    limits: { memory: 150Mi, interval: 200ms, samples: 2 }
${extra}`;
}

/** A program entry for state.yaml that sleeps until stopped and carries the test mark. */
export function sleeper(name: string, extra = ''): string {
  return `  ${name}:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    stop: { timeout: 2s }
${extra}`;
}
