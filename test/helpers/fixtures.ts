import { blankRecord } from '../../src/state/records/blank-record.js';
import type { Observation } from '../../src/reconciler/plan-types.js';
import type { InstanceRecord } from '../../src/state/records/records.js';
import { DEFAULTS, type DesiredState, type ProgramSpec } from '../../src/state/desired/schema.js';

/** A program as validation would produce it, with every default; override what the case is about. */
export function program(name: string, overrides: Partial<ProgramSpec> = {}): ProgramSpec {
  return {
    name,
    process: { command: ['/bin/sleep', '1000'], env: {}, cwd: '/tmp', user: null },
    commandAt: { line: 1, col: 1 },
    replicas: 1,
    state: 'running',
    generation: 0,
    restart: { ...DEFAULTS.restart, exitCodes: [0], backoff: { ...DEFAULTS.restart.backoff } },
    stop: { ...DEFAULTS.stop },
    logs: { stdout: '/tmp/out.log', stderr: '/tmp/err.log', maxSize: 0, keep: 10 },
    limits: null,
    health: null,
    configError: null,
    ...overrides,
  };
}

export function desired(...programs: ProgramSpec[]): DesiredState {
  return { file: '/tmp/state.yaml', programs: new Map(programs.map((p) => [p.name, p])), instanceRestarts: new Map() };
}

let pids = 1000;
/** A record of an instance of `program` started at `startedAt` with that program's spec. */
export function record(p: ProgramSpec, replica: number, overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  const pid = ++pids;
  return blankRecord({
    name: `${p.name}:${replica}`,
    program: p.name,
    replica,
    state: 'RUNNING',
    pid,
    startTime: 5000 + pid,
    bootId: 'boot',
    token: `token-${p.name}-${replica}`,
    spec: p.process,
    generation: p.generation,
    startedAt: 0,
    lastReason: 'start',
    ...overrides,
  });
}

const none = { probeFailures: 0, probePassed: true };
export const alive: Observation = { alive: true, lingering: 0, exit: null, child: true, ...none };
export const adopted: Observation = { alive: true, lingering: 0, exit: null, child: false, ...none };
export const dead = (code: number | null, signal: string | null = null, at = 0): Observation => ({ alive: false, lingering: 0, exit: { code, signal, at }, child: false, ...none });
export const vanished: Observation = { alive: false, lingering: 0, exit: null, child: false, ...none };
