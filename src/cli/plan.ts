import { formatProblem, isTendError } from '../errors.js';
import { plan } from '../reconciler/plan.js';
import { isRestartReason } from '../reconciler/reasons.js';
import type { Action, Observation } from '../reconciler/plan-types.js';
import { OsProcessControl } from '../spawner/os-process-control.js';
import { loadHostState } from '../state/desired/load.js';
import { updatesInPlace } from '../state/desired/in-place.js';
import { loadApplied } from '../state/desired/source.js';
import { RecordStore } from '../state/records/records.js';
import { RestartRequests } from '../state/records/restart-requests.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';

/** What one action does to the machine, in a word a person reads: start, stop, restart, wait. */
function describe(a: Action): { verb: string; instance: string; why: string } | null {
  const why = 'detail' in a && a.detail ? `${a.reason}: ${a.detail}` : a.reason;
  switch (a.type) {
    case 'start':
      return { verb: 'start', instance: a.instance, why };
    case 'stop':
      return { verb: isRestartReason(a.reason) ? 'restart' : 'stop', instance: a.instance, why };
    case 'kill':
      return { verb: 'kill', instance: a.instance, why };
    case 'wait':
      return { verb: 'wait', instance: a.instance, why: a.detail };
    case 'arm':
      return { verb: 'schedule', instance: a.instance, why: a.schedule ? `follows '${a.schedule.expression}' from now on` : 'no longer follows a schedule' };
    default:
      return null; // bookkeeping of the table (an exit seen, RUNNING reached): no change to the machine
  }
}

/**
 * `tend plan [--json]`: what the next pass would do to the machine for the file as it is on
 * disk, from the same `plan()` the daemon runs, without doing it and without the lock. Exit 0
 * when nothing would change, 2 when something would, 1 when the file is invalid.
 */
export function planCommand(globals: GlobalOptions, json: boolean): number {
  let desired;
  try {
    desired = loadHostState(globals.file, globals.stateDir).desired;
  } catch (e) {
    if (!isTendError(e, 'INVALID_STATE_FILE') && !isTendError(e, 'STATE_FILE_UNREADABLE')) throw e;
    process.stderr.write(`${e.problems.length > 0 ? e.problems.map(formatProblem).join('\n') : e.message}\n`);
    return 1;
  }
  desired = { ...desired, instanceRestarts: new RestartRequests(globals.stateDir).load() };
  const records = new RecordStore(globals.stateDir).load();
  const seen = new OsProcessControl(globals.stateDir).observe(records.values());
  const observed = new Map<string, Observation>(
    [...records.keys()].map((name) => [name, { alive: seen.get(name)?.alive ?? false, lingering: seen.get(name)?.lingering ?? 0, exit: null, child: false, probeFailures: 0, probePassed: true }]),
  );
  const steps = plan({ desired, actual: { records, observed }, now: Date.now() }).actions.map(describe).filter((s) => s !== null);
  // Settings a process takes without a restart, compared with the file last put in force here.
  const applied = loadApplied(globals.file, globals.stateDir);
  if (applied) for (const u of updatesInPlace(applied, desired)) steps.push({ verb: 'update', instance: u.program, why: `in place: ${u.fields.join(', ')}` });
  if (json) process.stdout.write(JSON.stringify(steps, null, 2) + '\n');
  else {
    for (const s of steps) process.stdout.write(`${s.verb} ${s.instance} (${s.why})\n`);
    const count = (verb: string) => steps.filter((s) => s.verb === verb).length;
    const inPlace = count('update') + count('schedule');
    process.stdout.write(steps.length === 0 ? 'no changes: the machine matches the file\n' : `plan: ${count('start')} to start, ${count('restart')} to restart, ${count('stop')} to stop, ${count('wait')} waiting${inPlace > 0 ? `, ${inPlace} changed in place` : ''}\n`);
  }
  // Not changes: what this host leaves to others, and why.
  for (const s of desired.skipped ?? []) if (!json) process.stdout.write(`this host skips ${s.program}: ${s.why}\n`);
  return steps.length === 0 ? EXIT.OK : 2;
}
