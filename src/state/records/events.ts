import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

/** One line of the events file. */
export interface TendEvent {
  /** ISO time. */
  at: string;
  instance: string;
  /**
   * started, spawn-error, running, stop, kill, exit, stopped, removed, schedule; and what is
   * not about one process: file-invalid, config-error (instance: the program), pass-failed.
   */
  event: string;
  /** Why (start, crash, generation, stopped, stop-timeout...). */
  reason: string;
  pid: number | null;
  /** For `exit`: how it ended, and the state it went to (BACKOFF, FATAL, EXITED, STOPPED). */
  code?: number | null;
  signal?: string | null;
  to?: string;
  /** For `started`: where this run's output begins in its log files (bytes). */
  logStart?: { stdout: number | null; stderr: number | null };
  message: string;
}

/** Appends events as JSON lines to `events.jsonl` in the state directory, rotating it by size. */
export class EventLog {
  readonly file: string;
  private size: number;

  /**
   * @param maxSize bytes before `events.jsonl` becomes `events.jsonl.1`. Default 10 MiB.
   * @param keep rotated files kept. Default 3.
   */
  constructor(
    stateDir: string,
    private readonly maxSize = 10 * 2 ** 20,
    private readonly keep = 3,
  ) {
    this.file = path.join(stateDir, 'events.jsonl');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.size = existsSync(this.file) ? statSync(this.file).size : 0;
  }

  append(event: TendEvent): void {
    this.appendAll([event]);
  }

  /** Several events in one write (a pass that stops 100 programs records 200). */
  appendAll(events: readonly TendEvent[]): void {
    if (events.length === 0) return;
    const text = events.map((e) => JSON.stringify(e) + '\n').join('');
    const bytes = Buffer.byteLength(text);
    // tend is the only writer, so a rename loses nothing: the next append creates a new file.
    if (this.size + bytes > this.maxSize && this.size > 0) {
      rmSync(`${this.file}.${this.keep}`, { force: true });
      for (let i = this.keep - 1; i >= 1; i--) if (existsSync(`${this.file}.${i}`)) renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      renameSync(this.file, `${this.file}.1`);
      this.size = 0;
    }
    appendFileSync(this.file, text, { mode: 0o600 });
    this.size += bytes;
  }

}
