import type { InstanceRecord } from './records.js';

/** A record with no process and no history: what an instance's first record starts from. */
export function blankRecord(fields: Pick<InstanceRecord, 'name' | 'program' | 'replica' | 'state' | 'token' | 'lastReason'> & Partial<InstanceRecord>): InstanceRecord {
  return {
    pid: null,
    startTime: null,
    bootId: null,
    spec: null,
    generation: 0,
    restartRequest: 0,
    scheduleArmed: null,
    startedAt: null,
    restarts: 0,
    failures: 0,
    startFailures: 0,
    backoffUntil: null,
    stopDeadline: null,
    killed: false,
    lastExit: null,
    ...fields,
  };
}
