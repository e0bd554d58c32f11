import { OsProcessControl } from '../spawner/os-process-control.js';
import { StateLock } from '../state/records/lock.js';
import { RecordStore } from '../state/records/records.js';
import { parseSignalName } from '../state/desired/signal-name.js';
import { collectStatus, filterRows } from './status.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';
import { UsageError } from './usage-error.js';

/** `tend pid [NAME...]`: the daemon's pid, or each instance's (supervisorctl pid). */
export async function pidCommand(globals: GlobalOptions, names: string[], json: boolean): Promise<number> {
  if (names.length === 0) {
    const holder = await StateLock.holder(globals.stateDir);
    const pid = holder?.role === 'daemon' ? holder.pid : null;
    process.stdout.write(json ? JSON.stringify({ daemon: pid }) + '\n' : pid === null ? 'no daemon\n' : `${pid}\n`);
    return pid === null ? EXIT.NOT_RUNNING : EXIT.OK;
  }
  const { rows, unknown } = filterRows(collectStatus(globals), names);
  for (const n of unknown) process.stderr.write(`${n}: ERROR (no such program)\n`);
  if (json) process.stdout.write(JSON.stringify(rows.map((r) => ({ name: r.name, pid: r.pid })), null, 2) + '\n');
  else if (rows.length === 1) process.stdout.write(`${rows[0]!.pid ?? 0}\n`);
  else for (const r of rows) process.stdout.write(`${r.name} ${r.pid ?? 0}\n`);
  return unknown.length > 0 ? EXIT.INVALID : EXIT.OK;
}

/**
 * `tend signal SIG NAME... [--group]`: a signal to each instance's main process, as
 * supervisorctl signal does (gunicorn's HUP must reach its master only: sent to the group
 * it would kill every worker), or to its whole process group with `--group`. Only if the
 * process is still ours.
 */
export function signalCommand(globals: GlobalOptions, args: string[], json: boolean, group = false): number {
  const [sigText, ...names] = args;
  if (!sigText || names.length === 0) throw new UsageError('usage: tend signal SIGNAL NAME... (for example: tend signal HUP web)');
  const signal = parseSignalName(sigText);
  if (!signal) throw new UsageError(`unknown signal '${sigText}'`);
  const { rows, unknown } = filterRows(collectStatus(globals), names);
  const records = new RecordStore(globals.stateDir).load();
  const control = new OsProcessControl();
  const results = rows.map((r) => {
    const record = records.get(r.name);
    const sent = r.pid !== null && record !== undefined && control.signal(record, signal, group ? 'group' : 'process');
    return { name: r.name, result: sent ? 'signalled' : 'error', error: sent ? null : 'not running' };
  });
  for (const n of unknown) results.push({ name: n, result: 'error', error: 'no such program' });
  if (json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else for (const r of results) process.stdout.write(r.error ? `${r.name}: ERROR (${r.error})\n` : `${r.name}: ${r.result}\n`);
  return results.some((r) => r.error) ? EXIT.NOT_CONVERGED : EXIT.OK;
}
