import { statusRows, type InstanceStatus } from '../reconciler/status.js';
import { OsProcessControl } from '../spawner/os-process-control.js';
import { isTendError } from '../errors.js';
import { loadHostState } from '../state/desired/load.js';
import { RecordStore, type InstanceRecord } from '../state/records/records.js';
import type { DesiredState } from '../state/desired/schema.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';
import { cpuPercent, usageShown } from '../reconciler/usage-columns.js';
import { filterRows, renderTable, showStatus, type Collected, type StatusRow } from './status-render.js';

export { filterRows, renderTable, type StatusRow } from './status-render.js';

/** Reads the table (the state directory's, or the one a daemon holds) and /proc (never the lock: status works while a daemon runs). */
export function collectStatus(globals: GlobalOptions, table?: ReadonlyMap<string, InstanceRecord>): InstanceStatus[] {
  return collect(globals, undefined, table).rows;
}

function collect(globals: GlobalOptions, measure?: Measure, table?: ReadonlyMap<string, InstanceRecord>): Collected {
  let desired: DesiredState | null = null;
  let unreadable = false;
  let warning: string | null = null;
  try {
    desired = loadHostState(globals.file, globals.stateDir).desired;
  } catch (e) {
    if (!isTendError(e)) throw e;
    unreadable = isTendError(e, 'STATE_FILE_UNREADABLE');
    const why = unreadable ? e.message : `${globals.file} is invalid (${e.message.split('\n')[0]})`;
    warning = `tend: ${why}; showing the process table only\n`;
  }
  const records = table ?? new RecordStore(globals.stateDir).load();
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
  return { rows, unreadable, warning };
}

/** With --watch, CPU% is over the last refresh (as top); once, since the process started (as ps). */
interface Measure {
  control: OsProcessControl;
  previous: Map<string, { pid: number; cpu: number; at: number }>;
}

export async function statusCommand(globals: GlobalOptions, names: string[], json: boolean, watch = false): Promise<number> {
  if (watch) return watchStatus(globals, names, { control: new OsProcessControl(), previous: new Map() });
  return showStatus(globals, collectMeasured(globals), names, json);
}

/**
 * What `tend status` shows, measured once (CPU% since each process started): here, or in
 * the daemon for a client, from the table it holds (`table`) instead of the file.
 */
export function collectMeasured(globals: GlobalOptions, control = new OsProcessControl(), table?: ReadonlyMap<string, InstanceRecord>): Collected {
  return collect(globals, { control, previous: new Map() }, table);
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
    const { rows, warning } = collect(globals, measure);
    if (warning) process.stderr.write(warning);
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

