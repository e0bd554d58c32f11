/** What went wrong, for callers and tests to branch on (never on the message text). */
export type TendErrorCode =
  | 'INVALID_STATE_FILE' // state.yaml failed validation; `problems` holds every one
  | 'STATE_FILE_UNREADABLE'
  | 'STATE_DIR_CORRUPT' // the persisted process table could not be read
  | 'LOCKED' // another actor holds the state directory
  | 'USER_SWITCH' // `user:` cannot be honoured
  | 'UNKNOWN_INSTANCE'
  | 'NO_DAEMON' // nothing answers on the control socket: no request reached a daemon
  | 'CONTROL'; // the daemon's control socket failed or refused

/** One located problem in a file: `file:line:col: path: message`. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  /** Dotted path of the field, e.g. `programs.web.replicas`; empty for syntax errors. */
  path: string;
  message: string;
  /** The program a per-program problem concerns (names may contain dots: never split `path`). */
  program?: string;
}

export function formatProblem(p: Problem): string {
  const where = `${p.file}:${p.line}:${p.col}`;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

export class TendError extends Error {
  readonly code: TendErrorCode;
  readonly problems: Problem[];

  constructor(code: TendErrorCode, message: string, options: { cause?: unknown; problems?: Problem[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TendError';
    this.code = code;
    this.problems = options.problems ?? [];
  }
}

export function isTendError(e: unknown, code?: TendErrorCode): e is TendError {
  return e instanceof TendError && (code === undefined || e.code === code);
}
