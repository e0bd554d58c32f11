import { formatUptime, isSettled, statusRows, type InstanceStatus } from '../reconciler/status.js';
import { OsProcessControl } from '../spawner/os-process-control.js';
import { isTendError } from '../errors.js';
import { loadHostState } from '../state/desired/load.js';
import { RecordStore } from '../state/records/records.js';
import type { DesiredState } from '../state/desired/schema.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';
import { isSyncedFile, readSyncStatus } from '../gitops/sync-state.js';
import { renderSource } from './status-source.js';
import { cpuPercent, usageCells, usageShown, type UsageShown } from '../reconciler/usage-columns.js';

/** Reads the table and /proc (never the lock: status works while a daemon runs). */
export function collectStatus(globals: GlobalOptions): InstanceStatus[] {
  return collect(globals).rows;
}

/** A status row with what its tree uses now (the command's rows; the cheap reader above leaves it out). */
export type StatusRow = InstanceStatus & { usage?: UsageShown | null };

function collect(globals: GlobalOptions, measure?: Measure): { rows: StatusRow[]; unreadable: boolean } {
  let desired: DesiredState | null = null;
  let unreadable = false;
  try {
    desired = loadHostState(globals.file, globals.stateDir).desired;
  } catch (e) {
    if (!isTendError(e)) throw e;
    unreadable = isTendError(e, 'STATE_FILE_UNREADABLE');
    const why = unreadable ? e.message : `${globals.file} is invalid (${e.message.split('\n')[0]})`;
    process.stderr.write(`tend: ${why}; showing the process table only\n`);
  }
  const records = new RecordStore(globals.stateDir).load();
  const control = measure?.control ?? new OsProcessControl();
  const seen = control.observe(records.values());
  const alive = new Map([...seen].map(([name, o]) => [name, o.alive]));
  const now = Date.now();
  const rows: StatusRow[] = statusRows(desired, records, alive, now);
  if (measure) {
    const measured = control.measure([...records.values()].filter((r) => alive.get(r.name)));
    for (const row of rows) {
      const m = row.pid === null ? undefined : measured.get(row.name);
      const before = measure.previous.get(row.name);
      const cpu = !m ? null : before && before.pid === row.pid ? cpuPercent(m.cpuSeconds - before.cpu, now - before.at) : cpuPercent(m.cpuSeconds, row.uptimeMs ?? 0);
      row.usage = m ? usageShown(m, cpu, desired?.programs.get(row.program)?.limits) : null;
      if (m && row.pid !== null) measure.previous.set(row.name, { pid: row.pid, cpu: m.cpuSeconds, at: now });
    }
  }
  return { rows, unreadable };
}

/** With --watch, CPU% is over the last refresh (as top); once, since the process started (as ps). */
interface Measure {
  control: OsProcessControl;
  previous: Map<string, { pid: number; cpu: number; at: number }>;
}

/** Keeps rows named `web` (every replica) or `web:1`; returns the names that matched nothing. */
/** Keeps rows named `web` (every replica), `web:1`, or `GROUP:*` (every program of the group); returns the names that matched nothing. */
export function filterRows(rows: InstanceStatus[], names: string[]): { rows: InstanceStatus[]; unknown: string[] } {
  if (names.length === 0 || names.includes('all')) return { rows, unknown: [] };
  const matches = (r: InstanceStatus, n: string) => r.name === n || r.program === n || (n.endsWith(':*') && (r.group === n.slice(0, -2) || r.program === n.slice(0, -2)));
  const unknown = names.filter((n) => !rows.some((r) => matches(r, n)));
  return { rows: rows.filter((r) => names.some((n) => matches(r, n))), unknown };
}

export async function statusCommand(globals: GlobalOptions, names: string[], json: boolean, watch = false): Promise<number> {
  const measure: Measure = { control: new OsProcessControl(), previous: new Map() };
  if (watch) return watchStatus(globals, names, measure);
  const { rows: all, unreadable } = collect(globals, measure);
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

/**
 * `tend status --watch`: the table redrawn in place every second (as `watch tend status`
 * would, with CPU% over the last second), until Ctrl-C. Not a terminal: one table per second.
 */
async function watchStatus(globals: GlobalOptions, names: string[], measure: Measure): Promise<number> {
  const tty = process.stdout.isTTY === true;
  let stop = false;
  let wake = () => {};
  const end = () => {
    stop = true;
    wake();
  };
  process.once('SIGINT', end).once('SIGTERM', end);
  while (!stop) {
    const { rows } = collect(globals, measure);
    const shown = filterRows(rows, names).rows;
    const header = `${new Date().toISOString().replace('T', ' ').slice(0, 19)}  ${globals.file}  (every 1s, Ctrl-C to quit)\n\n`;
    process.stdout.write((tty ? '\x1b[H\x1b[2J' : '') + header + renderTable(shown) + (tty ? '' : '\n'));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      wake = () => (clearTimeout(timer), resolve());
    });
  }
  return EXIT.OK;
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
