import { randomUUID } from 'node:crypto';
import type { TendEvent } from '../state/records/events.js';
import type { InstanceRecord } from '../state/records/records.js';
import type { DesiredState } from '../state/desired/schema.js';
import type { Action, Plan } from '../reconciler/plan-types.js';
import { applyToRecord, startingRecord } from '../reconciler/transitions.js';
import type { Instances } from './instances.js';
import type { Clock, Processes } from './ports.js';

/** One event for the events file: what happened to an instance, why, and the log line. */
export type Emit = (instance: string, event: string, reason: string, pid: number | null, message: string, extra?: Partial<TendEvent>) => void;

export interface ExecutorDeps {
  instances: Instances;
  processes: Processes;
  /** `touched`: the only records changed since the last save (the rest is saved at the end of the pass). */
  store: { save(table: Instances['records'], touched?: ReadonlySet<string>): boolean };
  clock: Clock;
  log: (line: string) => void;
  emit: Emit;
  /** Asks for another pass (a child ended, a spawn failed). */
  request: () => void;
}

/** Records of what happened first, then stops and kills, then starts. */
const RANK: Record<Action['type'], number> = { exited: 0, running: 0, settle: 0, forget: 0, arm: 0, wait: 0, stop: 1, kill: 1, start: 2 };

const EVENT_NAMES: Record<Exclude<Action['type'], 'start'>, string> = {
  stop: 'stop',
  kill: 'kill',
  exited: 'exit',
  running: 'running',
  settle: 'stopped',
  forget: 'removed',
  arm: 'schedule',
  wait: 'waiting',
};

/**
 * Carries out a plan: intents into the table and onto disk first, then signals, then
 * every spawn at once. Decides nothing.
 */
export class Executor {
  constructor(private readonly deps: ExecutorDeps) {}

  async act(decided: Plan, desired: DesiredState, now: number): Promise<void> {
    if (decided.actions.length === 0) return;
    const { records, exits } = this.deps.instances;
    const starts: { record: InstanceRecord; stderr: string; stdout: string }[] = [];
    const signals: (() => void)[] = [];
    const gone = new Set<string>();
    // 1. Intents into the table, written before touching any process. What was seen (an
    // exit, a process up) is recorded before what is done about it, so events read in order.
    for (const action of [...decided.actions].sort((a, b) => RANK[a.type] - RANK[b.type])) {
      if (action.type === 'start') {
        const program = desired.programs.get(action.program)!;
        const record = startingRecord(action, program, records.get(action.instance), randomUUID(), now, desired.instanceRestarts.get(action.instance) ?? 0);
        records.set(record.name, record);
        starts.push({ record, stdout: program.logs.stdout, stderr: program.logs.stderr });
        continue;
      }
      const before = records.get(action.instance);
      if (before && (action.type === 'exited' || action.type === 'forget') && before.pid !== null) gone.add(before.token);
      if (before && (action.type === 'exited' || action.type === 'forget')) exits.delete(before.token);
      const pid = before?.pid ?? null;
      const line = applyToRecord(records, action, now);
      this.deps.log(line);
      this.deps.emit(action.instance, EVENT_NAMES[action.type], action.reason, pid, line, action.type === 'exited' ? { code: action.exit.code, signal: action.exit.signal, to: action.to } : {});
      const record = records.get(action.instance);
      if (action.type === 'stop' && record) {
        signals.push(() => {
          this.deps.processes.signal(record, action.signal);
          record.stopSignalSent = true;
        });
      }
      if (action.type === 'kill' && record) signals.push(() => this.deps.processes.kill(record));
    }
    // The intents must be on disk before any process is touched; record-only
    // transitions can wait for the save at the end of the pass.
    // Only the records this plan touched changed since the last save: the store writes just those.
    const touched = new Set(decided.actions.map((a) => a.instance));
    if (starts.length > 0 || signals.length > 0) this.deps.store.save(records, touched);
    // 2. Act on the OS: signals first, then every spawn at once.
    for (const send of signals) send();
    await Promise.all(starts.map((s) => this.spawn(s.record, s.stdout, s.stderr)));
    if (starts.length > 0) this.deps.store.save(records, touched);
    for (const token of gone) this.deps.instances.gone.add(token);
  }

  /** Descendants of an instance that is gone, outside its process group; after the restarts, off their path. */
  sweepGone(): void {
    const { gone } = this.deps.instances;
    if (gone.size === 0) return;
    // The live instances' own processes carry their own tokens: with thousands of programs,
    // not reading their environments is most of the walk.
    const live = new Set<number>();
    for (const r of this.deps.instances.records.values()) if (r.pid !== null && !gone.has(r.token)) live.add(r.pid);
    const swept = this.deps.processes.sweep(gone, live);
    gone.clear();
    if (swept > 0) this.deps.log(`killed ${swept} leftover process(es) of ended instances, found by their TEND_INSTANCE_ID`);
  }

  private async spawn(record: InstanceRecord, stdout: string, stderr: string): Promise<void> {
    const { records, exits, children } = this.deps.instances;
    const token = record.token;
    const outcome = await this.deps.processes.spawn(
      { instance: record.name, program: record.program, replica: record.replica, token, spec: record.spec!, stdout, stderr },
      (code, signal) => {
        children.delete(token);
        exits.set(token, { code, signal, at: this.deps.clock.now() });
        this.deps.request();
      },
    );
    if (records.get(record.name) !== record) return;
    if (!outcome.ok) {
      exits.set(token, { code: null, signal: null, at: this.deps.clock.now(), error: outcome.error });
      this.deps.log(`${record.name}: ${outcome.error}`);
      this.deps.emit(record.name, 'spawn-error', record.lastReason, null, outcome.error);
      this.deps.request();
      return;
    }
    Object.assign(record, outcome.process, { startedAt: this.deps.clock.now() });
    if (!exits.has(token)) children.add(token);
    const line = `${record.name}: started pid ${outcome.process.pid} (${record.lastReason})`;
    this.deps.log(line);
    this.deps.emit(record.name, 'started', record.lastReason, outcome.process.pid, line, outcome.logStart ? { logStart: outcome.logStart } : {});
  }
}
