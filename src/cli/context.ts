import path from 'node:path';
import { ReconcileLoop, type LoopTelemetry } from '../runtime/loop.js';
import type { Clock } from '../runtime/ports.js';
import { OsProcessControl } from '../spawner/os-process-control.js';
import { DesiredSource } from '../state/desired/source.js';
import { EventLog, type TendEvent } from '../state/records/events.js';
import { RecordStore } from '../state/records/records.js';

export interface GlobalOptions {
  /** state.yaml; default ./state.yaml or $TEND_FILE. */
  file: string;
  /** Default `.tend` beside the file, or $TEND_STATE_DIR. */
  stateDir: string;
}

export function resolveGlobals(file: string | undefined, stateDir: string | undefined, env: NodeJS.ProcessEnv, cwd: string): GlobalOptions {
  const f = path.resolve(cwd, file ?? env.TEND_FILE ?? 'state.yaml');
  const dir = path.resolve(cwd, stateDir ?? env.TEND_STATE_DIR ?? path.join(path.dirname(f), '.tend'));
  return { file: f, stateDir: dir };
}

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
): { loop: ReconcileLoop; subscribe: (listener: (e: TendEvent) => void) => () => void } {
  const desired = new DesiredSource(options.file, options.stateDir, log);
  const events = new EventLog(options.stateDir);
  const listeners = new Set<(e: TendEvent) => void>();
  const loop = new ReconcileLoop({
    desired,
    store: new RecordStore(options.stateDir),
    ...ports(new OsProcessControl(options.stateDir)),
    clock: systemClock,
    log,
    event: (e) => {
      try {
        events.append(e);
      } catch (error) {
        // A full disk must not stop the loop: the daemon log still has the line.
        log(`cannot append to ${events.file}: ${(error as Error).message}`);
      }
      for (const listener of listeners) listener(e);
    },
    once,
    ...(telemetry ? { telemetry } : {}),
  });
  const subscribe = (listener: (e: TendEvent) => void) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
  return { loop, subscribe };
}

/** The one real implementation serves as each of the runtime's three ports. */
export function ports(control: OsProcessControl): { processes: OsProcessControl; observer: OsProcessControl; logFiles: OsProcessControl } {
  return { processes: control, observer: control, logFiles: control };
}
