/** Instance states, in Supervisor's words so its users feel at home. Depends on nothing. */
export const INSTANCE_STATES = ['STOPPED', 'STARTING', 'RUNNING', 'BACKOFF', 'STOPPING', 'EXITED', 'FATAL', 'UNKNOWN'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/** Which states each state may move to. STARTING -> STARTING is a retried spawn. */
const TRANSITIONS: Record<InstanceState, readonly InstanceState[]> = {
  STOPPED: ['STARTING'],
  STARTING: ['STARTING', 'RUNNING', 'BACKOFF', 'EXITED', 'FATAL', 'STOPPING', 'STOPPED'],
  RUNNING: ['BACKOFF', 'EXITED', 'FATAL', 'STOPPING', 'STOPPED'],
  BACKOFF: ['STARTING', 'STOPPED'],
  STOPPING: ['STOPPING', 'STOPPED'],
  EXITED: ['STARTING', 'STOPPED'],
  FATAL: ['STARTING', 'STOPPED'],
  UNKNOWN: ['STARTING', 'BACKOFF', 'EXITED', 'FATAL', 'STOPPING', 'STOPPED'],
};

export class TransitionError extends Error {
  constructor(
    readonly from: InstanceState,
    readonly to: InstanceState,
    instance: string,
  ) {
    super(`${instance}: cannot go from ${from} to ${to}; from ${from} it may go to ${TRANSITIONS[from].join(', ') || 'nothing'}`);
    this.name = 'TransitionError';
  }
}

export function canTransition(from: InstanceState, to: InstanceState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(instance: string, from: InstanceState, to: InstanceState): void {
  if (!canTransition(from, to)) throw new TransitionError(from, to, instance);
}

/** States in which a process of ours may exist and must be watched. */
export function hasProcess(state: InstanceState): boolean {
  switch (state) {
    case 'STARTING':
    case 'RUNNING':
    case 'STOPPING':
    case 'UNKNOWN':
      return true;
    case 'STOPPED':
    case 'BACKOFF':
    case 'EXITED':
    case 'FATAL':
      return false;
    default:
      return assertNever(state);
  }
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
