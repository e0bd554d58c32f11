import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { LimitKind } from '../state/desired/schema.js';
import { ProcReader } from './proc-read.js';
import { statCpuTicks } from './proc-stat.js';

/**
 * One value per limit kind: memory in bytes (PSS summed over the tree, shared pages counted
 * once across it), open descriptors, TCP sockets in CLOSE_WAIT (the peer closed; the
 * program never did). A new kind in LIMIT_KINDS must be measured here: the type says so.
 */
export type TreeUsage = Record<LimitKind, number>;

export interface SampleTarget {
  name: string;
  /** Session leader: the instance's own process; its session is its tree. */
  pid: number;
  startTime: number;
  want: Record<LimitKind, boolean>;
}

/**
 * Samples each instance's whole process tree, given its members (the processes of its
 * session). Memory is RSS for a lone process (cheap, and equal to PSS but for shared-library
 * pages) and PSS summed over a tree of several processes, where a prefork server's workers
 * share most pages with their parent and summing RSS would count them once per worker.
 */
export function sampleTrees(targets: SampleTarget[], members: (t: SampleTarget) => number[], reader: ProcReader): Map<string, TreeUsage> {
  const out = new Map<string, TreeUsage>();
  if (targets.length === 0) return out;
  const closeWaitInodes = targets.some((t) => t.want.closeWait) ? readCloseWaitInodes() : new Set<string>();
  for (const t of targets) {
    const tree = members(t);
    const usage: TreeUsage = { memory: 0, openFiles: 0, closeWait: 0 };
    for (const pid of tree) {
      if (t.want.memory) usage.memory += tree.length === 1 ? readRss(pid, reader) : readPss(pid, reader);
      if (t.want.closeWait) {
        const fds = listFds(pid);
        usage.openFiles += fds.length;
        for (const fd of fds) if (closeWaitInodes.has(socketInode(pid, fd))) usage.closeWait++;
      } else if (t.want.openFiles) usage.openFiles += countFds(pid, reader);
    }
    out.set(t.name, usage);
  }
  return out;
}

/**
 * The kernel reports CPU times in USER_HZ ticks, which is 100 on every Linux architecture
 * (the value userspace sees, whatever CONFIG_HZ the kernel runs at).
 */
export const USER_HZ = 100;

/** User plus system CPU time (utime + stime, fields 14 and 15 of /proc/PID/stat) of these processes, in seconds. */
export function cpuSeconds(pids: readonly number[], reader: ProcReader): number {
  let ticks = 0;
  for (const pid of pids) {
    const text = reader.read(`/proc/${pid}/stat`);
    if (text !== null) ticks += statCpuTicks(text);
  }
  return ticks / USER_HZ;
}

/**
 * Open descriptors of a process: since Linux 6.2 the size of /proc/PID/fd is their count
 * (one fstat of the directory kept open, no listing); an older kernel says 0 there, and
 * the directory is listed.
 */
function countFds(pid: number, reader: ProcReader): number {
  const size = reader.sizeKept(pid, 'fd');
  if (size < 0) return 0;
  return size > 0 ? size : listFds(pid).length;
}

function readPss(pid: number, reader: ProcReader): number {
  const text = reader.readKept(pid, 'smaps_rollup');
  const m = text === null ? null : /^Pss:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : readRss(pid, reader);
}

function readRss(pid: number, reader: ProcReader): number {
  const text = reader.readKept(pid, 'statm');
  return text === null ? 0 : Number(text.split(' ')[1]) * 4096;
}

function listFds(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
}

function socketInode(pid: number, fd: string): string {
  try {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
    return m ? m[1]! : '';
  } catch {
    return '';
  }
}

/** Inodes of TCP sockets (v4 and v6) in state 08, CLOSE_WAIT. */
export function readCloseWaitInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '08' && f[9]) inodes.add(f[9]);
    }
  }
  return inodes;
}
