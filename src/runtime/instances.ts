import { hasProcess } from '../state/records/states.js';
import { instanceName, instanceProcess, type DesiredState } from '../state/desired/schema.js';
import { blankRecord } from '../state/records/blank-record.js';
import type { ExitInfo, InstanceRecord, RecordTable } from '../state/records/records.js';
import type { Observation } from '../reconciler/plan-types.js';
import type { Monitor } from './monitor.js';
import type { Observer, Processes, RebuiltInstance } from './ports.js';

/**
 * What the runtime holds between passes: the process table, and what only this process
 * knows (its children, how they ended, what to sweep). Passes read and change it; nothing
 * else does.
 */
export class Instances {
  /** How each spawned process ended, by its token, until the table records it. */
  readonly exits = new Map<string, ExitInfo>();
  /** Tokens of processes this tend spawned and that have not ended. */
  readonly children = new Set<string>();
  /** Tokens of instances whose processes ended this pass, to sweep once the pass is done. */
  readonly gone = new Set<string>();

  constructor(readonly records: RecordTable) {}

  /** Pids of processes this tend did not spawn: their exits send no event. */
  adoptedPids(): number[] {
    const pids: number[] = [];
    for (const r of this.records.values()) if (r.pid !== null && !this.children.has(r.token)) pids.push(r.pid);
    return pids;
  }

  /** Tokens of every process the table says is alive. */
  liveTokens(): Set<string> {
    const live = new Set<string>();
    for (const r of this.records.values()) if (r.pid !== null) live.add(r.token);
    return live;
  }

  /**
   * What the planner sees. While tend is a process's parent, the kernel tells it of the exit
   * (with the real code), so /proc is read only for adopted processes and ended ones.
   */
  observe(observer: Observer, monitor: Monitor, desired: DesiredState | null): Map<string, Observation> {
    const others = [...this.records.values()].filter((r) => !this.children.has(r.token));
    const seen = observer.observe(others);
    const observed = new Map<string, Observation>();
    for (const r of this.records.values()) {
      const child = this.children.has(r.token);
      const s = seen.get(r.name);
      const hasProbe = desired?.programs.get(r.program)?.health != null;
      observed.set(r.name, { alive: child || (s?.alive ?? false), lingering: s?.lingering ?? 0, exit: this.exits.get(r.token) ?? null, child, ...monitor.observe(r.token, hasProbe) });
    }
    return observed;
  }

  /** A record left STARTING with no pid means tend died mid-spawn: find that process by its token. */
  recoverInterruptedSpawns(processes: Processes, log: (line: string) => void): void {
    const pending = [...this.records.values()].filter((r) => hasProcess(r.state) && r.pid === null && !this.exits.has(r.token));
    if (pending.length === 0) return;
    const found = processes.locate(new Set(pending.map((r) => r.token)));
    for (const r of pending) {
      const ref = found.get(r.token);
      if (!ref) continue;
      Object.assign(r, ref);
      log(`${r.name}: adopted pid ${ref.pid}, spawned by a tend that died before recording it`);
    }
  }

  /**
   * Bookkeeping, not decisions: each record keeps its program's stop settings (a program
   * removed from the file is stopped its own way), and a record rebuilt from /proc takes
   * what it could not know from the desired state (it is adopted as it is).
   */
  refresh(desired: DesiredState): void {
    for (const r of this.records.values()) {
      const program = desired.programs.get(r.program);
      if (!program) continue;
      const stop = program.stop;
      if (r.stop?.signal !== stop.signal || r.stop.timeout !== stop.timeout) r.stop = { signal: stop.signal, timeout: stop.timeout };
      if (r.rebuilt) {
        Object.assign(r, { spec: instanceProcess(program, r.replica), generation: program.generation, restartRequest: desired.instanceRestarts.get(r.name) ?? 0, rebuilt: false });
      }
    }
  }
}

/**
 * The table is gone (deleted, or damaged and moved aside): every process tend starts
 * carries its state directory and instance token, so the table is rebuilt from /proc and
 * the programs adopted as they are, with no duplicate started beside them.
 */
export function rebuildTable(processes: Processes, now: number, log: (line: string) => void): RecordTable {
  const table: RecordTable = new Map();
  for (const found of processes.rebuild()) {
    const name = instanceName(found.program, found.replica);
    if (table.has(name)) {
      log(`${name}: pid ${found.process.pid} also claims this instance; left alone (pid ${table.get(name)!.pid} was adopted)`);
      continue;
    }
    table.set(name, rebuiltRecord(name, found, now));
  }
  if (table.size > 0) log(`the process table was lost; rebuilt it from /proc: adopted ${table.size} running instance(s)`);
  return table;
}

function rebuiltRecord(name: string, found: RebuiltInstance, now: number): InstanceRecord {
  const { program, replica, token } = found;
  return blankRecord({ name, program, replica, state: 'RUNNING', token, ...found.process, startedAt: now, lastReason: 'adopted', rebuilt: true });
}
