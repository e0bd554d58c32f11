import { cron } from '../state/desired/cron.js';
import { formatDuration } from '../state/desired/duration.js';
import type { InstanceRecord } from '../state/records/records.js';
import type { ProgramSpec } from '../state/desired/schema.js';
import { LIMIT_KIND_LIST, LIMITS, type LimitReason } from './limits.js';
import type { Observation } from './plan-types.js';

export interface DueRestart {
  reason: 'schedule' | 'max-uptime' | 'health' | LimitReason;
  /** The measured value, for status, events and the log: `memory: 530Mi > 512Mi for 3 samples`. */
  detail: string;
  /** Leaks and failed probes restart at once; schedules and maxUptime roll one replica at a time. */
  immediate: boolean;
}

/**
 * Whether a RUNNING instance is due for a restart, and why. Pure: `wake` receives the next
 * moment this could change (the next tick, the maxUptime deadline).
 */
export function dueRestart(program: ProgramSpec, record: InstanceRecord, obs: Observation, now: number, wake: (at: number) => void): DueRestart | null {
  const started = record.startedAt ?? now;
  if (program.limits && obs.usage) {
    for (const kind of LIMIT_KIND_LIST) {
      const max = program.limits[kind];
      const u = obs.usage[kind];
      if (max !== null && u && u.over >= program.limits.samples) {
        const { reason, format } = LIMITS[kind];
        return { reason, detail: `${kind}: ${format(u.value)} > ${format(max)} for ${u.over} sample${u.over === 1 ? '' : 's'}`, immediate: true };
      }
    }
  }
  if (program.health && obs.probeFailures >= program.health.failures) {
    return { reason: 'health', detail: `health: ${obs.probeFailures} failed probes in a row${obs.probeError ? ` (${obs.probeError})` : ''}`, immediate: true };
  }
  const { schedule, timezone, maxUptime, jitter } = program.restart;
  if (schedule !== null && record.scheduleArmed?.expression === schedule) {
    // Every tick since the later of the start and the arming folds into one restart.
    const since = Math.max(started, record.scheduleArmed.since);
    const options = (at: number) => ({ currentDate: new Date(at), ...(timezone ? { tz: timezone } : {}) });
    const last = cron().parse(schedule, options(now + 1)).prev().getTime();
    if (last > since) return { reason: 'schedule', detail: `schedule '${schedule}': tick at ${new Date(last).toISOString()}`, immediate: false };
    wake(cron().parse(schedule, options(now)).next().getTime());
  }
  if (maxUptime !== null) {
    const limit = maxUptime + jitterOffset(record.token, jitter);
    if (now - started >= limit) return { reason: 'max-uptime', detail: `up ${formatDuration(now - started)} >= maxUptime ${formatDuration(limit)}`, immediate: false };
    wake(started + limit);
  }
  return null;
}

/** A stable offset in [0, jitter] for one instance start (its token), so replicas spread out. */
export function jitterOffset(token: string, jitter: number): number {
  if (jitter <= 0) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193) >>> 0;
  return h % (jitter + 1);
}
