import path from 'node:path';
import { linkedFile, readSyncStatus } from '../gitops/sync-state.js';

/** The two options every command takes. Kept apart from the loop's composition root: `tend --version` should load nothing else. */
export interface GlobalOptions {
  /** state.yaml; default ./state.yaml or $TEND_FILE. */
  file: string;
  /** Default `.tend` beside the file, or $TEND_STATE_DIR. */
  stateDir: string;
}

/**
 * The file and the state directory. With `--git`, the file is the state directory's link to
 * the commit in force (the state directory defaults to ./.tend); without a file named, a
 * state directory that `reconcile --git` set up names its own file, so the other commands
 * find it with no options.
 */
export function resolveGlobals(file: string | undefined, stateDir: string | undefined, env: NodeJS.ProcessEnv, cwd: string, gitPath?: string): GlobalOptions {
  const named = file ?? env.TEND_FILE;
  if (gitPath !== undefined || named === undefined) {
    const dir = path.resolve(cwd, stateDir ?? env.TEND_STATE_DIR ?? '.tend');
    const sync = gitPath ?? readSyncStatus(dir)?.source.path;
    if (sync !== undefined) return { file: linkedFile(dir, sync), stateDir: dir };
  }
  const f = path.resolve(cwd, named ?? 'state.yaml');
  const dir = path.resolve(cwd, stateDir ?? env.TEND_STATE_DIR ?? path.join(path.dirname(f), '.tend'));
  return { file: f, stateDir: dir };
}

