import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DesiredRead } from '../state/desired/source.js';
import { formatProblem } from '../errors.js';
import type { TendEvent } from '../state/records/events.js';
import type { ExitInfo, InstanceRecord, RecordTable } from '../state/records/records.js';
import { instanceName, logPath, type DesiredState } from '../state/desired/schema.js';
import { convergence, type Convergence } from '../reconciler/convergence.js';
import { plan } from '../reconciler/plan.js';
import type { Action, Observation, Plan } from '../reconciler/plan-types.js';
import type { ProcessControl, RebuiltInstance } from './ports.js';
import { Monitor } from './monitor.js';
import { hasProcess } from '../state/records/states.js';
import { applyToRecord, startingRecord } from '../reconciler/transitions.js';

export interface Clock {
  now(): number;
}

export interface LoopDeps {
  desired: { read(now: number): DesiredRead };
  store: { recover(warn: (line: string) => void): { table: RecordTable; lost: boolean }; save(table: RecordTable): boolean };
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
/** A pass that throws is tried again after this, doubling per failure in a row, up to the cap. */
const PASS_RETRY_MS = 1000;
const PASS_RETRY_MAX_MS = 30_000;
/** Node fires a timer of more than 2^31-1 ms at once: a 30-day wait would become a busy loop. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer delay Node honours: never negative, never past MAX_TIMER_MS (a pass then simply plans again). */
export function timerDelay(ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

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
  /** Passes that threw, in a row: drives the retry delay. */
  private failedPasses = 0;

  constructor(private readonly deps: LoopDeps) {
    const { table, lost } = deps.store.recover(deps.log);
    this.records = lost ? this.rebuild() : table;
    this.monitor = new Monitor(deps.control, deps.once ?? false);
  }

  /**
   * The table is gone (deleted, or damaged and moved aside): every process tend starts
   * carries its state directory and instance token, so the table is rebuilt from /proc and
   * the programs adopted as they are, with no duplicate started beside them.
   */
  private rebuild(): RecordTable {
    const table: RecordTable = new Map();
    for (const found of this.deps.control.rebuild()) {
      const name = instanceName(found.program, found.replica);
      if (table.has(name)) {
        this.deps.log(`${name}: pid ${found.process.pid} also claims this instance; left alone (pid ${table.get(name)!.pid} was adopted)`);
        continue;
      }
      table.set(name, rebuiltRecord(name, found, this.deps.clock.now()));
    }
    if (table.size > 0) this.deps.log(`the process table was lost; rebuilt it from /proc: adopted ${table.size} running instance(s)`);
    return table;
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
    this.monitorTimer = setTimeout(() => this.guard('watching limits, probes and logs', () => this.watch()), timerDelay(Math.max(MONITOR_TICK_MS, this.nextWatchAt - this.deps.clock.now())));
    this.monitorTimer.unref();
  }

  /** The 1 s liveness poll runs only while some process is adopted (sends tend no exit event). */
  private schedulePoll(): void {
    const adopted = [...this.records.values()].some((r) => r.pid !== null && !this.children.has(r.token));
    if (adopted && !this.poll && this.running) {
      this.poll = setInterval(() => this.guard('polling adopted processes', () => this.pollAdopted()), ADOPTED_POLL_MS);
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
          const { rotated, size } = this.deps.control.rotateLog(file, program.logs);
          if (rotated) this.deps.log(`${r.name}: rotated ${file}`);
          const rate = seen && !rotated && now > seen.at ? (size - seen.size) / (now - seen.at) : 0;
          // A file seen for the first time is looked at again soon, to learn how fast it grows.
          const wait = rotated || !seen ? LOG_CHECK_MIN_MS : rate > 0 ? (program.logs.maxSize - size) / rate / 2 : LOG_CHECK_MAX_MS;
          const delay = Math.min(LOG_CHECK_MAX_MS, Math.max(LOG_CHECK_MIN_MS, wait));
          // Idle files share one 10 s grid (the next point of it, never more than 10 s away),
          // so that their checks come due in the same tick.
          const at = delay === LOG_CHECK_MAX_MS ? (Math.floor(now / LOG_CHECK_MAX_MS) + 1) * LOG_CHECK_MAX_MS : now + delay;
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

  /** Work off the pass (timers of the watch and the poll): an error is logged, never the end of the daemon. */
  private guard(what: string, work: () => void): void {
    try {
      work();
    } catch (e) {
      this.deps.log(`${what} failed: ${(e as Error).stack ?? e}`);
    }
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
      const timeout = setTimeout(() => finish(this.last ?? emptyResult(['no pass completed in time'])), timerDelay(timeoutMs));
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
    this.passing = this.runRounds().then(
      (result) => {
        this.failedPasses = 0;
        return result;
      },
      (e: unknown) => this.failed(e),
    );
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

  /**
   * The error boundary (controller-runtime's reconcileHandler): a pass that throws (a full
   * disk under the state directory, say) is logged with its stack, recorded, and tried again
   * after a capped backoff. Programs keep running; what was not done is done by a later pass,
   * which reads everything again.
   */
  private failed(e: unknown): PassResult {
    this.failedPasses++;
    const delay = Math.min(PASS_RETRY_MAX_MS, PASS_RETRY_MS * 2 ** (this.failedPasses - 1));
    const message = e instanceof Error ? e.message : String(e);
    this.deps.log(`a reconcile pass failed (${this.failedPasses} in a row); programs keep running; trying again in ${delay / 1000}s: ${(e as Error)?.stack ?? message}`);
    try {
      this.emit('tend', 'pass-failed', 'error', null, `a reconcile pass failed: ${message}; trying again in ${delay / 1000}s`);
    } catch {
      // The events file may be on the very disk that is full: the log line above is enough.
    }
    this.schedule(this.deps.clock.now() + delay);
    return { converged: false, moving: true, problems: [`a reconcile pass failed: ${message}`], actions: [], idle: false, wakeAt: this.deps.clock.now() + delay, fileProblems: [] };
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
    this.rememberStopSettings(desired);
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

  /**
   * Bookkeeping, not decisions: each record keeps its program's stop settings (a program
   * removed from the file is stopped its own way), and a record rebuilt from /proc takes
   * what it could not know from the desired state (it is adopted as it is).
   */
  private rememberStopSettings(desired: DesiredState): void {
    for (const r of this.records.values()) {
      const program = desired.programs.get(r.program);
      if (!program) continue;
      const stop = program.stop;
      if (r.stop?.signal !== stop.signal || r.stop.timeout !== stop.timeout) r.stop = { signal: stop.signal, timeout: stop.timeout };
      if (r.rebuilt) {
        Object.assign(r, { spec: program.process, generation: program.generation, restartRequest: desired.instanceRestarts.get(r.name) ?? 0, rebuilt: false });
      }
    }
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
      if (action.type === 'stop' && record) {
        signals.push(() => {
          this.deps.control.signal(record, action.signal);
          record.stopSignalSent = true;
        });
      }
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
    this.timer = setTimeout(() => this.requestPass(), timerDelay(wakeAt - this.deps.clock.now()));
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

function rebuiltRecord(name: string, found: RebuiltInstance, now: number): InstanceRecord {
  return {
    name,
    program: found.program,
    replica: found.replica,
    state: 'RUNNING',
    ...found.process,
    token: found.token,
    spec: null,
    generation: 0,
    restartRequest: 0,
    scheduleArmed: null,
    startedAt: now,
    restarts: 0,
    failures: 0,
    startFailures: 0,
    backoffUntil: null,
    stopDeadline: null,
    killed: false,
    lastExit: null,
    lastReason: 'adopted',
    rebuilt: true,
  };
}

function allStopped(desired: DesiredState): DesiredState {
  const programs = new Map([...desired.programs].map(([name, p]) => [name, { ...p, state: 'stopped' as const }]));
  return { ...desired, programs };
}

function emptyResult(problems: string[], recheckAt: number | null = null): PassResult {
  return { converged: false, moving: recheckAt !== null, problems, actions: [], idle: true, wakeAt: recheckAt, fileProblems: problems };
}
