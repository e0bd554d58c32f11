import { readFileSync } from 'node:fs';
import { ProcReader } from './proc-read.js';
import { isLiveState, listPids, parseProcStat, readProcStat, type ProcStat } from './proc-stat.js';

/**
 * Live processes in the given sessions, found with one walk of /proc. A session id
 * outlives its leader, so members must have started no earlier than the leader did
 * (`minStart`): a session that merely reuses the number is someone else's.
 */
export function sessionMembers(sessions: ReadonlyMap<number, number>, reader = new ProcReader()): Map<number, ProcStat[]> {
  const found = new Map<number, ProcStat[]>();
  if (sessions.size === 0) return found;
  for (const pid of listPids()) {
    const text = reader.read(`/proc/${pid}/stat`);
    const stat = text === null ? null : parseProcStat(pid, text);
    if (!stat || !isLiveState(stat.state)) continue;
    const minStart = sessions.get(stat.session);
    if (minStart === undefined || stat.startTime < minStart) continue;
    const list = found.get(stat.session) ?? [];
    list.push(stat);
    found.set(stat.session, list);
  }
  return found;
}

/**
 * Processes whose environment carries one of the given TEND_INSTANCE_ID tokens: the
 * instance's process even when tend died between spawning it and recording it, and
 * any descendant that left the session. Tokens are random, so a match is ours.
 */
export function processesByToken(tokens: ReadonlySet<string>): Map<string, ProcStat[]> {
  const found = new Map<string, ProcStat[]>();
  if (tokens.size === 0) return found;
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    const at = environ.indexOf('TEND_INSTANCE_ID=');
    if (at < 0) continue;
    const end = environ.indexOf('\0', at);
    const token = environ.slice(at + 17, end < 0 ? undefined : end);
    if (!tokens.has(token)) continue;
    const stat = readProcStat(pid);
    if (!stat || !isLiveState(stat.state)) continue;
    const list = found.get(token) ?? [];
    list.push(stat);
    found.set(token, list);
  }
  return found;
}
