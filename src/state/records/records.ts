import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { InstanceState } from './states.js';
import { TendError } from '../../errors.js';
import { writePrivateFile } from './private-files.js';
import type { ProcessSpec } from '../desired/schema.js';
import { TableJournal } from './table-journal.js';

/**
 * A record's JSON, with its process spec (the large part: argv and environment) rendered
 * once per spec object: specs are replaced, never changed in place, so most saves render
 * only the few small fields that moved.
 */
const specJson = new WeakMap<ProcessSpec, string>();
function recordJson(r: InstanceRecord): string {
  const { spec, ...rest } = r;
  if (!spec) return JSON.stringify(r);
  let json = specJson.get(spec);
  if (json === undefined) specJson.set(spec, (json = JSON.stringify(spec)));
  return `${JSON.stringify(rest).slice(0, -1)},"spec":${json}}`;
}

/** Every field of `r` is the one in `fields` (same value, or the same object), and there are no others. */
function sameFields(r: InstanceRecord, fields: InstanceRecord, count: number): boolean {
  let n = 0;
  for (const key in r) {
    if (r[key as keyof InstanceRecord] !== fields[key as keyof InstanceRecord]) return false;
    n++;
  }
  return n === count;
}

/** How a process ended. Both null means nobody saw it end (an adopted process): "exit unknown". */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Epoch ms. */
  at: number;
  /** Why the process never started (spawn error), when that is what happened. */
  error?: string;
}

/** One instance of a program in the persisted process table. */
export interface InstanceRecord {
  name: string;
  program: string;
  replica: number;
  state: InstanceState;
  pid: number | null;
  /** /proc/PID/stat field 22, in clock ticks since boot. */
  startTime: number | null;
  bootId: string | null;
  /** Random per spawn, passed as TEND_INSTANCE_ID: finds a process whose spawn was interrupted. */
  token: string;
  spec: ProcessSpec | null;
  generation: number;
  /** The instance's restart-request count when it was started. */
  restartRequest: number;
  /** The schedule this instance follows, and since when (ticks before that do not count). */
  scheduleArmed: { expression: string; since: number } | null;
  /** Epoch ms of the last start. */
  startedAt: number | null;
  restarts: number;
  /** Exits in a row without a stable period; drives the backoff delay. */
  failures: number;
  /** Exits in a row before startSeconds; drives FATAL. */
  startFailures: number;
  backoffUntil: number | null;
  stopDeadline: number | null;
  /**
   * False between writing STOPPING and sending the stop signal: a tend that died in
   * between left a stop nobody sent, and the next one sends it. Absent in old tables: sent.
   */
  stopSignalSent?: boolean;
  /** The program's stop settings as last known, for stopping it once it is gone from the file. */
  stop?: { signal: NodeJS.Signals; timeout: number };
  killed: boolean;
  lastExit: ExitInfo | null;
  /** Why it was last started or stopped: start, crash, generation, spec-changed, stopped... */
  lastReason: string;
  /** What was measured for that reason (`memory: 530Mi > 512Mi for 3 samples`), if anything. */
  lastDetail?: string | null;
  /**
   * Rebuilt from /proc after the table was lost: spec, generation and restart request are
   * unknown until the next pass takes them from the desired state (adopted as they are).
   */
  rebuilt?: boolean;
}

export type RecordTable = Map<string, InstanceRecord>;


interface TableFile {
  version: 1;
  /** The journal that follows this table (table-journal.ts). */
  journal?: string;
  instances: InstanceRecord[];
}

/** Journal entries before the table is written whole again (and at least this many per record). */
const JOURNAL_MIN = 200;

/**
 * The process table on disk: a JSON file written whole by temp + rename, so a crash at any
 * moment leaves either the old or the new table, and a journal of the records changed
 * since, appended (a change costs the same however many programs there are). No fsync:
 * a power loss changes the boot id, which makes every record dead anyway.
 */
export class RecordStore {
  readonly file: string;
  private readonly journal: TableJournal;
  /** Each record as last written (its JSON), to find what changed; null until written whole once. */
  private written: Map<string, string> | null = null;
  /**
   * Each record as last rendered: the object and a shallow copy of its fields. A record whose
   * object and every field are the same as then is not rendered again, so a pass that changed
   * nothing costs a few comparisons per record, not a JSON rendering (15 ms at 5000). Nested
   * values are replaced, never changed in place, so comparing them by reference is enough.
   */
  private readonly rendered = new Map<string, { record: InstanceRecord; fields: InstanceRecord; count: number }>();

  /** The record's JSON, rendered again only when some field of it is not what it was. */
  private json(r: InstanceRecord): string | null {
    const last = this.rendered.get(r.name);
    if (last && last.record === r && sameFields(r, last.fields, last.count)) return null;
    const fields = { ...r };
    this.rendered.set(r.name, { record: r, fields, count: Object.keys(fields).length });
    return recordJson(r);
  }

  constructor(readonly stateDir: string) {
    this.file = path.join(stateDir, 'instances.json');
    this.journal = new TableJournal(path.join(stateDir, 'instances.journal'));
  }

  load(): RecordTable {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new TendError('STATE_DIR_CORRUPT', `${this.file}: cannot read the process table (${(e as Error).message})`, { cause: e });
    }
    try {
      const parsed = JSON.parse(text) as TableFile;
      if (parsed.version !== 1 || !Array.isArray(parsed.instances)) throw new Error('unknown layout');
      const table: RecordTable = new Map(parsed.instances.map((r) => [r.name, r]));
      this.journal.replay(parsed.journal, table);
      // With a journal to go on, the next save appends what changed from here; a table
      // written by hand or by an older tend is written whole first.
      this.written = parsed.journal ? new Map([...table.values()].map((r) => [r.name, recordJson(r)])) : null;
      return table;
    } catch (e) {
      throw new TendError(
        'STATE_DIR_CORRUPT',
        `${this.file}: the process table is damaged (${(e as Error).message}); nothing was stopped. The next tend reconcile moves it aside and rebuilds it from the running processes.`,
        { cause: e },
      );
    }
  }

  /**
   * The table for the one actor of the state directory: a damaged file is moved aside
   * (kept, with a message) rather than stopping tend; `lost` says the table is gone, so
   * the caller rebuilds it from the processes that carry this directory.
   */
  recover(warn: (line: string) => void): { table: RecordTable; lost: boolean } {
    try {
      return { table: this.load(), lost: !existsSync(this.file) };
    } catch (e) {
      const aside = `${this.file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(this.file, aside);
      warn(`${(e as Error).message.split(';')[0]}; moved it to ${aside} and rebuilt the table from the running processes`);
      return { table: new Map(), lost: true };
    }
  }

  /**
   * Writes what changed since the last save: appended to the journal, or the whole table
   * when the journal has grown as long as the table is worth. Returns whether it wrote.
   */
  save(table: RecordTable, touched?: ReadonlySet<string>): boolean {
    const before = this.written;
    if (before && this.journal.length < Math.max(JOURNAL_MIN, table.size)) {
      // Told which records changed (the executor's intents), only those are looked at. The
      // map of what was written is updated in place (a failed append drops it anyway).
      const changed: string[] = [];
      const removed: string[] = [];
      for (const name of touched ?? table.keys()) {
        const r = table.get(name);
        if (!r) {
          if (before.has(name)) removed.push(name);
          before.delete(name);
          this.rendered.delete(name);
          continue;
        }
        // Unchanged since it was last rendered: what was written then stands.
        const json = this.json(r) ?? before.get(name) ?? recordJson(r);
        if (before.get(name) === json) continue;
        changed.push(json);
        before.set(name, json);
      }
      if (!touched) {
        for (const name of before.keys()) {
          if (table.has(name)) continue;
          removed.push(name);
          before.delete(name);
          this.rendered.delete(name);
        }
      }
      if (changed.length === 0 && removed.length === 0) return false;
      try {
        this.journal.append(changed, removed);
      } catch (e) {
        // Part of a line may be in the journal (a full disk): the next save writes the table whole.
        this.written = null;
        throw e;
      }
      return true;
    }
    const now = new Map<string, string>();
    this.rendered.clear();
    for (const r of table.values()) now.set(r.name, this.json(r)!);
    const id = this.journal.start();
    const instances = [...table.values()].sort((a, b) => (a.program === b.program ? a.replica - b.replica : a.program < b.program ? -1 : 1));
    // One line per record: readable, and each line is the record's JSON as the journal holds it.
    const text = `{"version":1,"journal":${JSON.stringify(id)},"instances":[\n${instances.map((r) => now.get(r.name)).join(',\n')}\n]}\n`;
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    this.written = null;
    writePrivateFile(this.file, text);
    this.journal.begin();
    this.written = now;
    return true;
  }
}
