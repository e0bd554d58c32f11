import { formatUptime, isSettled, statusRows, type InstanceStatus } from '../reconciler/status.js';
import { OsProcessControl } from '../spawner/os-process-control.js';
import { isTendError } from '../errors.js';
import { loadState } from '../state/desired/load.js';
import { RecordStore } from '../state/records/records.js';
import type { DesiredState } from '../state/desired/schema.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';

/** Reads the table and /proc (never the lock: status works while a daemon runs). */
export function collectStatus(globals: GlobalOptions): InstanceStatus[] {
  return collect(globals).rows;
}

function collect(globals: GlobalOptions): { rows: InstanceStatus[]; unreadable: boolean } {
  let desired: DesiredState | null = null;
  let unreadable = false;
  try {
    desired = loadState(globals.file, globals.stateDir).desired;
  } catch (e) {
    if (!isTendError(e)) throw e;
    unreadable = isTendError(e, 'STATE_FILE_UNREADABLE');
    const why = unreadable ? e.message : `${globals.file} is invalid (${e.message.split('\n')[0]})`;
    process.stderr.write(`tend: ${why}; showing the process table only\n`);
  }
  const records = new RecordStore(globals.stateDir).load();
  const seen = new OsProcessControl().observe(records.values());
  const alive = new Map([...seen].map(([name, o]) => [name, o.alive]));
  return { rows: statusRows(desired, records, alive, Date.now()), unreadable };
}

/** Keeps rows named `web` (every replica) or `web:1`; returns the names that matched nothing. */
/** Keeps rows named `web` (every replica), `web:1`, or `GROUP:*` (every program of the group); returns the names that matched nothing. */
export function filterRows(rows: InstanceStatus[], names: string[]): { rows: InstanceStatus[]; unknown: string[] } {
  if (names.length === 0 || names.includes('all')) return { rows, unknown: [] };
  const matches = (r: InstanceStatus, n: string) => r.name === n || r.program === n || (n.endsWith(':*') && (r.group === n.slice(0, -2) || r.program === n.slice(0, -2)));
  const unknown = names.filter((n) => !rows.some((r) => matches(r, n)));
  return { rows: rows.filter((r) => names.some((n) => matches(r, n))), unknown };
}

export function statusCommand(globals: GlobalOptions, names: string[], json: boolean): number {
  const { rows: all, unreadable } = collect(globals);
  const { rows, unknown } = filterRows(all, names);
  for (const n of unknown) process.stderr.write(`${n}: ERROR (no such program)\n`);
  if (json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else if (!unreadable || rows.length > 0) process.stdout.write(renderTable(rows));
  // No file at all is an error (a wrong -f, a wrong directory), not "no programs".
  if (unknown.length > 0 || unreadable) return EXIT.INVALID;
  return rows.every(isSettled) ? EXIT.OK : EXIT.NOT_RUNNING;
}

export function renderTable(rows: InstanceStatus[]): string {
  if (rows.length === 0) return 'no programs\n';
  const table = [
    ['NAME', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'REASON'],
    ...rows.map((r) => [
      r.name,
      r.desired === 'running' || r.state !== 'STOPPED' ? r.state : r.desired === 'removed' ? 'STOPPED (removed)' : 'STOPPED',
      r.pid === null ? '-' : String(r.pid),
      r.uptimeMs === null ? '-' : formatUptime(r.uptimeMs),
      String(r.restarts),
      r.detail ? `${r.reason} (${r.detail})` : (r.reason ?? '-'),
    ]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  return table.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]! + 2))).join('').trimEnd()).join('\n') + '\n';
}
