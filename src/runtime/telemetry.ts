import type { TelemetrySnapshot } from '../reconciler/metrics.js';
import { isRestartReason, continuesStreak } from '../reconciler/reasons.js';
import type { TendEvent } from '../state/records/events.js';
import type { LoopTelemetry } from './loop.js';
import { TRIGGERS, type Trigger } from './scheduler.js';

/** Bounds of the pass duration histogram, in seconds: a pass is milliseconds; a slow one is the news. */
export const PASS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/**
 * What the daemon counts for its metrics, told by the loop (passes, probes, the file) and
 * by the events (restarts). Counters start at 0 with the daemon, as Prometheus expects.
 */
export class Telemetry implements LoopTelemetry {
  private readonly passes = new Map<Trigger, number>(TRIGGERS.map((t) => [t, 0]));
  private passFailures = 0;
  private readonly counts: number[] = PASS_BUCKETS.map(() => 0);
  private sum = 0;
  private count = 0;
  private readonly probes = new Map<string, { ok: boolean; failures: number }>();
  /** Per instance, per reason. */
  readonly restarts = new Map<string, Map<string, number>>();
  private lastAppliedAt: number | null = null;
  private readonly notifications = { sent: 0, failed: 0, dropped: 0 };

  pass(trigger: Trigger, durationMs: number, ok: boolean): void {
    this.passes.set(trigger, (this.passes.get(trigger) ?? 0) + 1);
    if (!ok) this.passFailures++;
    const seconds = durationMs / 1000;
    const bucket = PASS_BUCKETS.findIndex((b) => seconds <= b);
    if (bucket >= 0) this.counts[bucket]!++;
    this.sum += seconds;
    this.count++;
  }

  probe(instance: string, ok: boolean): void {
    const p = this.probes.get(instance) ?? { ok, failures: 0 };
    p.ok = ok;
    if (!ok) p.failures++;
    this.probes.set(instance, p);
  }

  /** Null until a pass has read the file. */
  fileValid: boolean | null = null;

  file(valid: boolean, appliedAt: number | null): void {
    this.fileValid = valid;
    if (appliedAt !== null) this.lastAppliedAt = appliedAt;
  }

  notification(result: 'sent' | 'failed' | 'dropped'): void {
    this.notifications[result]++;
  }

  /** A start after an earlier run counts as a restart, by its reason. */
  event(e: TendEvent): void {
    if (e.event !== 'started' || !(isRestartReason(e.reason) || continuesStreak(e.reason))) return;
    const byReason = this.restarts.get(e.instance) ?? new Map<string, number>();
    byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
    this.restarts.set(e.instance, byReason);
  }

  /** Drops what is kept of instances no longer in the file or the table (label values stay bounded). */
  prune(instances: ReadonlySet<string>): void {
    for (const map of [this.restarts, this.probes]) for (const name of map.keys()) if (!instances.has(name)) map.delete(name);
  }

  snapshot(): TelemetrySnapshot {
    return {
      passes: this.passes,
      passFailures: this.passFailures,
      passBuckets: { bounds: PASS_BUCKETS, counts: this.counts, sum: this.sum, count: this.count },
      probes: this.probes,
      lastAppliedAt: this.lastAppliedAt,
      notifications: this.notifications,
    };
  }
}
