import { readFileSync } from 'node:fs';
import { formatProblem, isTendError, type Problem } from './errors.js';
import { loadStateText } from './load.js';
import { RestartRequests } from './restart-requests.js';
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
}

/**
 * Reads state.yaml on every pass (level-triggered) but parses it only when its text
 * changed, so a pass with nothing to do stays cheap. A broken file keeps the last
 * valid desired state in force.
 */
export class DesiredSource {
  private lastText: string | null = null;
  private current: DesiredRead = { desired: null, fileProblems: [], programProblems: [], changed: false };

  constructor(
    readonly file: string,
    readonly stateDir: string,
    private readonly onProblem: (message: string) => void = () => {},
  ) {
    this.requests = new RestartRequests(stateDir);
  }

  private readonly requests: RestartRequests;

  read(): DesiredRead {
    const read = this.readFile();
    if (!read.desired) return read;
    return { ...read, desired: { ...read.desired, instanceRestarts: this.requests.load() } };
  }

  private readFile(): DesiredRead {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      const problem: Problem = { file: this.file, line: 0, col: 0, path: '', message: `cannot read the desired state (${(e as NodeJS.ErrnoException).code ?? e})` };
      if (this.lastText !== '\0unreadable') this.onProblem(`${this.file}: ${problem.message}; the last valid desired state stays in force`);
      this.lastText = '\0unreadable';
      this.current = { ...this.current, fileProblems: [problem], changed: false };
      return this.current;
    }
    if (text === this.lastText) return { ...this.current, changed: false };
    this.lastText = text;
    try {
      const { desired, programProblems } = loadStateText(text, this.file, this.stateDir);
      for (const p of programProblems) this.onProblem(`${formatProblem(p)}; program '${p.path.split('.')[1]}' is left as it is`);
      this.current = { desired, fileProblems: [], programProblems, changed: true };
    } catch (e) {
      if (!isTendError(e, 'INVALID_STATE_FILE')) throw e;
      for (const p of e.problems) this.onProblem(formatProblem(p));
      this.onProblem(this.current.desired ? 'the file is invalid; the last valid desired state stays in force' : 'the file is invalid; nothing was started or stopped');
      this.current = { ...this.current, fileProblems: e.problems, changed: true };
    }
    return this.current;
  }
}
