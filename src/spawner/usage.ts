import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { sessionMembers } from './process-table.js';

export interface TreeUsage {
  /** Bytes: PSS summed over the tree (shared pages counted once across it). */
  memory: number;
  openFiles: number;
  /** TCP sockets in CLOSE_WAIT (the peer closed; the program never did). */
  closeWait: number;
}

export interface SampleTarget {
  name: string;
  /** Session leader: the instance's own process; its session is its tree. */
  pid: number;
  startTime: number;
  want: { memory: boolean; openFiles: boolean; closeWait: boolean };
}

/**
 * Samples each instance's whole process tree (every process in its session) with one walk
 * of /proc for all of them. Memory is PSS, not RSS: a prefork server's workers share most
 * pages with their parent, and summing RSS would count them once per worker.
 */
export function sampleTrees(targets: SampleTarget[]): Map<string, TreeUsage> {
  const out = new Map<string, TreeUsage>();
  if (targets.length === 0) return out;
  const members = sessionMembers(new Map(targets.map((t) => [t.pid, t.startTime])));
  const closeWaitInodes = targets.some((t) => t.want.closeWait) ? readCloseWaitInodes() : new Set<string>();
  for (const t of targets) {
    const usage: TreeUsage = { memory: 0, openFiles: 0, closeWait: 0 };
    for (const proc of members.get(t.pid) ?? []) {
      if (t.want.memory) usage.memory += readPss(proc.pid);
      if (t.want.openFiles || t.want.closeWait) {
        const fds = listFds(proc.pid);
        usage.openFiles += fds.length;
        if (t.want.closeWait) for (const fd of fds) if (closeWaitInodes.has(socketInode(proc.pid, fd))) usage.closeWait++;
      }
    }
    out.set(t.name, usage);
  }
  return out;
}

function readPss(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // Older kernels have no smaps_rollup: fall back to RSS below.
  }
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]);
    return pages * 4096;
  } catch {
    return 0;
  }
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
