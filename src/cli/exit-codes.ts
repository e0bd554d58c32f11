/** Exit codes of every command, as the README lists them. */
export const EXIT = {
  OK: 0,
  /** reconcile --once: something could not be brought to its desired state. */
  NOT_CONVERGED: 1,
  /** Invalid state.yaml or invalid command line. */
  INVALID: 2,
  /** Another tend holds the state directory; or, for status, an instance not in its desired state. */
  LOCKED: 3,
  NOT_RUNNING: 3,
  /** start/stop/restart: state.yaml is read-only (a GitOps checkout); the message says what to change there. */
  READ_ONLY: 4,
  /** reconcile: the daemon lost its lock (lock.secret replaced): it exits, programs keep running. */
  LOCK_LOST: 5,
  /** reconcile: a program with `shutdownOn` failed, so tend stopped everything and ended (a container restarts). */
  PROGRAM_FAILED: 6,
  /** Unexpected failure. */
  FAILURE: 70,
} as const;
