import type { DesiredState } from '../state/desired/schema.js';
import { INSTANCE_STATES } from '../state/records/states.js';
import { histogramSamples, type Family, type Sample } from './exposition.js';
import { LIMIT_KIND_LIST, LIMITS } from './limits.js';
import { RESTART_REASONS } from './reasons.js';
import type { InstanceStatus } from './status.js';

/** What one process tree measured at scrape time. */
export interface Measured {
  memory: number;
  openFiles: number;
  closeWait: number;
  /** user + system CPU time of the tree's live members, in seconds. */
  cpuSeconds: number;
}

/** What a running daemon counted since it started (counters reset with it, as Prometheus expects). */
export interface TelemetrySnapshot {
  passes: ReadonlyMap<string, number>;
  passFailures: number;
  /** Upper bounds in seconds, and how many passes fell in each (not cumulative). */
  passBuckets: { bounds: readonly number[]; counts: readonly number[]; sum: number; count: number };
  probes: ReadonlyMap<string, { ok: boolean; failures: number }>;
  lastAppliedAt: number | null;
  notifications: Readonly<Record<'sent' | 'failed' | 'dropped', number>>;
}

export interface MetricsInput {
  rows: readonly InstanceStatus[];
  desired: DesiredState | null;
  measured: ReadonlyMap<string, Measured>;
  /** Restarts per instance and reason: the daemon's counters, or counted from the events file. */
  restarts: ReadonlyMap<string, ReadonlyMap<string, number>>;
  fileValid: boolean;
  now: number;
  build: { version: string; node: string };
  /** Null when no daemon runs (`tend metrics` read the files): the daemon's own families are left out. */
  telemetry: TelemetrySnapshot | null;
}

/** Every family tend exposes, per instance and per daemon. Label values are bounded by state.yaml. */
export function metricFamilies(input: MetricsInput): Family[] {
  const { rows, desired, measured, now } = input;
  const id = (r: InstanceStatus) => ({ instance: r.name, program: r.program });
  const family = (name: string, help: string, type: Family['type'], samples: Sample[]): Family => ({ name, help, type, samples });
  const per = (pick: (r: InstanceStatus) => number | null) => rows.flatMap((r) => {
    const v = pick(r);
    return v === null ? [] : [{ labels: id(r), value: v }];
  });
  const limitOf = (r: InstanceStatus, kind: (typeof LIMIT_KIND_LIST)[number]) => desired?.programs.get(r.program)?.limits?.[kind] ?? null;
  const families: Family[] = [
    family('tend_instance_state', 'The instance is in this state (1) or not (0); one series per state', 'gauge', rows.flatMap((r) => INSTANCE_STATES.map((state) => ({ labels: { ...id(r), state }, value: r.state === state ? 1 : 0 })))),
    family('tend_instance_desired_running', 'state.yaml asks for this instance to run (1) or not (0)', 'gauge', per((r) => (r.desired === 'running' ? 1 : 0))),
    family('tend_instance_restarts_total', 'Starts after an earlier run, by the reason of the restart', 'counter', rows.flatMap((r) => RESTART_REASONS.map((reason) => ({ labels: { ...id(r), reason }, value: input.restarts.get(r.name)?.get(reason) ?? 0 })))),
    family('tend_instance_start_time_seconds', 'When the running process started (Unix time)', 'gauge', per((r) => (r.uptimeMs === null ? null : (now - r.uptimeMs) / 1000))),
    family('tend_instance_last_exit_code', 'Exit code of the last run (absent when it was ended by a signal or its code is unknown)', 'gauge', per((r) => r.lastExit?.code ?? null)),
    family('tend_instance_last_exit_time_seconds', 'When the last run ended (Unix time)', 'gauge', per((r) => (r.lastExit ? Date.parse(r.lastExit.at) / 1000 : null))),
    family('tend_instance_cpu_seconds_total', 'CPU time (user and system) of the live processes of the tree', 'counter', per((r) => measured.get(r.name)?.cpuSeconds ?? null)),
  ];
  for (const kind of LIMIT_KIND_LIST) {
    const t = LIMITS[kind];
    // CLOSE_WAIT is counted where a limit asks for it (a readlink per descriptor); the others everywhere.
    const shown = (r: InstanceStatus) => (kind !== 'closeWait' || limitOf(r, kind) !== null ? (measured.get(r.name)?.[kind] ?? null) : null);
    families.push(family(t.metric, t.help, 'gauge', per(shown)));
    families.push(family(t.limitMetric, `The limit set on ${t.metric} (a restart follows when it is crossed)`, 'gauge', per((r) => limitOf(r, kind))));
  }
  const tel = input.telemetry;
  if (tel) {
    const probed = rows.filter((r) => tel.probes.has(r.name));
    families.push(
      family('tend_instance_probe_success', 'The last health probe passed (1) or failed (0)', 'gauge', probed.map((r) => ({ labels: id(r), value: tel.probes.get(r.name)!.ok ? 1 : 0 }))),
      family('tend_instance_probe_failures_total', 'Failed health probes since the daemon started', 'counter', probed.map((r) => ({ labels: id(r), value: tel.probes.get(r.name)!.failures }))),
    );
    const b = tel.passBuckets;
    const cumulative = b.counts.map((_, i) => b.counts.slice(0, i + 1).reduce((a, c) => a + c, 0));
    families.push(
      family('tend_reconcile_pass_duration_seconds', 'How long a reconcile pass took', 'histogram', histogramSamples({}, b.bounds, cumulative, b.sum, b.count)),
      family('tend_reconcile_passes_total', 'Reconcile passes, by what asked for them first', 'counter', [...tel.passes].map(([trigger, n]) => ({ labels: { trigger }, value: n }))),
      family('tend_reconcile_pass_failures_total', 'Reconcile passes that failed (retried with a backoff)', 'counter', [{ labels: {}, value: tel.passFailures }]),
      family('tend_notifications_total', 'Notifications, by outcome (dropped: the queue was full)', 'counter', (['sent', 'failed', 'dropped'] as const).map((result) => ({ labels: { result }, value: tel.notifications[result] }))),
    );
    if (tel.lastAppliedAt !== null) families.push(family('tend_state_file_last_applied_timestamp_seconds', 'When a valid state.yaml was last put in force (Unix time)', 'gauge', [{ labels: {}, value: tel.lastAppliedAt / 1000 }]));
  }
  families.push(
    family('tend_state_file_valid', 'state.yaml on disk is valid (1) or not (0: the last valid one stays in force)', 'gauge', [{ labels: {}, value: input.fileValid ? 1 : 0 }]),
    family('tend_build_info', 'tend version and the Node.js it runs on', 'gauge', [{ labels: input.build, value: 1 }]),
  );
  return families;
}
