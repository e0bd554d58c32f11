import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** One line of the events file. */
export interface TendEvent {
  /** ISO time. */
  at: string;
  instance: string;
  /** started, spawn-error, running, stop, kill, exit, stopped, removed. */
  event: string;
  /** Why (start, crash, generation, stopped, stop-timeout...). */
  reason: string;
  pid: number | null;
  /** For `exit`: how it ended, and the state it went to (BACKOFF, FATAL, EXITED, STOPPED). */
  code?: number | null;
  signal?: string | null;
  to?: string;
  message: string;
}

/** Appends events as JSON lines to `events.jsonl` in the state directory. */
export class EventLog {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'events.jsonl');
    mkdirSync(stateDir, { recursive: true });
  }

  append(event: TendEvent): void {
    appendFileSync(this.file, JSON.stringify(event) + '\n');
  }
}
