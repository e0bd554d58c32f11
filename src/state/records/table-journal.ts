import { appendFileSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { InstanceRecord, RecordTable } from './records.js';
import { writePrivateFile } from './private-files.js';

/**
 * The process table's changes since it was last written whole: one JSON line per changed
 * record (`{"set": RECORD}`) or removed one (`{"del": NAME}`), appended. A restart changes
 * one record; appending it costs the same with 10 programs or 10,000, where rewriting the
 * table grows with them. The journal names the table it follows (`{"journal": ID}` as its
 * first line, the same ID in the table), so after a crash between writing a new table and
 * starting its journal, the old journal is never replayed over the new table.
 */
export class TableJournal {
  private id: string | null = null;
  private lines = 0;

  constructor(readonly file: string) {}

  /** Entries appended since the table was written whole. */
  get length(): number {
    return this.lines;
  }

  /**
   * Replays the journal of the table `id` onto `table`; a line cut by a crash ends the
   * replay. A missing or foreign journal is started afresh at the next append.
   */
  replay(id: string | undefined, table: RecordTable): void {
    this.id = id ?? null;
    this.lines = 0;
    this.fresh = true;
    if (!id) return;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    const lines = text.split('\n');
    if (lines[0] !== JSON.stringify({ journal: id })) return;
    this.fresh = false;
    for (const line of lines.slice(1)) {
      if (line === '') continue;
      let entry: { set?: InstanceRecord; del?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        break;
      }
      if (entry.set) table.set(entry.set.name, entry.set);
      else if (entry.del) table.delete(entry.del);
      this.lines++;
    }
  }

  /** A new, empty journal for a table about to be written whole; returns the ID the table must carry. */
  start(): string {
    this.id = randomUUID();
    this.lines = 0;
    return this.id;
  }

  /** Called once the table carrying the new ID is on disk. */
  begin(): void {
    writePrivateFile(this.file, `${JSON.stringify({ journal: this.id })}\n`);
    this.fresh = false;
  }

  /** No journal file for the current table yet. */
  private fresh = true;

  append(set: string[], deleted: string[]): void {
    // The table names this journal, but no journal file of its own is there (never begun, or removed).
    if (this.fresh) this.begin();
    const text = set.map((json) => `{"set":${json}}\n`).join('') + deleted.map((name) => `${JSON.stringify({ del: name })}\n`).join('');
    appendFileSync(this.file, text, { mode: 0o600 });
    this.lines += set.length + deleted.length;
  }
}
