import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { updatesInPlace } from './in-place.js';
import { applyHostView } from './host-view.js';
import { HostFiles } from '../records/host-files.js';
import { formatProblem, isTendError, type Problem } from '../../errors.js';
import { loadStateText } from './load.js';
import { RestartRequests } from '../records/restart-requests.js';
import type { DesiredState } from './schema.js';

export interface DesiredRead {
  /** The desired state in force: the file's, or the last valid one while the file is broken. */
  desired: DesiredState | null;
  /** Why the file on disk is not the one in force (empty when it is). */
  fileProblems: Problem[];
  /** Problems of single programs, which are left as they are. */
  programProblems: Problem[];
  /** The file's text differs from the last read. */
  changed: boolean;
  /** The file is changing: it is not acted on until it has been still; look again then. */
  recheckAt: number | null;
  /** A new valid file was put in force: what it changes in place, per program (no restart). */
  updated?: { program: string; fields: string[] }[];
  /** Local overrides that ended because the new file changed their program. */
  overridesEnded?: string[];
}

/** The last file put in force, kept in the state directory: what `tend plan` compares the file with. */
export const APPLIED_FILE = 'applied.yaml';

/**
 * How long a changed file must stay the same (content, size, mtime, inode) before it is
 * acted on. An in-place save (`cat > state.yaml`, `cp`, editors that truncate and
 * rewrite) can be read empty or cut after a valid prefix; a prefix that parses would
 * stop programs. A file whose mtime is already this old is taken at once.
 */
export const STABLE_MS = 30;
/** A changed file that does not end with a newline (the usual shape of a cut) must stay still longer. */
export const STABLE_UNTERMINATED_MS = 300;
/**
 * A file that is the text in force cut short (what a re-save of the same file looks like
 * half-way, whatever the cut) must stay still for a second: a real edit that only deletes
 * the end of the file is applied a second later, a save read half-way never.
 */
export const STABLE_PREFIX_MS = 1000;

interface Candidate {
  key: string;
  bytes: Buffer | null;
  since: number;
}

/**
 * Reads state.yaml on every pass (level-triggered) but parses it only when its bytes
 * changed, and only once they have been still for STABLE_MS, so a pass with nothing to do
 * stays cheap and a half-written file is never acted on. A broken file keeps the last
 * valid desired state in force.
 */
export class DesiredSource {
  private lastKey: string | null = null;
  private lastBytes: Buffer | null = null;
  private candidate: Candidate | null = null;
  private current: DesiredRead = { desired: null, fileProblems: [], programProblems: [], changed: false, recheckAt: null };
  private readonly requests: RestartRequests;
  /** The next changed file is taken at once: its writer said it is whole (acceptNext). */
  private trusted = false;
  private readonly host: HostFiles;
  private viewKey: string | null = null;
  private viewed: ReturnType<typeof applyHostView> | null = null;

  constructor(
    readonly file: string,
    readonly stateDir: string,
    private readonly onProblem: (message: string) => void = () => {},
  ) {
    this.requests = new RestartRequests(stateDir);
    this.host = new HostFiles(stateDir);
  }

  /** The writer that just replaced the file whole (a verb, under the edit lock) says so: no wait for it to be still. */
  acceptNext(): void {
    this.trusted = true;
  }

  /**
   * `now` is the clock's (epoch ms), compared with the file's mtime. What this host runs of
   * the file (labels, local overrides) is applied on every read: a verb's `--local` changes
   * the state directory, not the file.
   */
  read(now: number): DesiredRead {
    const read = this.readFile(now);
    if (!read.desired) return read;
    const key = this.host.key();
    const viewChanged = !read.changed && key !== this.viewKey;
    if (read.changed || viewChanged || this.viewed === null) {
      this.viewKey = key;
      const overrides = this.host.overrides();
      this.viewed = applyHostView({ desired: read.desired, programProblems: read.programProblems }, { labels: this.host.labels(), overrides });
      if (this.viewed.expired.length > 0) {
        for (const name of this.viewed.expired) overrides.delete(name);
        this.host.writeOverrides(overrides);
        this.viewKey = this.host.key();
        this.onProblem(`the local override of ${this.viewed.expired.join(', ')} ended: the file changed ${this.viewed.expired.length === 1 ? 'that program' : 'those programs'}`);
      }
    }
    const { desired, programProblems, expired } = this.viewed;
    return { ...read, changed: read.changed || viewChanged, ...(viewChanged ? { updated: [] } : {}), programProblems, overridesEnded: read.changed ? expired : [], desired: { ...desired, instanceRestarts: this.requests.load() } };
  }

  private readFile(now: number): DesiredRead {
    const seen = this.look();
    const same = seen.key === this.lastKey && (seen.bytes === null ? this.lastBytes === null : this.lastBytes !== null && seen.bytes.equals(this.lastBytes));
    if (same) {
      this.candidate = null;
      this.trusted = false;
      return { ...this.current, changed: false, recheckAt: null };
    }
    const c = this.candidate;
    if (!c || c.key !== seen.key || !equalBytes(c.bytes, seen.bytes)) this.candidate = { ...seen, since: now };
    const since = this.candidate!.since;
    const window = this.trusted ? 0 : this.windowFor(seen.bytes);
    this.trusted = false;
    const stillSince = Math.min(since, seen.mtimeMs ?? since);
    if (now - stillSince < window) return { ...this.current, changed: false, recheckAt: stillSince + window };
    this.candidate = null;
    this.lastKey = seen.key;
    this.lastBytes = seen.bytes;
    return this.apply(seen);
  }

  private windowFor(bytes: Buffer | null): number {
    if (bytes === null) return STABLE_MS;
    const last = this.lastBytes;
    if (last !== null && bytes.length < last.length && last.subarray(0, bytes.length).equals(bytes)) return STABLE_PREFIX_MS;
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) return STABLE_UNTERMINATED_MS;
    return STABLE_MS;
  }

  /** The file's identity and bytes now (stat first: a change after it shows at the next look). */
  private look(): { key: string; bytes: Buffer | null; mtimeMs: number | null; error?: string } {
    try {
      const st = statSync(this.file, { bigint: true });
      const bytes = readFileSync(this.file);
      return { key: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`, bytes, mtimeMs: Number(st.mtimeNs / 1_000_000n) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      return { key: `unreadable:${code}`, bytes: null, mtimeMs: null, error: code };
    }
  }

  private apply(seen: { bytes: Buffer | null; error?: string }): DesiredRead {
    if (seen.bytes === null) {
      const problem: Problem = { file: this.file, line: 0, col: 0, path: '', message: `cannot read the desired state (${seen.error})` };
      this.onProblem(`${this.file}: ${problem.message}; the last valid desired state stays in force`);
      this.current = { ...this.current, fileProblems: [problem], changed: false, recheckAt: null };
      return this.current;
    }
    try {
      const { desired, programProblems } = loadStateText(seen.bytes, this.file, this.stateDir);
      for (const p of programProblems) this.onProblem(`${formatProblem(p)}; program '${p.program}' is left as it is`);
      const before = this.current.desired ?? loadApplied(this.file, this.stateDir);
      this.current = { desired, fileProblems: [], programProblems, changed: true, recheckAt: null, updated: before ? updatesInPlace(before, desired) : [] };
      saveApplied(this.stateDir, seen.bytes, this.onProblem);
    } catch (e) {
      if (!isTendError(e, 'INVALID_STATE_FILE')) throw e;
      for (const p of e.problems) this.onProblem(formatProblem(p));
      this.onProblem(this.current.desired ? 'the file is invalid; the last valid desired state stays in force' : 'the file is invalid; nothing was started or stopped');
      this.current = { ...this.current, fileProblems: e.problems, changed: true, recheckAt: null };
    }
    return this.current;
  }
}

/** The file last put in force here (by any tend: a daemon, or a --once run from cron), or null. */
export function loadApplied(file: string, stateDir: string): DesiredState | null {
  try {
    return loadStateText(readFileSync(path.join(stateDir, APPLIED_FILE)), file, stateDir).desired;
  } catch {
    return null;
  }
}

/** Temp and rename (no fsync: a copy for comparisons, not a record anything relies on). */
function saveApplied(stateDir: string, bytes: Buffer, warn: (line: string) => void): void {
  const file = path.join(stateDir, APPLIED_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(temp, bytes, { mode: 0o600 });
    renameSync(temp, file);
  } catch (e) {
    rmSync(temp, { force: true });
    warn(`cannot keep a copy of the file in force in ${file}: ${(e as Error).message}`);
  }
}

function equalBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}
