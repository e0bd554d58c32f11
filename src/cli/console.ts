import { isInherited, logPath, parseInstanceName, type DesiredState } from '../state/desired/schema.js';
import type { TendEvent } from '../state/records/events.js';
import type { InstanceRecord } from '../state/records/records.js';
import { Follower } from './tail.js';

/** How often the console looks for new output (the files are the source: nothing is lost between looks). */
const CONSOLE_POLL_MS = 100;
const COLORS = [36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91];

type Stream = NodeJS.WritableStream & { isTTY?: boolean };

/**
 * `tend reconcile --console`: every instance's output also on tend's stdout (its stderr on
 * tend's stderr), each line prefixed with the instance name, padded, coloured only on a
 * terminal and never under NO_COLOR, as docker compose and foreman do. It follows the log
 * files from where each run's output begins (the `started` event says where), so a program
 * never writes through tend, and no line is lost or shown twice.
 */
export class Console {
  private readonly followers = new Map<string, Follower>();
  private timer: NodeJS.Timeout | null = null;
  private width = 0;
  private readonly color: boolean;

  private adopted = false;

  constructor(
    private readonly desired: () => DesiredState | null,
    private readonly table: () => ReadonlyMap<string, InstanceRecord>,
    private readonly out: Stream = process.stdout,
    private readonly err: Stream = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.color = out.isTTY === true && env.NO_COLOR === undefined;
  }

  start(): void {
    this.timer = setInterval(() => this.poll(), CONSOLE_POLL_MS);
  }

  /** A last look, so that the final lines of stopped programs are shown too. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.poll();
  }

  /** Feed it the loop's events: each `started` begins following that run's files. */
  onEvent(event: TendEvent): void {
    if (event.event !== 'started') return;
    const desired = this.desired();
    const parsed = parseInstanceName(event.instance);
    const program = parsed && desired?.programs.get(parsed.program);
    if (!program) return;
    const { replica } = parsed;
    this.width = Math.max(this.width, ...[...desired!.programs.values()].map((p) => `${p.name}:${Math.max(0, p.replicas - 1)}`.length));
    const streams: [string, Stream, number | null | undefined][] = [[program.logs.stdout, this.out, event.logStart?.stdout]];
    if (program.logs.stderr !== 'stdout') streams.push([program.logs.stderr, this.err, event.logStart?.stderr]);
    for (const [template, to, from] of streams) {
      if (isInherited(template)) continue; // already on tend's own stream
      const file = logPath(template, program.name, replica);
      this.followers.get(file)?.poll(); // the previous run's last lines first
      this.followers.set(file, new Follower(file, (line) => to.write(this.prefix(event.instance) + line + '\n'), from ?? 'end'));
    }
  }

  private poll(): void {
    // Programs that were already running when tend started: from their output's end.
    if (!this.adopted && this.desired()) {
      this.adopted = true;
      for (const r of this.table().values()) if (r.pid !== null) this.onEvent({ at: '', instance: r.name, event: 'started', reason: 'adopted', pid: r.pid, message: '' });
    }
    for (const f of this.followers.values()) {
      try {
        f.poll();
      } catch {
        // A file rotated or removed between the stat and the read: the next look catches up.
      }
    }
  }

  private prefix(instance: string): string {
    const label = `${instance.padEnd(this.width)} | `;
    if (!this.color) return label;
    let h = 0;
    for (const c of instance.split(':')[0]!) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return `\x1b[${COLORS[h % COLORS.length]}m${label}\x1b[0m`;
  }
}
