import type { ProcessControl, ProcessRef, SpawnOutcome, SpawnRequest } from '../reconciler/process-control.js';
import type { InstanceRecord } from '../state/records.js';
import { verify, type ProcessIdentity } from './identity.js';
import { readBootId } from './proc-stat.js';
import { processesByToken, sessionMembers } from './process-table.js';
import { rotateIfLarge, type RotationSpec } from './log-rotate.js';
import { spawnInstance } from './spawn.js';
import { runProbe, type ProbeResult } from './probe.js';
import { sampleTrees, type SampleTarget, type TreeUsage } from './usage.js';
import type { ProbeSpec } from '../state/schema.js';

/** The real ProcessControl: Linux processes, /proc and signals. */
export class OsProcessControl implements ProcessControl {
  readonly bootId = readBootId();

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
      if (!alive && id.bootId === this.bootId) {
        deadSessions.set(id.pid, id.startTime);
        deadBySession.set(id.pid, r.name);
      }
    }
    for (const [session, members] of sessionMembers(deadSessions)) {
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
    for (const member of sessionMembers(new Map([[id.pid, id.startTime]])).get(id.pid) ?? []) {
      sent = trySignal(member.pid, signal) || sent;
    }
    return sent;
  }

  kill(record: InstanceRecord): void {
    const id = identityOf(record);
    if (id && id.bootId === this.bootId) {
      if (verify(id, this.bootId)) trySignal(-id.pid, 'SIGKILL');
      for (const member of sessionMembers(new Map([[id.pid, id.startTime]])).get(id.pid) ?? []) trySignal(member.pid, 'SIGKILL');
    }
    this.sweep(new Set([record.token]));
  }

  rotateLog(file: string, spec: RotationSpec, record: InstanceRecord): boolean {
    return rotateIfLarge(file, spec, (signal) => void this.signal(record, signal));
  }

  sample(targets: { name: string; record: InstanceRecord; want: SampleTarget['want'] }[]): Map<string, TreeUsage> {
    const live = targets.filter((t) => t.record.pid !== null && t.record.startTime !== null);
    return sampleTrees(live.map((t) => ({ name: t.name, pid: t.record.pid!, startTime: t.record.startTime!, want: t.want })));
  }

  probe(probe: ProbeSpec, timeoutMs: number, cwd: string): Promise<ProbeResult> {
    return runProbe(probe, timeoutMs, cwd);
  }

  locate(tokens: ReadonlySet<string>): Map<string, ProcessRef> {
    const found = new Map<string, ProcessRef>();
    for (const [token, stats] of processesByToken(tokens)) {
      const leader = stats.find((s) => s.pid === s.session);
      if (leader) found.set(token, { pid: leader.pid, pgid: leader.pgrp, startTime: leader.startTime, bootId: this.bootId });
    }
    return found;
  }

  sweep(tokens: ReadonlySet<string>): number {
    let killed = 0;
    for (const stats of processesByToken(tokens).values()) {
      for (const s of stats) if (trySignal(s.pid, 'SIGKILL')) killed++;
    }
    return killed;
  }
}

function identityOf(r: InstanceRecord): ProcessIdentity | null {
  return r.pid !== null && r.startTime !== null && r.bootId !== null ? { pid: r.pid, startTime: r.startTime, bootId: r.bootId } : null;
}

function trySignal(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch {
    return false;
  }
}
