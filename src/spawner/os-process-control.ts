import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { ProcessControl, ProcessRef, RebuiltInstance, SpawnOutcome, SpawnRequest } from '../runtime/ports.js';
import type { InstanceRecord } from '../state/records/records.js';
import { verify, type ProcessIdentity } from './identity.js';
import { isLiveState, readBootId, statState, type ProcStat } from './proc-stat.js';
import { ProcReader } from './proc-read.js';
import { processesByToken, processesOfStateDir, sessionMembers } from './process-table.js';
import { rotateChecked, type RotationSpec } from './log-rotate.js';
import { spawnInstance } from './spawn.js';
import { runProbe, type ProbeResult } from './probe.js';
import { cpuSeconds, sampleTrees, type SampleTarget, type TreeUsage } from './usage.js';
import type { ProbeSpec } from '../state/desired/schema.js';

/** The real ProcessControl: Linux processes, /proc and signals. */
/** How long the member list of a process tree is reused between samples. */
const TREE_TTL_MS = 5000;

export class OsProcessControl implements ProcessControl {
  readonly bootId = readBootId();
  private readonly reader = new ProcReader();
  private readonly trees = new Map<number, { startTime: number; at: number; members: number[] }>();
  private readonly stateDir: string | null;

  /** @param stateDir the state directory whose processes these are (passed to them as TEND_STATE_DIR). Default none. */
  constructor(stateDir: string | null = null) {
    this.stateDir = stateDir === null ? null : realStateDir(stateDir);
  }

  spawn(request: SpawnRequest, onExit: (code: number | null, signal: string | null) => void): Promise<SpawnOutcome> {
    return spawnInstance(request, this.bootId, onExit, this.stateDir);
  }

  rebuild(): RebuiltInstance[] {
    if (this.stateDir === null) return [];
    return processesOfStateDir(this.stateDir, this.reader).map((p) => ({
      program: p.program,
      replica: p.replica,
      token: p.token,
      process: { pid: p.stat.pid, startTime: p.stat.startTime, bootId: this.bootId },
    }));
  }

  observe(records: Iterable<InstanceRecord>): Map<string, { alive: boolean; lingering: number }> {
    const result = new Map<string, { alive: boolean; lingering: number }>();
    const deadSessions = new Map<number, number>();
    const deadBySession = new Map<number, string>();
    const deadTokens = new Map<number, string>();
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
        deadTokens.set(id.pid, r.token);
      }
    }
    for (const [session, members] of sessionMembers(deadSessions, this.reader, deadTokens)) {
      result.set(deadBySession.get(session)!, { alive: false, lingering: members.length });
    }
    return result;
  }

  /** A zombie (state Z or X) is dead here: a PID 1 that reaps late must not hide an exit. */
  allExist(pids: readonly number[]): boolean {
    // Runs every second while anything is adopted: read into the reused buffer, no allocation.
    for (const pid of pids) {
      const n = this.reader.readBytes(`/proc/${pid}/stat`);
      if (n < 0 || !isLiveState(statState(this.reader.bytes, n))) return false;
    }
    return true;
  }

  /**
   * To the whole process group (`group`, how programs are stopped) or to the main process
   * only (`process`, as supervisorctl signal: gunicorn's HUP must reach its master alone).
   * Only a verified process is signalled as such; once the leader is gone, only processes
   * that carry the instance's token are.
   */
  signal(record: InstanceRecord, signal: NodeJS.Signals, target: 'group' | 'process' = 'group'): boolean {
    const id = identityOf(record);
    if (!id) return false;
    if (verify(id, this.bootId)) return trySignal(target === 'group' ? -id.pid : id.pid, signal);
    if (target === 'process') return false;
    let sent = false;
    for (const member of this.orphans(id, record.token)) sent = trySignal(member.pid, signal) || sent;
    return sent;
  }

  kill(record: InstanceRecord): void {
    const id = identityOf(record);
    if (id && id.bootId === this.bootId) {
      const alive = verify(id, this.bootId) !== null;
      if (alive) trySignal(-id.pid, 'SIGKILL');
      for (const member of this.orphans(id, alive ? null : record.token)) trySignal(member.pid, 'SIGKILL');
    }
    this.sweep(new Set([record.token]));
  }

  /**
   * The members of an instance's session. While its leader lives, its number cannot lead
   * another session, so every member is ours; once it is dead, only those with its token.
   */
  private orphans(id: ProcessIdentity, token: string | null): ProcStat[] {
    return sessionMembers(new Map([[id.pid, id.startTime]]), this.reader, token === null ? undefined : new Map([[id.pid, token]])).get(id.pid) ?? [];
  }

  rotateLog(file: string, spec: RotationSpec): { rotated: boolean; size: number } {
    return rotateChecked(file, spec);
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
    const members = new Set<number>();
    for (const t of this.trees.values()) for (const m of t.members) members.add(m);
    this.reader.keepOnly(members);
    return sampleTrees(live, (t) => this.trees.get(t.pid)?.members ?? [t.pid], this.reader);
  }

  /**
   * Everything measured of each live instance's tree (memory as its limit measures it,
   * fds, CLOSE_WAIT sockets, CPU time): for status and metrics, whatever limits are set.
   * Use its own OsProcessControl: the tree cache follows the instances last measured.
   */
  measure(records: Iterable<InstanceRecord>, closeWait: (r: InstanceRecord) => boolean = () => false): Map<string, TreeUsage & { cpuSeconds: number }> {
    // CLOSE_WAIT sockets cost a readlink per descriptor: counted only where a limit asks for them.
    const plain = { memory: true, openFiles: true, closeWait: false };
    const withSockets = { ...plain, closeWait: true };
    const targets = [...records].filter((r) => r.pid !== null).map((record) => ({ name: record.name, record, want: closeWait(record) ? withSockets : plain }));
    const usage = this.sample(targets);
    return new Map(targets.flatMap(({ name, record }) => {
      const u = usage.get(name);
      return u ? [[name, { ...u, cpuSeconds: cpuSeconds(this.trees.get(record.pid!)?.members ?? [record.pid!], this.reader) }] as const] : [];
    }));
  }

  probe(probe: ProbeSpec, timeoutMs: number, cwd: string): Promise<ProbeResult> {
    return runProbe(probe, timeoutMs, cwd);
  }

  locate(tokens: ReadonlySet<string>): Map<string, ProcessRef> {
    const found = new Map<string, ProcessRef>();
    for (const [token, stats] of processesByToken(tokens, this.reader)) {
      const leader = stats.find((s) => s.pid === s.session);
      if (leader) found.set(token, { pid: leader.pid, startTime: leader.startTime, bootId: this.bootId });
    }
    return found;
  }

  sweep(tokens: ReadonlySet<string>, skip?: ReadonlySet<number>): number {
    let killed = 0;
    for (const stats of processesByToken(tokens, this.reader, skip).values()) {
      for (const s of stats) if (trySignal(s.pid, 'SIGKILL')) killed++;
    }
    return killed;
  }
}

function realStateDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return path.resolve(dir);
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
