import { formatUptime, isSettled, type InstanceStatus } from '../reconciler/status.js';
import { usageCells, type UsageShown } from '../reconciler/usage-columns.js';
import { isSyncedFile, readSyncStatus } from '../gitops/sync-state.js';
import type { GlobalOptions } from './globals.js';
import { EXIT } from './exit-codes.js';
import { renderSource } from './status-source.js';

/**
 * `tend status` once: the rows (collected here, or by the daemon for a client), filtered by
 * name, printed as a table or JSON. Kept apart from the collecting, which loads the file's
 * parser and the process table: a client asking the daemon needs neither.
 */

/** A status row with what its tree uses now (the command's rows; the cheap reader leaves it out). */
export type StatusRow = InstanceStatus & { usage?: UsageShown | null };

/** The rows, whether the file could be read at all, and what to say if it could not. */
export interface Collected {
  rows: StatusRow[];
  unreadable: boolean;
  warning: string | null;
}

export function showStatus(globals: GlobalOptions, collected: Collected, names: string[], json: boolean): number {
  const { rows: all, unreadable, warning } = collected;
  if (warning) process.stderr.write(warning);
  const { rows, unknown } = filterRows(all, names);
  for (const n of unknown) process.stderr.write(`${n}: ERROR (no such program)\n`);
  // A git source's state, on every row of --json (the array stays the contract), above the table.
  const sync = isSyncedFile(globals.file, globals.stateDir) ? readSyncStatus(globals.stateDir) : null;
  if (json) process.stdout.write(JSON.stringify(sync ? rows.map((r) => ({ ...r, source: sync })) : rows, null, 2) + '\n');
  else {
    if (sync) process.stdout.write(renderSource(sync, Date.now()));
    if (!unreadable || rows.length > 0) process.stdout.write(renderTable(rows));
  }
  // No file at all is an error (a wrong -f, a wrong directory), not "no programs".
  if (unknown.length > 0 || unreadable) return EXIT.INVALID;
  return rows.every(isSettled) ? EXIT.OK : EXIT.NOT_RUNNING;
}

/** Keeps rows named `web` (every replica), `web:1`, or `GROUP:*` (every program of the group); returns the names that matched nothing. */
export function filterRows(rows: InstanceStatus[], names: string[]): { rows: InstanceStatus[]; unknown: string[] } {
  if (names.length === 0 || names.includes('all')) return { rows, unknown: [] };
  const matches = (r: InstanceStatus, n: string) => r.name === n || r.program === n || (n.endsWith(':*') && (r.group === n.slice(0, -2) || r.program === n.slice(0, -2)));
  const unknown = names.filter((n) => !rows.some((r) => matches(r, n)));
  return { rows: rows.filter((r) => names.some((n) => matches(r, n))), unknown };
}

export function renderTable(rows: StatusRow[]): string {
  if (rows.length === 0) return 'no programs\n';
  const usage = rows.some((r) => r.usage !== undefined);
  const fds = rows.some((r) => r.usage?.openFdsLimit != null);
  const table = [
    ['NAME', 'STATE', 'PID', 'UPTIME', ...(usage ? ['CPU%', 'MEM'] : []), ...(fds ? ['FDS'] : []), 'RESTARTS', 'REASON'],
    ...rows.map((r) => {
      const cells = usageCells(r.usage);
      return [
        r.name,
        r.desired === 'running' || r.state !== 'STOPPED' ? r.state : r.desired === 'removed' || r.desired === 'skipped' ? `STOPPED (${r.desired})` : 'STOPPED',
        r.pid === null ? '-' : String(r.pid),
        r.uptimeMs === null ? '-' : formatUptime(r.uptimeMs),
        ...(usage ? [cells.cpu, cells.mem] : []),
        ...(fds ? [cells.fds] : []),
        String(r.restarts),
        (r.detail ? `${r.reason} (${r.detail})` : (r.reason ?? '-')) + (r.override ? ` [local override: ${r.override}; tend ${r.override === 'stopped' ? 'start' : 'stop'} ${r.program} --local lifts it]` : ''),
      ];
    }),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  return table.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]! + 2))).join('').trimEnd()).join('\n') + '\n';
}
