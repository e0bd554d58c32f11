import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DesiredRead } from '../state/desired-source.js';
import { formatProblem } from '../state/errors.js';
import type { TendEvent } from '../state/events.js';
import type { ExitInfo, InstanceRecord, RecordTable } from '../state/records.js';
import { logPath, type DesiredState } from '../state/schema.js';
import { convergence, type Convergence } from './convergence.js';
import { plan } from './plan.js';
import type { Action, Observation, Plan } from './plan-types.js';
import type { ProcessControl } from './process-control.js';
import { Monitor } from './monitor.js';
import { hasProcess } from './states.js';
import { applyToRecord, startingRecord } from './transitions.js';

export interface Clock {
  now(): number;
}

export interface LoopDeps {
  desired: { read(now: number): DesiredRead };
  store: { load(): RecordTable; save(table: RecordTable): boolean };
  control: ProcessControl;
  clock: Clock;
  /** One line per thing done or seen. */
  log: (line: string) => void;
  /** The same, as a structured event (for the events file). */
  event?: (event: TendEvent) => void;
  /** reconcile --once: sample limits once per pass, and let one sample over a limit count. */
  once?: boolean;
}

export interface PassResult extends Convergence {
  /** Everything done in this pass, over all its rounds. */
  actions: Action[];
  /** The last round found nothing to do. */
  idle: boolean;
  wakeAt: number | null;
  /** The file on disk is broken (the last valid state, if any, was used). */
  fileProblems: string[];
}

/** Rounds per pass: after acting, plan again at once so the next wakeAt reflects what was done. */
const MAX_ROUNDS = 8;
/** A full pass now and then catches what no event reported (controller-runtime's resync). */
const RESYNC_MS = 60_000;
/** Bounds on how often one log file's size is checked: sooner when it grows fast. */
const LOG_CHECK_MIN_MS = 250;
const LOG_CHECK_MAX_MS = 10_000;
/** The shortest wait of the watch timer (each program has its own interval above it). */
const MONITOR_TICK_MS = 250;
/** How often to check that adopted processes (not our children: no exit event) still exist. */
const ADOPTED_POLL_MS = 1000;

/**
 * The control loop: observe, plan, act. Events (file change, child exit, timer) only ask
 * for a pass; passes never overlap; each pass reads everything again.
 */
export class ReconcileLoop {
  private records: RecordTable;
  /** How each spawned process ended, by its token, until the table records it. */
  private readonly exits = new Map<string, ExitInfo>();
  /** Tokens of processes this tend spawned and that have not ended. */
  private readonly children = new Set<string>();
  /** Tokens of instances whose processes ended this pass, to sweep once the pass is done. */
  private readonly gone = new Set<string>();
  private passing: Promise<PassResult> | null = null;
  private again = false;
  private queued = false;
  private timer: NodeJS.Timeout | null = null;
  private resync: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  /** The earliest moment watch() has anything to do; a pass resets it. */
  private nextWatchAt = 0;
  /** Each instance's log files, resolved once per process (by token). */
  private readonly logFiles = new Map<string, string[]>();
  /** Per log file: last size seen, when, and when to look again. */
  private readonly logChecks = new Map<string, { size: number; at: number; next: number }>();
  private desired: DesiredState | null = null;
  /** The watch timer (limits, probes, log sizes): a timeout for the next due moment. */
  private monitorTimer: NodeJS.Timeout | null = null;
  private readonly monitor: Monitor;
  private running = false;
  private stopEverything = false;
  private readonly listeners = new Set<(r: PassResult) => void>();
  private last: PassResult | null = null;

  constructor(private readonly deps: LoopDeps) {
    this.records = deps.store.load();
    this.monitor = new Monitor(deps.control, deps.once ?? false);
  }

  /** Starts reacting to events and timers. */
  start(): void {
    this.running = true;
    this.resync = setInterval(() => this.requestPass(), RESYNC_MS);
    this.resync.unref();
    this.requestPass();
  }

  /** Limits, probes and log sizes: whatever is due; a pass when a count matters. */
  private watch(): void {
    this.monitorTimer = null;
    const now = this.deps.clock.now();
    if (!this.desired || !this.running) return;
    if (this.monitor.sample(this.desired, this.records.values(), now)) this.requestPass();
    this.monitor.probe(this.desired, this.records.values(), now, () => this.requestPass());
    const nextLog = this.rotateLogs(now);
    this.nextWatchAt = Math.min(this.monitor.nextDue, nextLog);
    this.scheduleWatch();
  }

  /**
   * One timer, set for the next moment anything is due (an idle daemon wakes every 10 s for
   * its log sizes): a fixed 250 ms tick alone would cost 40 ms of CPU a minute.
   */
  private scheduleWatch(): void {
    if (this.deps.once || !this.running) return;
    if (this.monitorTimer) clearTimeout(this.monitorTimer);
    this.monitorTimer = null;
    if (this.nextWatchAt === Infinity) return;
    this.monitorTimer = setTimeout(() => this.watch(), Math.max(MONITOR_TICK_MS, this.nextWatchAt - this.deps.clock.now()));
    this.monitorTimer.unref();
  }

  /** The 1 s liveness poll runs only while some process is adopted (sends tend no exit event). */
  private schedulePoll(): void {
    const adopted = [...this.records.values()].some((r) => r.pid !== null && !this.children.has(r.token));
    if (adopted && !this.poll && this.running) {
      this.poll = setInterval(() => this.pollAdopted(), ADOPTED_POLL_MS);
      this.poll.unref();
    } else if (!adopted && this.poll) {
      clearInterval(this.poll);
      this.poll = null;
    }
  }

  /**
   * Size-based rotation of every live instance's logs; never blocks or stops a program.
   * Each file is looked at again when its growth says it could reach maxSize, between
   * 250 ms and 10 s: idle logs cost a stat every 10 s, a fast writer is caught early.
   */
  private rotateLogs(now: number, all = false): number {
    let next = Infinity;
    if (!this.desired) return next;
    for (const r of this.records.values()) {
      const program = this.desired.programs.get(r.program);
      if (!program || r.pid === null || program.logs.maxSize <= 0) continue;
      let files = this.logFiles.get(r.token);
      if (!files) {
        files = [...new Set([program.logs.stdout, program.logs.stderr].filter((f) => f !== 'stdout').map((f) => logPath(f, r.program, r.replica)))];
        this.logFiles.set(r.token, files);
      }
      for (const file of files) {
        const seen = this.logChecks.get(file);
        if (!all && seen && now < seen.next) {
          next = Math.min(next, seen.next);
          continue;
        }
        try {
          const { rotated, size } = this.deps.control.rotateLog(file, program.logs, r);
          if (rotated) this.deps.log(`${r.name}: rotated ${file}`);
          const rate = seen && !rotated && now > seen.at ? (size - seen.size) / (now - seen.at) : 0;
          // A file seen for the first time is looked at again soon, to learn how fast it grows.
          const wait = rotated || !seen ? LOG_CHECK_MIN_MS : rate > 0 ? (program.logs.maxSize - size) / rate / 2 : LOG_CHECK_MAX_MS;
          const delay = Math.min(LOG_CHECK_MAX_MS, Math.max(LOG_CHECK_MIN_MS, wait));
          // Idle files share one 10 s grid, so that their checks come due in the same tick.
          const at = delay === LOG_CHECK_MAX_MS ? Math.ceil((now + delay) / LOG_CHECK_MAX_MS) * LOG_CHECK_MAX_MS : now + delay;
          this.logChecks.set(file, { size: rotated ? 0 : size, at: now, next: at });
          next = Math.min(next, at);
        } catch (e) {
          this.deps.log(`${r.name}: cannot rotate ${file}: ${(e as Error).message}`);
        }
      }
    }
    return next;
  }

  private pollAdopted(): void {
    const adopted: number[] = [];
    for (const r of this.records.values()) if (r.pid !== null && !this.children.has(r.token)) adopted.push(r.pid);
    if (adopted.length > 0 && !this.deps.control.allExist(adopted)) this.requestPass();
  }

  /** Stops timers; waits for a pass in progress. Programs keep running. */
  async close(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.resync) clearInterval(this.resync);
    if (this.poll) clearInterval(this.poll);
    if (this.monitorTimer) clearTimeout(this.monitorTimer);
    await this.passing;
  }

  /**
   * Asks for a pass soon; many requests make one pass. The pass waits for setImmediate so
   * that every exit libuv reports for one SIGCHLD lands in the same pass.
   */
  requestPass(): void {
    if (this.passing) {
      this.again = true;
      return;
    }
    if (this.queued) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      void this.pass();
    });
  }

  /** From now on every program is treated as `state: stopped` (for --stop-on-exit). */
  stopAll(): void {
    this.stopEverything = true;
    this.requestPass();
  }

  /** Resolves with the first pass result that is converged or no longer moving, or at the deadline. */
  settle(timeoutMs: number): Promise<PassResult> {
    return new Promise((resolve) => {
      const done = (r: PassResult) => {
        if (!r.idle || r.moving) return false;
        finish(r);
        return true;
      };
      const finish = (r: PassResult) => {
        clearTimeout(timeout);
        this.listeners.delete(listener);
        resolve(r);
      };
      const listener = (r: PassResult) => void done(r);
      const timeout = setTimeout(() => finish(this.last ?? emptyResult(['no pass completed in time'])), timeoutMs);
      this.listeners.add(listener);
      this.requestPass();
    });
  }

  table(): ReadonlyMap<string, InstanceRecord> {
    return this.records;
  }

  /** One pass (several rounds while record-only transitions keep coming). */
  async pass(): Promise<PassResult> {
    if (this.passing) {
      this.again = true;
      return this.passing;
    }
    this.passing = this.runRounds();
    try {
      const result = await this.passing;
      this.last = result;
      for (const listener of [...this.listeners]) listener(result);
      return result;
    } finally {
      this.passing = null;
      if (this.again) {
        this.again = false;
        setImmediate(() => this.requestPass());
      }
    }
  }

  private async runRounds(): Promise<PassResult> {
    const read = this.deps.desired.read(this.deps.clock.now());
    const { desired, fileProblems, recheckAt } = read;
    const problems = fileProblems.map(formatProblem);
    // What the daemon log says of the file also goes to the events, where `tend events` shows it.
    if (read.changed) {
      for (const p of fileProblems) this.emit(path.basename(p.file), 'file-invalid', 'file-invalid', null, formatProblem(p));
      for (const p of read.programProblems) this.emit(p.program ?? '', 'config-error', 'config-error', null, `${formatProblem(p)}; the program is left as it is`);
    }
    if (!desired) {
      this.schedule(recheckAt);
      return emptyResult(problems, recheckAt);
    }
    this.desired = desired;
    const effective = this.stopEverything ? allStopped(desired) : desired;
    // --once has no sampling timer: it samples every limited instance once, here.
    if (this.deps.once) this.monitor.sample(effective, this.records.values(), this.deps.clock.now(), true);
    const all: Action[] = [];
    let result: PassResult | null = null;
    for (let round = 0; !result; round++) {
      const now = this.deps.clock.now();
      this.recoverInterruptedSpawns();
      const observed = this.observe();
      const decided = plan({ desired: effective, actual: { records: this.records, observed }, now });
      // A file still being written is not acted on yet: the pass looks again when it is still.
      const judge = (seen: Map<string, Observation>, idle: boolean, wake: number | null): PassResult => {
        const c = convergence(effective, this.records, seen, this.deps.clock.now());
        const wakeAt = recheckAt === null ? wake : wake === null ? recheckAt : Math.min(wake, recheckAt);
        return { ...c, converged: c.converged && problems.length === 0 && recheckAt === null, moving: c.moving || recheckAt !== null, actions: all, idle, wakeAt, fileProblems: problems };
      };
      if (decided.actions.length === 0) {
        result = judge(observed, true, decided.wakeAt);
        break;
      }
      await this.act(decided, effective, now);
      all.push(...decided.actions);
      // Plan again at once so the next wakeAt reflects what was just done; but a SIGKILL
      // takes a moment to land, which the planner's poll wakeAt covers (no busy loop).
      if (decided.actions.every((a) => a.type === 'kill')) result = judge(this.observe(), false, decided.wakeAt);
      else if (round === MAX_ROUNDS - 1) result = judge(this.observe(), false, this.deps.clock.now());
    }
    this.deps.store.save(this.records);
    this.sweepGone();
    if (this.deps.once) this.rotateLogs(this.deps.clock.now(), true);
    this.nextWatchAt = 0; // the table changed: let the next tick look at everything again
    this.scheduleWatch();
    this.schedulePoll();
    this.pruneCaches();
    this.schedule(result.wakeAt);
    return result;
  }

  private observe(): Map<string, Observation> {
    // While tend is a process's parent, the kernel tells it of the exit (the exit event,
    // with the real code), so /proc is read only for adopted processes and ended ones.
    const others = [...this.records.values()].filter((r) => !this.children.has(r.token));
    const seen = this.deps.control.observe(others);
    const observed = new Map<string, Observation>();
    for (const r of this.records.values()) {
      const child = this.children.has(r.token);
      const s = seen.get(r.name);
      const hasProbe = this.desired?.programs.get(r.program)?.health != null;
      observed.set(r.name, { alive: child || (s?.alive ?? false), lingering: s?.lingering ?? 0, exit: this.exits.get(r.token) ?? null, child, ...this.monitor.observe(r.token, hasProbe) });
    }
    return observed;
  }

  /** Per-process caches (samples, probes, log paths) drop the processes that are gone: one set, one sweep. */
  private pruneCaches(): void {
    const live = new Set<string>();
    for (const r of this.records.values()) if (r.pid !== null) live.add(r.token);
    this.monitor.forget(live);
    for (const token of this.logFiles.keys()) if (!live.has(token)) this.logFiles.delete(token);
  }

  /** A record left STARTING with no pid means tend died mid-spawn: find that process by its token. */
  private recoverInterruptedSpawns(): void {
    const pending = [...this.records.values()].filter((r) => hasProcess(r.state) && r.pid === null && !this.exits.has(r.token));
    if (pending.length === 0) return;
    const found = this.deps.control.locate(new Set(pending.map((r) => r.token)));
    for (const r of pending) {
      const ref = found.get(r.token);
      if (!ref) continue;
      Object.assign(r, ref);
      this.deps.log(`${r.name}: adopted pid ${ref.pid}, spawned by a tend that died before recording it`);
    }
  }

  private async act(decided: Plan, desired: DesiredState, now: number): Promise<void> {
    if (decided.actions.length === 0) return;
    const starts: { record: InstanceRecord; stderr: string; stdout: string }[] = [];
    const signals: (() => void)[] = [];
    const gone = new Set<string>();
    // 1. Intents into the table, written before touching any process.
    for (const action of decided.actions) {
      if (action.type === 'start') {
        const program = desired.programs.get(action.program)!;
        const record = startingRecord(action, program, this.records.get(action.instance), randomUUID(), now, desired.instanceRestarts.get(action.instance) ?? 0);
        this.records.set(record.name, record);
        starts.push({ record, stdout: program.logs.stdout, stderr: program.logs.stderr });
        continue;
      }
      const before = this.records.get(action.instance);
      if (before && (action.type === 'exited' || action.type === 'forget') && before.pid !== null) gone.add(before.token);
      if (before && (action.type === 'exited' || action.type === 'forget')) this.exits.delete(before.token);
      const pid = before?.pid ?? null;
      const line = applyToRecord(this.records, action, now);
      this.deps.log(line);
      this.emit(action.instance, EVENT_NAMES[action.type], action.reason, pid, line, action.type === 'exited' ? { code: action.exit.code, signal: action.exit.signal, to: action.to } : {});
      const record = this.records.get(action.instance);
      if (action.type === 'stop' && record) signals.push(() => void this.deps.control.signal(record, action.signal));
      if (action.type === 'kill' && record) signals.push(() => this.deps.control.kill(record));
    }
    // The intents must be on disk before any process is touched; record-only
    // transitions can wait for the save at the end of the pass.
    if (starts.length > 0 || signals.length > 0) this.deps.store.save(this.records);
    // 2. Act on the OS: signals first, then every spawn at once.
    for (const send of signals) send();
    await Promise.all(starts.map((s) => this.spawn(s.record, s.stdout, s.stderr)));
    if (starts.length > 0) this.deps.store.save(this.records);
    for (const token of gone) this.gone.add(token);
  }

  /** Descendants of an instance that is gone, outside its process group; after the restarts, off their path. */
  private sweepGone(): void {
    if (this.gone.size === 0) return;
    const swept = this.deps.control.sweep(this.gone);
    this.gone.clear();
    if (swept > 0) this.deps.log(`killed ${swept} leftover process(es) of ended instances, found by their TEND_INSTANCE_ID`);
  }

  private async spawn(record: InstanceRecord, stdout: string, stderr: string): Promise<void> {
    const token = record.token;
    const outcome = await this.deps.control.spawn(
      { instance: record.name, program: record.program, replica: record.replica, token, spec: record.spec!, stdout, stderr },
      (code, signal) => {
        this.children.delete(token);
        this.exits.set(token, { code, signal, at: this.deps.clock.now() });
        if (this.running) this.requestPass();
      },
    );
    if (this.records.get(record.name) !== record) return;
    if (!outcome.ok) {
      this.exits.set(token, { code: null, signal: null, at: this.deps.clock.now(), error: outcome.error });
      this.deps.log(`${record.name}: ${outcome.error}`);
      this.emit(record.name, 'spawn-error', record.lastReason, null, outcome.error);
      this.again = true;
      return;
    }
    Object.assign(record, outcome.process, { startedAt: this.deps.clock.now() });
    if (!this.exits.has(token)) this.children.add(token);
    const line = `${record.name}: started pid ${outcome.process.pid} (${record.lastReason})`;
    this.deps.log(line);
    this.emit(record.name, 'started', record.lastReason, outcome.process.pid, line);
  }

  private emit(instance: string, event: string, reason: string, pid: number | null, message: string, extra: Partial<TendEvent> = {}): void {
    this.deps.event?.({ at: new Date(this.deps.clock.now()).toISOString(), instance, event, reason, pid, ...extra, message });
  }

  private schedule(wakeAt: number | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (wakeAt === null || !this.running) return;
    this.timer = setTimeout(() => this.requestPass(), Math.max(0, wakeAt - this.deps.clock.now()));
  }
}

const EVENT_NAMES: Record<Exclude<Action['type'], 'start'>, string> = {
  stop: 'stop',
  kill: 'kill',
  exited: 'exit',
  running: 'running',
  settle: 'stopped',
  forget: 'removed',
  arm: 'schedule',
};

function allStopped(desired: DesiredState): DesiredState {
  const programs = new Map([...desired.programs].map(([name, p]) => [name, { ...p, state: 'stopped' as const }]));
  return { ...desired, programs };
}

function emptyResult(problems: string[], recheckAt: number | null = null): PassResult {
  return { converged: false, moving: recheckAt !== null, problems, actions: [], idle: true, wakeAt: recheckAt, fileProblems: problems };
}
