import { ReconcileLoop, type LoopTelemetry } from '../runtime/loop.js';
import type { GlobalOptions } from './globals.js';
import type { Clock } from '../runtime/ports.js';
import { OsProcessControl } from '../spawner/os-process-control.js';
import { DesiredSource } from '../state/desired/source.js';
import { EventLog, type TendEvent } from '../state/records/events.js';
import { RecordStore } from '../state/records/records.js';

export type { GlobalOptions } from './globals.js';
export { resolveGlobals } from './globals.js';

export const systemClock: Clock = { now: () => Date.now() };

/** A timestamped line on stderr, the daemon's log. */
export function logLine(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

/** The one place that builds the real loop: real clock, real processes, real files. */
export function buildLoop(
  options: GlobalOptions,
  log: (line: string) => void = logLine,
  once = false,
  telemetry?: LoopTelemetry,
): { loop: ReconcileLoop; subscribe: (listener: (e: TendEvent) => void) => () => void; record: (e: TendEvent) => void } {
  const desired = new DesiredSource(options.file, options.stateDir, log);
  const events = new EventLog(options.stateDir);
  const listeners = new Set<(e: TendEvent) => void>();
  // The events of one run of the loop (a pass that stops 100 programs records 200) are
  // written together when it yields: one append, not one per event.
  let pending: TendEvent[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    try {
      events.appendAll(batch);
    } catch (error) {
      // A full disk must not stop the loop: the daemon log still has the lines.
      log(`cannot append to ${events.file}: ${(error as Error).message}`);
    }
  };
  const record = (e: TendEvent) => {
    if (pending.length === 0) queueMicrotask(flush);
    pending.push(e);
    for (const listener of listeners) listener(e);
  };
  const loop = new ReconcileLoop({
    desired,
    store: new RecordStore(options.stateDir),
    ...ports(new OsProcessControl(options.stateDir)),
    clock: systemClock,
    log,
    event: record,
    once,
    ...(telemetry ? { telemetry } : {}),
  });
  const subscribe = (listener: (e: TendEvent) => void) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
  return { loop, subscribe, record };
}

/** The one real implementation serves as each of the runtime's three ports. */
export function ports(control: OsProcessControl): { processes: OsProcessControl; observer: OsProcessControl; logFiles: OsProcessControl } {
  return { processes: control, observer: control, logFiles: control };
}
