import { readFileSync } from 'node:fs';
import { ProcReader } from './proc-read.js';
import { isLiveState, listPids, parseProcStat, readProcStat, statSession, type ProcStat } from './proc-stat.js';

/**
 * Live processes in the given sessions, found with one walk of /proc. A session id
 * outlives its leader, so members must have started no earlier than the leader did
 * (`minStart`). When the leader is dead, its number may since lead a stranger's session
 * (the kernel frees it once the last member ends): then `tokens` names the instance's
 * TEND_INSTANCE_ID, and only processes that carry it count.
 */
export function sessionMembers(sessions: ReadonlyMap<number, number>, reader = new ProcReader(), tokens?: ReadonlyMap<number, string>): Map<number, ProcStat[]> {
  const found = new Map<number, ProcStat[]>();
  if (sessions.size === 0) return found;
  for (const pid of listPids()) {
    const n = reader.readBytes(`/proc/${pid}/stat`);
    if (n < 0 || !sessions.has(statSession(reader.bytes, n))) continue;
    const stat = parseProcStat(pid, reader.bytes.toString('latin1', 0, n));
    if (!stat || !isLiveState(stat.state)) continue;
    const minStart = sessions.get(stat.session);
    if (minStart === undefined || stat.startTime < minStart) continue;
    const token = tokens?.get(stat.session);
    if (token !== undefined && environToken(pid, reader) !== token) continue;
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
export function processesByToken(tokens: ReadonlySet<string>, reader = new ProcReader(), skip?: ReadonlySet<number>): Map<string, ProcStat[]> {
  const found = new Map<string, ProcStat[]>();
  if (tokens.size === 0) return found;
  for (const pid of listPids()) {
    if (pid === process.pid || skip?.has(pid)) continue;
    const token = environToken(pid, reader);
    if (token === null || !tokens.has(token)) continue;
    const stat = readProcStat(pid);
    if (!stat || !isLiveState(stat.state)) continue;
    const list = found.get(token) ?? [];
    list.push(stat);
    found.set(token, list);
  }
  return found;
}

const TOKEN_KEY = Buffer.from('\0TEND_INSTANCE_ID=', 'latin1');

/** The TEND_INSTANCE_ID in a process's environment, searched in the bytes (most processes have none). */
function environToken(pid: number, reader: ProcReader): string | null {
  const file = `/proc/${pid}/environ`;
  const n = reader.readBytes(file);
  if (n <= 0) return null;
  let bytes = reader.bytes.subarray(0, n);
  if (n === reader.bytes.length) {
    // An environment over 64 KiB: read it whole.
    try {
      bytes = readFileSync(file);
    } catch {
      return null;
    }
  }
  // The variable is either the first one or follows a NUL.
  let start: number;
  if (bytes.length >= TOKEN_KEY.length - 1 && bytes.compare(TOKEN_KEY, 1, TOKEN_KEY.length, 0, TOKEN_KEY.length - 1) === 0) start = TOKEN_KEY.length - 1;
  else {
    const at = bytes.indexOf(TOKEN_KEY);
    if (at < 0) return null;
    start = at + TOKEN_KEY.length;
  }
  const end = bytes.indexOf(0, start);
  return bytes.toString('latin1', start, end < 0 ? bytes.length : end);
}

/** A process that tend started for some state directory, as its environment says. */
export interface TaggedProcess {
  stat: ProcStat;
  token: string;
  program: string;
  replica: number;
}

const STATE_DIR_KEY = 'TEND_STATE_DIR=';

/**
 * The session leaders started for state directory `stateDir` (their TEND_STATE_DIR says so),
 * found with one walk of /proc: what a lost process table is rebuilt from. Another tend's
 * processes on the same host carry another directory and are left out.
 */
export function processesOfStateDir(stateDir: string, reader = new ProcReader()): TaggedProcess[] {
  const mark = Buffer.from(`\0${STATE_DIR_KEY}${stateDir}\0`, 'latin1');
  const found: TaggedProcess[] = [];
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    const n = reader.readBytes(`/proc/${pid}/environ`);
    // Most processes are not tend's: a search in the reused buffer rules them out with no copy.
    if (n <= 0 || reader.bytes.subarray(0, n).indexOf(mark.subarray(1, -1)) < 0) continue;
    const bytes = Buffer.concat([Buffer.from([0]), reader.bytes.subarray(0, n), Buffer.from([0])]);
    if (bytes.indexOf(mark) < 0) continue;
    const vars = new Map<string, string>();
    for (const entry of bytes.toString('latin1').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0 && entry.startsWith('TEND_')) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    const stat = readProcStat(pid);
    const token = vars.get('TEND_INSTANCE_ID');
    const program = vars.get('TEND_PROGRAM');
    const replica = Number(vars.get('TEND_REPLICA'));
    if (!stat || !isLiveState(stat.state) || stat.pid !== stat.session || !token || !program || !Number.isInteger(replica)) continue;
    found.push({ stat, token, program, replica });
  }
  return found;
}
