import type { SyncStatus } from '../gitops/sync-state.js';
import { formatUptime } from '../reconciler/status.js';

/** `tend status`'s lines about a git source: what is in force, what was refused and why, when the next sync is. */
export function renderSource(s: SyncStatus, now: number): string {
  const ago = (iso: string) => `${formatUptime(Math.max(0, now - Date.parse(iso)))} ago`;
  const commit = (c: { commit: string; subject: string }) => `${c.commit.slice(0, 12)} "${c.subject}"`;
  const lines = [`source:  ${s.source.url} (ref ${s.source.ref}, ${s.source.path})`];
  lines.push(s.applied ? `applied: ${commit(s.applied)}, committed ${ago(s.applied.committedAt)}, in force since ${ago(s.applied.appliedAt)}` : 'applied: nothing yet');
  if (s.refused) {
    lines.push(`refused: ${commit(s.refused)}, fetched ${ago(s.refused.at)}; the applied commit stays in force:`);
    for (const why of s.refused.why) lines.push(`  ${why}`);
  }
  if (s.lastSync && !s.lastSync.ok) lines.push(`last sync failed ${ago(s.lastSync.at)}: ${s.lastSync.error}`);
  if (s.nextSyncAt) lines.push(`next sync: in ${formatUptime(Math.max(0, Date.parse(s.nextSyncAt) - now))}`);
  return lines.join('\n') + '\n\n';
}
