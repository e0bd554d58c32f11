import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import type { ProcessRef, SpawnOutcome, SpawnRequest } from '../runtime/ports.js';
import { INHERIT_STDERR, INHERIT_STDOUT, logPath } from '../state/desired/schema.js';
import { readProcStat } from './proc-stat.js';
import type { UserInfo } from '../state/desired/passwd.js';
import { resolveUser } from './users.js';

/**
 * Starts one instance detached (its own session and process group, so it outlives tend)
 * with stdout and stderr appended to its log files and stdin from /dev/null.
 */
export async function spawnInstance(
  request: SpawnRequest,
  bootId: string,
  onExit: (code: number | null, signal: string | null) => void,
  stateDir: string | null = null,
): Promise<SpawnOutcome> {
  const { spec } = request;
  let out: number | undefined;
  let err: number | undefined;
  const owned = new Set<number>();
  try {
    const user = resolveUser(spec.user);
    out = openLog(logPath(request.stdout, request.program, request.replica), owned);
    err = request.stderr === 'stdout' ? out : openLog(logPath(request.stderr, request.program, request.replica), owned);
    // Where this run's output begins in each file (appended to what earlier runs wrote).
    const logStart = { stdout: owned.has(out) ? fstatSync(out).size : null, stderr: owned.has(err) && err !== out ? fstatSync(err).size : null };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...(user ? { HOME: user.home, USER: user.name, LOGNAME: user.name } : {}),
      ...spec.env,
      TEND_PROGRAM: request.program,
      TEND_REPLICA: String(request.replica),
      TEND_INSTANCE_ID: request.token,
      // Which state directory started it: a lost process table is rebuilt from this.
      ...(stateDir ? { TEND_STATE_DIR: stateDir } : {}),
    };
    const [file, ...args] = user ? asUser(user, spec.command) : spec.command;
    const child = spawn(file!, args, {
      cwd: spec.cwd,
      env,
      detached: true,
      stdio: ['ignore', out, err],
      // Without setpriv, Node's own switch (which drops the supplementary groups).
      ...(user && !SETPRIV ? { uid: user.uid, gid: user.gid } : {}),
    });
    // Read the start time now: the child cannot have been reaped before the event loop turns.
    const stat = child.pid === undefined ? null : readProcStat(child.pid);
    child.unref();
    const started = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (e) => resolve(e));
    });
    if (started) return { ok: false, error: describeSpawnError(started, spec.command[0]!) };
    child.once('exit', onExit);
    if (!stat) return { ok: false, error: 'the process vanished before it could be identified' };
    const ref: ProcessRef = { pid: stat.pid, startTime: stat.startTime, bootId };
    return { ok: true, process: ref, logStart };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    if (out !== undefined && owned.has(out)) closeSync(out);
    if (err !== undefined && err !== out && owned.has(err)) closeSync(err);
  }
}

/**
 * util-linux's setpriv switches user as login and supervisord do (initgroups(3): the user
 * keeps its supplementary groups, `adm` for `www-data` say); Node's spawn with uid/gid
 * drops them. setpriv execs the command, so the pid tend records is the program's.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;

function asUser(user: UserInfo, command: string[]): string[] {
  if (!SETPRIV) return command;
  return [SETPRIV, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', ...command];
}

/**
 * A descriptor for one stream. tend's own stdout or stderr is passed as it is (one file
 * offset shared with tend, nothing reopened, kept if tend goes away); a path is opened for
 * appending, and the descriptor goes into `owned` for closing once the child has it.
 */
function openLog(file: string, owned: Set<number>): number {
  if (file === INHERIT_STDOUT) return 1;
  if (file === INHERIT_STDERR) return 2;
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, 'a', 0o640);
  owned.add(fd);
  return fd;
}

function describeSpawnError(e: NodeJS.ErrnoException, program: string): string {
  switch (e.code) {
    case 'ENOENT':
      return `spawn error: '${program}' was not found (or cwd does not exist)`;
    case 'EACCES':
      return `spawn error: '${program}' is not executable`;
    default:
      return `spawn error: ${e.message}`;
  }
}
