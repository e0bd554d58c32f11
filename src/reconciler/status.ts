import type { ExitInfo, InstanceRecord } from '../state/records/records.js';
import { instanceName, parseInstanceName, type DesiredState } from '../state/desired/schema.js';
import { hasProcess, type InstanceState } from '../state/records/states.js';

/** One row of `tend status --json` (the documented contract). */
export interface InstanceStatus {
  name: string;
  program: string;
  replica: number;
  state: InstanceState;
  pid: number | null;
  uptimeMs: number | null;
  restarts: number;
  generation: number;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  reason: string | null;
  /** The measured value behind the reason, for restarts by limits, probes and schedules. */
  detail: string | null;
  /** What state.yaml asks for: running, stopped, removed (no longer in the file), or skipped (its selector does not match this host). */
  desired: 'running' | 'stopped' | 'removed' | 'skipped';
  /** The program's group, or null. */
  group: string | null;
  /** This host's local override of the program's state (`tend stop web --local`), or null. */
  override?: 'running' | 'stopped' | null;
}

/**
 * Every instance the file asks for and every instance the table still holds, as the
 * user should see it. A process that died while no tend was watching shows as EXITED.
 */
export function statusRows(desired: DesiredState | null, records: ReadonlyMap<string, InstanceRecord>, alive: ReadonlyMap<string, boolean>, now: number): InstanceStatus[] {
  const rows = new Map<string, InstanceStatus>();
  for (const program of desired?.programs.values() ?? []) {
    for (let i = 0; i < program.replicas; i++) {
      const name = instanceName(program.name, i);
      const override = desired?.overridden?.get(program.name)?.state ?? null;
      const shown = { ...row(name, records.get(name), alive.get(name) ?? false, program.state, now, program.generation), group: program.group ?? null, ...(override ? { override } : {}) };
      // A program tend cannot run says why here, not only in the daemon's log.
      rows.set(name, program.configError ? { ...shown, reason: 'config-error', detail: program.configError } : shown);
    }
  }
  for (const s of desired?.skipped ?? []) {
    for (let i = 0; i < s.replicas; i++) {
      const name = instanceName(s.program, i);
      const r = records.get(name);
      rows.set(name, { ...row(name, r, alive.get(name) ?? false, 'skipped', now, r?.generation ?? 0), group: null, ...(r?.pid && alive.get(name) ? {} : { reason: 'skipped', detail: s.why }) });
    }
  }
  for (const r of records.values()) {
    if (!rows.has(r.name)) rows.set(r.name, { ...row(r.name, r, alive.get(r.name) ?? false, 'removed', now, r.generation), group: null });
  }
  return [...rows.values()].sort((a, b) => (a.program === b.program ? a.replica - b.replica : a.program < b.program ? -1 : 1));
}

function row(name: string, r: InstanceRecord | undefined, alive: boolean, desired: InstanceStatus['desired'], now: number, generation: number): Omit<InstanceStatus, 'group'> {
  const { program, replica } = parseInstanceName(name)!;
  if (!r) return { name, program, replica, state: 'STOPPED', pid: null, uptimeMs: null, restarts: 0, generation, lastExit: null, reason: null, detail: null, desired };
  const vanished = hasProcess(r.state) && r.pid !== null && !alive;
  const up = !vanished && r.pid !== null && r.startedAt !== null;
  return {
    name,
    program,
    replica,
    state: vanished ? 'EXITED' : r.state,
    pid: up ? r.pid : null,
    uptimeMs: up ? Math.max(0, now - r.startedAt!) : null,
    restarts: r.restarts,
    generation: r.generation,
    lastExit: vanished ? exitJson({ code: null, signal: null, at: now }) : r.lastExit ? exitJson(r.lastExit) : null,
    reason: vanished ? 'exit unknown (not yet seen by a reconcile)' : r.lastReason,
    detail: vanished ? null : (r.lastDetail ?? null),
    desired,
  };
}

function exitJson(e: ExitInfo): InstanceStatus['lastExit'] {
  return { code: e.code, signal: e.signal, at: new Date(e.at).toISOString() };
}

/** Whether a row is where state.yaml wants it. */
export function isSettled(s: InstanceStatus): boolean {
  if (s.desired === 'running') return s.state === 'RUNNING';
  return s.pid === null;
}

/** supervisorctl's uptime: `0:01:02`, or `3 days, 4:05:06`. */
export function formatUptime(ms: number): string {
  const total = Math.floor(ms / 1000);
  const days = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
  const s = String(total % 60).padStart(2, '0');
  const clock = `${h}:${m}:${s}`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${clock}` : clock;
}
