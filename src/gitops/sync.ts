import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { formatProblem, isTendError, type Problem } from '../errors.js';
import { loadStateText } from '../state/desired/load.js';
import { extract, git, type GitAccess } from './git.js';
import { gitDir, linkedFile, readSyncStatus, writeSyncStatus, type CommitInfo, type SyncStatus } from './sync-state.js';
import { redactUrl } from './url.js';

export interface GitSource extends GitAccess {
  /** Branch or tag. Default main. */
  ref: string;
  /** state.yaml's path in the repository. Default state.yaml. */
  path: string;
  /** Apply a commit that leaves no program. Default false: refused, the last good commit stays. */
  allowEmpty: boolean;
}

export type SyncOutcome =
  | { result: 'applied'; commit: CommitInfo }
  | { result: 'unchanged'; commit: CommitInfo }
  | { result: 'refused'; commit: CommitInfo; why: string[]; again: boolean }
  | { result: 'failed'; error: string };

/**
 * Pulls state.yaml from a repository, as kubernetes' git-sync does: a shallow fetch into
 * the state directory, the fetched file validated before anything changes, then each
 * commit's files in a directory of their own and a `current` link renamed over the old one
 * (one atomic step). A commit that does not validate is never applied, and not tried again.
 */
export class GitSync {
  private readonly root: string;
  private readonly repo: string;

  constructor(
    private readonly source: GitSource,
    private readonly stateDir: string,
    /** Directories that running processes have as their cwd (their commits' files are kept). */
    private readonly cwdsInUse: () => string[] = () => [],
  ) {
    this.root = gitDir(stateDir);
    this.repo = path.join(this.root, 'repo.git');
  }

  get file(): string {
    return linkedFile(this.stateDir, this.source.path);
  }

  async sync(nextSyncAt: Date | null): Promise<SyncOutcome> {
    const status = readSyncStatus(this.stateDir) ?? { source: this.described(), applied: null, refused: null, lastSync: null, nextSyncAt: null };
    status.source = this.described();
    const outcome = await this.attempt(status);
    status.lastSync = { at: new Date().toISOString(), ok: outcome.result !== 'failed', ...(outcome.result === 'failed' ? { error: outcome.error } : {}) };
    status.nextSyncAt = nextSyncAt?.toISOString() ?? null;
    writeSyncStatus(this.stateDir, status);
    return outcome;
  }

  private described(): SyncStatus['source'] {
    return { url: redactUrl(this.source.url), ref: this.source.ref, path: this.source.path };
  }

  private async attempt(status: SyncStatus): Promise<SyncOutcome> {
    const s = this.source;
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    if (!existsSync(path.join(this.repo, 'HEAD'))) {
      const init = await git(['init', '--bare', '--quiet', this.repo], s);
      if (init.code !== 0) return { result: 'failed', error: `git init: ${init.stderr.trim()}` };
    }
    const fetch = await git(['--git-dir', this.repo, 'fetch', '--quiet', '--depth', '1', '--no-tags', s.url, s.ref], s);
    if (fetch.code !== 0) return { result: 'failed', error: `git fetch ${redactUrl(s.url)} ${s.ref}: ${fetch.stderr.trim() || `exit ${fetch.code}`}` };
    const info = await git(['--git-dir', this.repo, 'log', '-1', '--format=%H%x00%s%x00%cI', 'FETCH_HEAD'], s);
    const [commit, subject, committedAt] = info.stdout.trim().split('\0');
    if (info.code !== 0 || !commit) return { result: 'failed', error: `git log FETCH_HEAD: ${info.stderr.trim()}` };
    const fetched: CommitInfo = { commit, subject: subject ?? '', committedAt: committedAt ?? '' };
    if (status.applied?.commit === commit && existsSync(this.file)) {
      return { result: 'unchanged', commit: fetched };
    }
    if (status.refused?.commit === commit) return { result: 'refused', commit: fetched, why: status.refused.why, again: true };
    const why = await this.check(commit, status);
    if (why.length > 0) {
      status.refused = { ...fetched, at: new Date().toISOString(), why };
      return { result: 'refused', commit: fetched, why, again: false };
    }
    const problem = await this.publish(commit);
    if (problem) return { result: 'failed', error: problem };
    status.applied = { ...fetched, appliedAt: new Date().toISOString() };
    status.refused = null;
    this.collect(commit);
    return { result: 'applied', commit: fetched };
  }

  /** Why the commit's file must not be applied (every problem with its position), or []. */
  private async check(commit: string, status: SyncStatus): Promise<string[]> {
    const s = this.source;
    const show = await git(['--git-dir', this.repo, 'show', `${commit}:${s.path}`], s);
    if (show.code !== 0) return [`${s.path}: not in commit ${commit.slice(0, 12)} (${show.stderr.trim()})`];
    const where = (p: Problem) => formatProblem({ ...p, file: s.path });
    try {
      const { desired } = loadStateText(show.stdout, this.file, this.stateDir);
      if (desired.programs.size === 0 && !s.allowEmpty && status.applied) {
        return [`${s.path}: the commit leaves no program; every running program would stop. Refused (tend reconcile --allow-empty accepts it)`];
      }
      return [];
    } catch (e) {
      if (!isTendError(e, 'INVALID_STATE_FILE')) throw e;
      return e.problems.length > 0 ? e.problems.map(where) : [e.message];
    }
  }

  /** The commit's files in worktrees/COMMIT, then `current` renamed to point there. */
  private async publish(commit: string): Promise<string | null> {
    const dir = path.join(this.root, 'worktrees', commit);
    if (!existsSync(dir)) {
      const temp = `${dir}.tmp`;
      rmSync(temp, { recursive: true, force: true });
      mkdirSync(temp, { recursive: true, mode: 0o700 });
      const problem = await extract(this.repo, commit, temp, this.source);
      if (problem) return problem;
      renameSync(temp, dir);
    }
    const link = path.join(this.root, 'current');
    const temp = `${link}.tmp`;
    rmSync(temp, { force: true });
    symlinkSync(path.join('worktrees', commit), temp);
    renameSync(temp, link);
    return null;
  }

  /** Removes the files of old commits, but the current one and any a running process works in. */
  private collect(current: string): void {
    const dir = path.join(this.root, 'worktrees');
    const inUse = this.cwdsInUse();
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (name === current || inUse.some((cwd) => cwd === full || cwd.startsWith(full + path.sep))) continue;
      rmSync(full, { recursive: true, force: true });
    }
  }
}
