import { existsSync, readFileSync } from 'node:fs';
import { tendVersion } from './version.js';
import { isTendError } from '../errors.js';
import { renderExposition } from '../reconciler/exposition.js';
import { metricFamilies, type TelemetrySnapshot } from '../reconciler/metrics.js';
import { statusRows } from '../reconciler/status.js';
import { Telemetry } from '../runtime/telemetry.js';
import { OsProcessControl } from '../spawner/os-process-control.js';
import { loadHostState } from '../state/desired/load.js';
import type { DesiredState } from '../state/desired/schema.js';
import type { TendEvent } from '../state/records/events.js';
import { RecordStore, type InstanceRecord } from '../state/records/records.js';
import { askDaemon } from './control-client.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';

interface Sources {
  desired: DesiredState | null;
  records: ReadonlyMap<string, InstanceRecord>;
  restarts: ReadonlyMap<string, ReadonlyMap<string, number>>;
  fileValid: boolean;
  telemetry: TelemetrySnapshot | null;
}

/** The exposition text for what the sources say, measuring every live instance now. */
export function renderMetrics(sources: Sources, control: OsProcessControl): string {
  const seen = control.observe(sources.records.values());
  const alive = new Map([...seen].map(([name, o]) => [name, o.alive]));
  const now = Date.now();
  const rows = statusRows(sources.desired, sources.records, alive, now);
  const live = [...sources.records.values()].filter((r) => alive.get(r.name));
  const build = { version: tendVersion(), node: process.versions.node };
  return renderExposition(metricFamilies({ rows, desired: sources.desired, measured: control.measure(live, (r) => (sources.desired?.programs.get(r.program)?.limits?.closeWait ?? null) !== null), restarts: sources.restarts, fileValid: sources.fileValid, now, build, telemetry: sources.telemetry }));
}

/** The daemon's metrics: its own table and counters, measured in a separate process control (its own tree cache). */
export function daemonMetrics(loop: { desired(): DesiredState | null; table(): ReadonlyMap<string, InstanceRecord> }, telemetry: Telemetry): () => string {
  const control = new OsProcessControl();
  return () => {
    const records = loop.table();
    const desired = loop.desired();
    const names = new Set([...records.keys()]);
    for (const p of desired?.programs.values() ?? []) for (let i = 0; i < p.replicas; i++) names.add(`${p.name}:${i}`);
    telemetry.prune(names);
    return renderMetrics({ desired, records, restarts: telemetry.restarts, fileValid: telemetry.fileValid ?? desired !== null, telemetry: telemetry.snapshot() }, control);
  };
}

/** `tend metrics`: the daemon's metrics when one runs, else what the files and /proc say (for node_exporter's textfile collector, from cron). */
export async function metricsCommand(globals: GlobalOptions): Promise<number> {
  const reply = await askDaemon(globals.stateDir, { op: 'metrics' }, 5000).catch(() => null);
  if (reply && reply.ok && 'text' in reply) {
    process.stdout.write(reply.text);
    return EXIT.OK;
  }
  let desired: DesiredState | null = null;
  let fileValid = true;
  try {
    desired = loadHostState(globals.file, globals.stateDir).desired;
  } catch (e) {
    if (!isTendError(e)) throw e;
    fileValid = false;
    process.stderr.write(`tend: ${e.message.split('\n')[0]}; metrics of the process table only\n`);
  }
  const records = new RecordStore(globals.stateDir).load();
  process.stdout.write(renderMetrics({ desired, records, restarts: restartsFromEvents(globals.stateDir), fileValid, telemetry: null }, new OsProcessControl()));
  return EXIT.OK;
}

/** Restarts per instance and reason, counted over the events files (oldest first); a rotation away is a counter reset. */
function restartsFromEvents(stateDir: string): Telemetry['restarts'] {
  const counter = new Telemetry();
  for (const suffix of ['.3', '.2', '.1', '']) {
    const file = `${stateDir}/events.jsonl${suffix}`;
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.includes('"started"')) continue;
      try {
        counter.event(JSON.parse(line) as TendEvent);
      } catch {
        // A line cut by a full disk: skipped.
      }
    }
  }
  return counter.restarts;
}
