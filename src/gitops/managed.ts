import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isSyncedFile, readSyncStatus } from './sync-state.js';
import { redactUrl } from './url.js';

/** Where a git-managed state.yaml comes from: what a person must change, and where. */
export interface ManagedBy {
  /** `sync`: tend pulls it (`reconcile --git`); `checkout`: a clone the user pulls by hand. */
  kind: 'sync' | 'checkout';
  url: string;
  ref: string;
  /** The file's path in the repository. */
  path: string;
}

/**
 * Whether state.yaml belongs to a git repository that tend must not edit: the link of a
 * `reconcile --git` state directory, or a file tracked in a clone with a remote (an edit
 * there would make the next `git pull` fail, and the host stop following the repository).
 */
export function gitManaged(file: string, stateDir: string): ManagedBy | null {
  const sync = readSyncStatus(stateDir);
  if (sync && isSyncedFile(file, stateDir)) return { kind: 'sync', ...sync.source };
  const dir = path.dirname(file);
  // Most files are in no repository: a few stats say so without starting git (which a verb
  // made inside the daemon would wait for). GIT_DIR points git elsewhere: then ask it.
  if (!insideRepository(dir) && process.env.GIT_DIR === undefined) return null;
  const run = (args: string[]) => {
    const r = spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8', timeout: 5000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const tracked = run(['ls-files', '--full-name', '--error-unmatch', '--', path.basename(file)]);
  if (!tracked) return null;
  const remote = run(['remote'])?.split('\n')[0];
  if (!remote) return null;
  const url = run(['remote', 'get-url', remote]) ?? remote;
  const branch = run(['rev-parse', '--abbrev-ref', 'HEAD']) ?? 'HEAD';
  return { kind: 'checkout', url: redactUrl(url), ref: branch, path: tracked };
}

/** A `.git` (a directory, or a worktree's file) in this directory or one above it. */
function insideRepository(dir: string): boolean {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (existsSync(path.join(at, '.git'))) return true;
    if (path.dirname(at) === at) return false;
  }
}
