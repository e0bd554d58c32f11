import { isInherited, logPath, type DesiredState } from '../state/desired/schema.js';
import type { InstanceRecord } from '../state/records/records.js';
import type { LogFiles } from './ports.js';

/**
 * Bounds on how often one log file's size is checked: sooner when it grows fast. Idle
 * files are checked every 20 s on a shared grid: each wake-up of an idle daemon costs V8
 * some tens of ms of GC, so the idle cadence is what idle CPU is made of.
 */
const LOG_CHECK_MIN_MS = 250;
const LOG_CHECK_MAX_MS = 20_000;

/**
 * Size-based rotation of every live instance's logs; never blocks or stops a program.
 * Each file is looked at again when its growth says it could reach maxSize, between
 * 250 ms and 10 s: idle logs cost a stat every 10 s, a fast writer is caught early.
 */
export class LogHousekeeping {
  /** Each instance's log files, resolved once per process (by token). */
  private readonly files = new Map<string, string[]>();
  /** Per log file: last size seen, when, and when to look again. */
  private readonly checks = new Map<string, { size: number; at: number; next: number }>();

  constructor(
    private readonly logFiles: LogFiles,
    private readonly log: (line: string) => void,
  ) {}

  /** Rotates what is due (everything with `all`); returns when the next file is due. */
  rotate(desired: DesiredState | null, records: Iterable<InstanceRecord>, now: number, all = false): number {
    let next = Infinity;
    if (!desired) return next;
    for (const r of records) {
      const program = desired.programs.get(r.program);
      if (!program || r.pid === null || program.logs.maxSize <= 0) continue;
      let files = this.files.get(r.token);
      if (!files) {
        files = [...new Set([program.logs.stdout, program.logs.stderr].filter((f) => f !== 'stdout' && !isInherited(f)).map((f) => logPath(f, r.program, r.replica)))];
        this.files.set(r.token, files);
      }
      for (const file of files) {
        const seen = this.checks.get(file);
        if (!all && seen && now < seen.next) {
          next = Math.min(next, seen.next);
          continue;
        }
        try {
          const { rotated, size } = this.logFiles.rotateLog(file, program.logs);
          if (rotated) this.log(`${r.name}: rotated ${file}`);
          const rate = seen && !rotated && now > seen.at ? (size - seen.size) / (now - seen.at) : 0;
          // A file seen for the first time is looked at again soon, to learn how fast it grows.
          const wait = rotated || !seen ? LOG_CHECK_MIN_MS : rate > 0 ? (program.logs.maxSize - size) / rate / 2 : LOG_CHECK_MAX_MS;
          const delay = Math.min(LOG_CHECK_MAX_MS, Math.max(LOG_CHECK_MIN_MS, wait));
          // Idle files share one 20 s grid (the next point of it, never more than 20 s away),
          // so that their checks come due in the same tick.
          const at = delay === LOG_CHECK_MAX_MS ? (Math.floor(now / LOG_CHECK_MAX_MS) + 1) * LOG_CHECK_MAX_MS : now + delay;
          this.checks.set(file, { size: rotated ? 0 : size, at: now, next: at });
          next = Math.min(next, at);
        } catch (e) {
          this.log(`${r.name}: cannot rotate ${file}: ${(e as Error).message}`);
        }
      }
    }
    return next;
  }

  /** Forgets the log paths of processes that are gone. */
  prune(live: ReadonlySet<string>): void {
    for (const token of this.files.keys()) if (!live.has(token)) this.files.delete(token);
  }
}
