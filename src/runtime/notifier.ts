import { Episodes, type Alert } from '../reconciler/alerts.js';
import type { NotifySink, NotifySpec } from '../state/desired/notify.js';
import { INHERIT_STDERR, INHERIT_STDOUT, logPath, parseInstanceName, type DesiredState } from '../state/desired/schema.js';
import type { TendEvent } from '../state/records/events.js';
import type { InstanceRecord } from '../state/records/records.js';
import type { Clock, NotifyDelivery, TimerHandle, Timers } from './ports.js';

/** Alerts waiting per sink; beyond it, new ones are dropped (and counted). */
export const NOTIFY_QUEUE = 100;
/** The first retry's delay; each next one doubles. */
export const NOTIFY_RETRY_MS = 1000;
/** Lines of the instance's stderr sent with an alert. */
export const STDERR_LINES = 20;

export interface NotifierDeps {
  timers: Timers;
  clock: Clock;
  delivery: NotifyDelivery;
  log: (line: string) => void;
  /** Counts each alert's outcome (the metrics). */
  count: (result: 'sent' | 'failed' | 'dropped') => void;
  desired: () => DesiredState | null;
  table: () => ReadonlyMap<string, InstanceRecord>;
  fileValid: () => boolean;
  host: string;
}

interface Queue {
  spec: NotifySpec;
  items: { alert: Alert; attempt: number }[];
  busy: boolean;
}

/**
 * Turns events into alerts (one per failure episode) and delivers them in the background:
 * a bounded queue per sink, one delivery at a time, each with a timeout and retries. The
 * loop only hands events over; a sink that hangs delays other alerts to that sink, never a pass.
 */
export class Notifier {
  private readonly episodes = new Episodes();
  private readonly queues = new Map<string, Queue>();
  private check: TimerHandle | null = null;
  private closed = false;

  constructor(private readonly deps: NotifierDeps) {}

  onEvent(e: TendEvent): void {
    if (this.closed || this.sinks().length === 0) return;
    const alert = this.episodes.onEvent(e, this.deps.table().get(e.instance), this.deps.clock.now());
    if (alert) this.send(alert);
    this.recover();
  }

  /** Stops the timers; what is still queued is dropped (and counted). */
  close(): void {
    this.closed = true;
    this.check?.cancel();
    for (const q of this.queues.values()) {
      for (const _ of q.items) this.deps.count('dropped');
      if (q.items.length > 0) this.deps.log(`notify: ${q.items.length} alert(s) to ${describeSink(q.spec.sink)} not sent: tend is exiting`);
      q.items.length = 0;
    }
  }

  private sinks(): NotifySpec[] {
    return this.deps.desired()?.notify ?? [];
  }

  /** Ends the episodes that are over; while any is open, looks again when the next could end. */
  private recover(): void {
    this.check?.cancel();
    this.check = null;
    if (this.closed) return;
    const now = this.deps.clock.now();
    const { alerts, wakeAt } = this.episodes.recoveries(this.deps.table(), this.deps.desired(), this.deps.fileValid(), now);
    for (const a of alerts) this.send(a);
    if (this.episodes.size > 0) this.check = this.deps.timers.after(wakeAt === null ? 1000 : Math.max(50, wakeAt - now), () => this.recover(), true);
  }

  private send(alert: Alert): void {
    this.deps.log(`notify: ${alert.kind} ${alert.instance}: ${alert.message}`);
    for (const spec of this.sinks()) {
      if (!spec.on.includes(alert.kind)) continue;
      const key = JSON.stringify(spec.sink);
      const queue = this.queues.get(key) ?? { spec, items: [], busy: false };
      queue.spec = spec;
      this.queues.set(key, queue);
      if (queue.items.length >= NOTIFY_QUEUE) {
        this.deps.count('dropped');
        this.deps.log(`notify: dropped a ${alert.kind} alert for ${alert.instance}: ${NOTIFY_QUEUE} alerts already wait for ${describeSink(spec.sink)}`);
        continue;
      }
      queue.items.push({ alert, attempt: 0 });
      this.drain(queue);
    }
  }

  private drain(queue: Queue): void {
    if (queue.busy || this.closed) return;
    const next = queue.items[0];
    if (!next) return;
    queue.busy = true;
    const { body, env } = this.payload(next.alert);
    void this.deps.delivery.deliver(queue.spec.sink, body, env, queue.spec.timeout).then((outcome) => {
      if (this.closed) return;
      if (outcome.ok) {
        queue.items.shift();
        this.deps.count('sent');
        queue.busy = false;
        return this.drain(queue);
      }
      if (next.attempt >= queue.spec.retries) {
        queue.items.shift();
        this.deps.count('failed');
        this.deps.log(`notify: could not send a ${next.alert.kind} alert for ${next.alert.instance} to ${describeSink(queue.spec.sink)} after ${next.attempt + 1} attempt(s): ${outcome.error}`);
        queue.busy = false;
        return this.drain(queue);
      }
      const delay = NOTIFY_RETRY_MS * 2 ** next.attempt;
      next.attempt++;
      this.deps.timers.after(delay, () => {
        queue.busy = false;
        this.drain(queue);
      }, true);
    });
  }

  /** The alert as JSON (with the instance's last stderr lines) and as TEND_* variables. */
  private payload(alert: Alert): { body: string; env: Record<string, string> } {
    const stderr = this.stderrTail(alert.instance);
    const body = JSON.stringify({ ...alert, at: new Date(alert.at).toISOString(), host: this.deps.host, stderr });
    const env: Record<string, string> = { TEND_KIND: alert.kind, TEND_INSTANCE: alert.instance, TEND_PROGRAM: alert.program ?? '', TEND_REASON: alert.reason, TEND_DETAIL: alert.detail ?? '', TEND_MESSAGE: alert.message, TEND_HOST: this.deps.host, TEND_AT: new Date(alert.at).toISOString() };
    return { body, env };
  }

  private stderrTail(instance: string): string[] {
    const parsed = parseInstanceName(instance);
    const program = parsed ? this.deps.desired()?.programs.get(parsed.program) : undefined;
    if (!parsed || !program) return [];
    const template = program.logs.stderr === 'stdout' ? program.logs.stdout : program.logs.stderr;
    if (template === INHERIT_STDERR || template === INHERIT_STDOUT) return [];
    return this.deps.delivery.tail(logPath(template, program.name, parsed.replica), STDERR_LINES);
  }
}

/** A sink as the log names it: a webhook by its origin only (its path often holds a token). */
function describeSink(sink: NotifySink): string {
  if (sink.kind === 'exec') return `exec ${sink.command[0]}`;
  try {
    return `webhook ${new URL(sink.url).origin}`;
  } catch {
    return 'webhook';
  }
}
