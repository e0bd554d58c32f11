import { readFileSync } from 'node:fs';
import { GitSync, type GitSource, type SyncOutcome } from '../gitops/sync.js';
import { processCwd } from '../spawner/proc-read.js';
import { EventLog, type TendEvent } from '../state/records/events.js';
import { RecordStore } from '../state/records/records.js';
import type { GlobalOptions } from './context.js';
import { UsageError } from './usage-error.js';
import { urlProblem } from '../gitops/url.js';

export interface GitOptions {
  url: string;
  ref: string;
  path: string;
  /** Between syncs. Default 60s. */
  intervalMs: number;
  allowEmpty: boolean;
  sshKey: string | null;
  knownHosts: string | null;
  tokenFile: string | null;
  /** One git command's limit. Default 60s. */
  timeoutMs: number;
}

/** `reconcile --git`: syncs now and every interval; each result is an event and a log line. */
export class GitDriver {
  private readonly sync: GitSync;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    globals: GlobalOptions,
    private readonly options: GitOptions,
    private readonly log: (line: string) => void,
    private readonly record: (e: TendEvent) => void = (e) => new EventLog(globals.stateDir).append(e),
  ) {
    const problem = urlProblem(options.url);
    if (problem) throw new UsageError(`--git: ${problem}`);
    const token = options.tokenFile ? readFileSync(options.tokenFile, 'utf8').trim() : null;
    const source: GitSource = { url: options.url, ref: options.ref, path: options.path, allowEmpty: options.allowEmpty, sshKey: options.sshKey, knownHosts: options.knownHosts, token, timeoutMs: options.timeoutMs };
    // The commits whose files a running program works in are kept.
    const cwdsInUse = () => [...new RecordStore(globals.stateDir).load().values()].map((r) => (r.pid === null ? null : processCwd(r.pid))).filter((cwd): cwd is string => cwd !== null);
    this.sync = new GitSync(source, globals.stateDir, cwdsInUse);
  }

  async syncOnce(next: Date | null = null): Promise<SyncOutcome> {
    const outcome = await this.sync.sync(next);
    const short = (c: { commit: string; subject: string }) => `${c.commit.slice(0, 12)} "${c.subject}"`;
    const message =
      outcome.result === 'applied' ? `applied ${short(outcome.commit)}`
      : outcome.result === 'unchanged' ? `${short(outcome.commit)} is in force; nothing new`
      : outcome.result === 'refused' ? `refused ${short(outcome.commit)}${outcome.again ? ' (refused before; not checked again)' : ''}: ${outcome.why.join('; ')}; the last good commit stays in force`
      : `sync failed: ${outcome.error}; the commit in force stays`;
    if (outcome.result !== 'unchanged') this.log(`git: ${message}`);
    try {
      this.record({ at: new Date().toISOString(), instance: 'git', event: 'git-sync', reason: outcome.result, pid: null, message });
    } catch (e) {
      this.log(`cannot record the sync in the events file: ${(e as Error).message}`);
    }
    return outcome;
  }

  /** Syncs every interval; `onApplied` after a new commit is in force. */
  start(onApplied: () => void): void {
    const tick = async () => {
      const outcome = await this.syncOnce(new Date(Date.now() + this.options.intervalMs));
      if (outcome.result === 'applied') onApplied();
      if (this.timer !== null) this.timer = setTimeout(() => void tick(), this.options.intervalMs);
    };
    this.timer = setTimeout(() => void tick(), this.options.intervalMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
