import { formatDuration } from '../state/desired/duration.js';
import type { NotifyKind } from '../state/desired/notify.js';
import { parseInstanceName, type DesiredState } from '../state/desired/schema.js';
import type { TendEvent } from '../state/records/events.js';
import type { InstanceRecord } from '../state/records/records.js';
import { LIMITS } from './limits.js';

/** Crashes in a row, each after the instance was running, that make a crash loop. */
export const CRASH_LOOP_EXITS = 3;

/** The reasons of a stop that is a restart for a limit or a failing probe. */
const RESTARTED_FOR: ReadonlySet<string> = new Set([...Object.values(LIMITS).map((l) => l.reason), 'health']);

type EpisodeKind = 'fatal' | 'crash-loop' | 'restarted' | 'file-invalid';

interface Episode {
  kind: EpisodeKind;
  since: number;
  reason: string;
}

/** One notification: what happened to which instance (or to the file), and why. */
export interface Alert {
  kind: NotifyKind;
  /** `web:0`, or the file's name for file-invalid. */
  instance: string;
  program: string | null;
  reason: string;
  detail: string | null;
  message: string;
  at: number;
  restarts: number | null;
  /** For recovered: the episode it ends. */
  episode?: { kind: EpisodeKind; since: number; durationMs: number };
}

/**
 * Failure episodes, one per instance (and one for the file): an alert when one opens, none
 * while it lasts (a crash loop of a hundred restarts is one alert), a `recovered` when it
 * ends: a FATAL instance runs again, a crash-looping or restarted one has run for its
 * backoff.resetAfter (the same "stable" that resets the backoff), the file is valid again.
 * An instance stopped or removed by the file ends its episode without a word. No I/O.
 */
export class Episodes {
  private readonly open = new Map<string, Episode>();

  /** The alert an event opens or ends, if any. `record` is the instance's record after the event. */
  onEvent(e: TendEvent, record: InstanceRecord | undefined, now: number): Alert | null {
    const current = this.open.get(e.instance);
    const base = { instance: e.instance, program: record?.program ?? parseInstanceName(e.instance)?.program ?? null, at: now, restarts: record?.restarts ?? null };
    const start = (kind: EpisodeKind, alert: NotifyKind, detail: string | null, message: string): Alert => {
      this.open.set(e.instance, { kind, since: now, reason: e.reason });
      return { ...base, kind: alert, reason: e.reason, detail, message };
    };
    const how = e.signal ? `killed by ${e.signal}` : e.code != null ? `exited with code ${e.code}` : 'exited (code unknown)';
    if (e.event === 'exit' && e.to === 'FATAL' && current?.kind !== 'fatal') {
      const tries = record ? `; ${record.startFailures} start(s) in a row ended before startSeconds` : '';
      return start('fatal', 'fatal', how, `${e.instance} went FATAL: it ${how}${tries}`);
    }
    if (e.event === 'exit' && e.to === 'BACKOFF' && !current && record && record.startFailures === 0 && record.failures >= CRASH_LOOP_EXITS) {
      return start('crash-loop', 'crash-loop', how, `${e.instance} is in a crash loop: ${record.failures} crashes in a row, each after it was running (last: ${how})`);
    }
    if (e.event === 'stop' && RESTARTED_FOR.has(e.reason) && !current) {
      const detail = record?.lastDetail ?? null;
      return start('restarted', 'restarted', detail, `${e.instance} is being restarted for ${e.reason}${detail ? ` (${detail})` : ''}`);
    }
    if (e.event === 'file-invalid' && !current) return start('file-invalid', 'file-invalid', e.message, `${e.message}; the last valid desired state stays in force`);
    if (e.event === 'running' && current?.kind === 'fatal') return this.end(e.instance, current, base, now);
    return null;
  }

  /** The episodes that ended by now (stable runs, a valid file), and when to look again. */
  recoveries(records: ReadonlyMap<string, InstanceRecord>, desired: DesiredState | null, fileValid: boolean, now: number): { alerts: Alert[]; wakeAt: number | null } {
    const alerts: Alert[] = [];
    let wakeAt: number | null = null;
    for (const [name, episode] of [...this.open]) {
      if (episode.kind === 'file-invalid') {
        if (fileValid) alerts.push(this.end(name, episode, { instance: name, program: null, at: now, restarts: null }, now));
        continue;
      }
      const record = records.get(name);
      const program = record ? desired?.programs.get(record.program) : undefined;
      if (!record || !program || program.state === 'stopped' || record.replica >= program.replicas) {
        this.open.delete(name);
        continue;
      }
      if (record.state !== 'RUNNING' || record.startedAt === null) continue;
      const stableAt = episode.kind === 'fatal' ? now : Math.max(record.startedAt, episode.since) + program.restart.backoff.resetAfter;
      if (now >= stableAt) alerts.push(this.end(name, episode, { instance: name, program: record.program, at: now, restarts: record.restarts }, now));
      else wakeAt = wakeAt === null ? stableAt : Math.min(wakeAt, stableAt);
    }
    return { alerts, wakeAt };
  }

  get size(): number {
    return this.open.size;
  }

  private end(name: string, episode: Episode, base: Pick<Alert, 'instance' | 'program' | 'at' | 'restarts'>, now: number): Alert {
    this.open.delete(name);
    const durationMs = now - episode.since;
    const what = episode.kind === 'file-invalid' ? 'the file is valid again' : `${name} is running again`;
    return { ...base, kind: 'recovered', reason: episode.kind, detail: null, message: `${what}, after ${formatDuration(durationMs)}${episode.kind === 'file-invalid' ? '' : ` of ${episode.kind} (${episode.reason})`}`, episode: { kind: episode.kind, since: episode.since, durationMs } };
  }
}
