import type { ProcessControl, ProcessRef, SpawnOutcome, SpawnRequest } from '../reconciler/process-control.js';
import type { InstanceRecord } from '../state/records.js';
import { verify, type ProcessIdentity } from './identity.js';
import { readBootId } from './proc-stat.js';
import { ProcReader } from './proc-read.js';
import { processesByToken, sessionMembers } from './process-table.js';
import { rotateChecked, type RotationSpec } from './log-rotate.js';
import { spawnInstance } from './spawn.js';
import { runProbe, type ProbeResult } from './probe.js';
import { sampleTrees, type SampleTarget, type TreeUsage } from './usage.js';
import type { ProbeSpec } from '../state/schema.js';

/** The real ProcessControl: Linux processes, /proc and signals. */
/** How long the member list of a process tree is reused between samples. */
const TREE_TTL_MS = 5000;

export class OsProcessControl implements ProcessControl {
  readonly bootId = readBootId();
  private readonly reader = new ProcReader();
  private readonly trees = new Map<number, { startTime: number; at: number; members: number[] }>();

  spawn(request: SpawnRequest, onExit: (code: number | null, signal: string | null) => void): Promise<SpawnOutcome> {
    return spawnInstance(request, this.bootId, onExit);
  }

  observe(records: Iterable<InstanceRecord>): Map<string, { alive: boolean; lingering: number }> {
    const result = new Map<string, { alive: boolean; lingering: number }>();
    const deadSessions = new Map<number, number>();
    const deadBySession = new Map<number, string>();
    for (const r of records) {
      const id = identityOf(r);
      if (!id) continue;
      const alive = verify(id, this.bootId) !== null;
      result.set(r.name, { alive, lingering: 0 });
      // An empty process group (one kill(2), the common case) spares a walk of all /proc.
      // A member that moved to a group of its own is found by the token sweep after the pass.
      if (!alive && id.bootId === this.bootId && groupExists(id.pid)) {
        deadSessions.set(id.pid, id.startTime);
        deadBySession.set(id.pid, r.name);
      }
    }
    for (const [session, members] of sessionMembers(deadSessions, this.reader)) {
      result.set(deadBySession.get(session)!, { alive: false, lingering: members.length });
    }
    return result;
  }

  allExist(pids: readonly number[]): boolean {
    for (const pid of pids) {
      try {
        process.kill(pid, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
      }
    }
    return true;
  }

  signal(record: InstanceRecord, signal: NodeJS.Signals): boolean {
    const id = identityOf(record);
    if (!id) return false;
    if (verify(id, this.bootId)) return trySignal(-id.pid, signal);
    let sent = false;
    for (const member of sessionMembers(new Map([[id.pid, id.startTime]]), this.reader).get(id.pid) ?? []) {
      sent = trySignal(member.pid, signal) || sent;
    }
    return sent;
  }

  kill(record: InstanceRecord): void {
    const id = identityOf(record);
    if (id && id.bootId === this.bootId) {
      if (verify(id, this.bootId)) trySignal(-id.pid, 'SIGKILL');
      for (const member of sessionMembers(new Map([[id.pid, id.startTime]]), this.reader).get(id.pid) ?? []) trySignal(member.pid, 'SIGKILL');
    }
    this.sweep(new Set([record.token]));
  }

  rotateLog(file: string, spec: RotationSpec, record: InstanceRecord): { rotated: boolean; size: number } {
    return rotateChecked(file, spec, (signal) => void this.signal(record, signal));
  }

  sample(targets: { name: string; record: InstanceRecord; want: SampleTarget['want'] }[]): Map<string, TreeUsage> {
    const live = targets
      .filter((t) => t.record.pid !== null && t.record.startTime !== null)
      .map((t) => ({ name: t.name, pid: t.record.pid!, startTime: t.record.startTime!, want: t.want }));
    // Tree membership (a walk of all /proc) is refreshed every TREE_TTL_MS; samples in between read only the members.
    const now = Date.now();
    const stale = live.filter((t) => {
      const cached = this.trees.get(t.pid);
      return !cached || cached.startTime !== t.startTime || now - cached.at >= TREE_TTL_MS;
    });
    if (stale.length > 0) {
      const found = sessionMembers(new Map(stale.map((t) => [t.pid, t.startTime])), this.reader);
      for (const t of stale) this.trees.set(t.pid, { startTime: t.startTime, at: now, members: (found.get(t.pid) ?? []).map((m) => m.pid) });
    }
    const livePids = new Set(live.map((t) => t.pid));
    for (const pid of this.trees.keys()) if (!livePids.has(pid)) this.trees.delete(pid);
    return sampleTrees(live, (t) => this.trees.get(t.pid)?.members ?? [t.pid], this.reader);
  }

  probe(probe: ProbeSpec, timeoutMs: number, cwd: string): Promise<ProbeResult> {
    return runProbe(probe, timeoutMs, cwd);
  }

  locate(tokens: ReadonlySet<string>): Map<string, ProcessRef> {
    const found = new Map<string, ProcessRef>();
    for (const [token, stats] of processesByToken(tokens, this.reader)) {
      const leader = stats.find((s) => s.pid === s.session);
      if (leader) found.set(token, { pid: leader.pid, pgid: leader.pgrp, startTime: leader.startTime, bootId: this.bootId });
    }
    return found;
  }

  sweep(tokens: ReadonlySet<string>): number {
    let killed = 0;
    for (const stats of processesByToken(tokens, this.reader).values()) {
      for (const s of stats) if (trySignal(s.pid, 'SIGKILL')) killed++;
    }
    return killed;
  }
}

function identityOf(r: InstanceRecord): ProcessIdentity | null {
  return r.pid !== null && r.startTime !== null && r.bootId !== null ? { pid: r.pid, startTime: r.startTime, bootId: r.bootId } : null;
}

/** Whether any process (a zombie included) is in process group `pgid`. */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function trySignal(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch {
    return false;
  }
}
