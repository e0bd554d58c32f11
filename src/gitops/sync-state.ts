import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writePrivateFile } from '../state/records/private-files.js';

export interface CommitInfo {
  commit: string;
  subject: string;
  /** Committer date, ISO. */
  committedAt: string;
}

/** What `tend status` shows of a git source (kept in `STATE_DIR/git/sync.json`). */
export interface SyncStatus {
  source: { url: string; ref: string; path: string };
  /** The commit in force, and when it was put in force. */
  applied: (CommitInfo & { appliedAt: string }) | null;
  /** The latest fetched commit when it was not applied, and why (each problem as `path:line:col: ...`). */
  refused: (CommitInfo & { at: string; why: string[] }) | null;
  /** The last attempt: when, and its error when the fetch itself failed. */
  lastSync: { at: string; ok: boolean; error?: string } | null;
  nextSyncAt: string | null;
}

export function gitDir(stateDir: string): string {
  return path.join(stateDir, 'git');
}

export function syncFile(stateDir: string): string {
  return path.join(gitDir(stateDir), 'sync.json');
}

/** The file is the link of a `reconcile --git` state directory (not a file of the user's). */
export function isSyncedFile(file: string, stateDir: string): boolean {
  return path.resolve(file).startsWith(gitDir(stateDir) + path.sep);
}

/** Where the loop reads the file: through the `current` link, so relative paths stay the same from commit to commit. */
export function linkedFile(stateDir: string, filePath: string): string {
  return path.join(gitDir(stateDir), 'current', filePath);
}

export function readSyncStatus(stateDir: string): SyncStatus | null {
  try {
    return JSON.parse(readFileSync(syncFile(stateDir), 'utf8')) as SyncStatus;
  } catch {
    return null;
  }
}

export function writeSyncStatus(stateDir: string, status: SyncStatus): void {
  mkdirSync(gitDir(stateDir), { recursive: true, mode: 0o700 });
  writePrivateFile(syncFile(stateDir), JSON.stringify(status, null, 2) + '\n');
}
