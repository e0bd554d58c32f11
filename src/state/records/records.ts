import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { InstanceState } from './states.js';
import { TendError } from '../../errors.js';
import { writePrivateFile } from './private-files.js';
import type { ProcessSpec } from '../desired/schema.js';

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
  instances: InstanceRecord[];
}

/**
 * The process table on disk, one JSON file written by temp + rename so a crash at any
 * moment leaves either the old or the new table. No fsync: a power loss changes the
 * boot id, which makes every record dead anyway.
 */
export class RecordStore {
  readonly file: string;
  private lastWritten = '';

  constructor(readonly stateDir: string) {
    this.file = path.join(stateDir, 'instances.json');
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
      this.lastWritten = text;
      return new Map(parsed.instances.map((r) => [r.name, r]));
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

  /** Writes the table when it changed; returns whether it wrote. */
  save(table: RecordTable): boolean {
    const instances = [...table.values()].sort((a, b) => (a.program === b.program ? a.replica - b.replica : a.program < b.program ? -1 : 1));
    // One line per record: cheaper to write than indented JSON (this is on the restart path), still readable.
    const text = `{"version":1,"instances":[\n${instances.map((r) => JSON.stringify(r)).join(',\n')}\n]}\n`;
    if (text === this.lastWritten) return false;
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    writePrivateFile(this.file, text);
    this.lastWritten = text;
    return true;
  }
}
