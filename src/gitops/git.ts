import { execFile, spawn } from 'node:child_process';
import { redactIn } from './url.js';

export interface GitAccess {
  url: string;
  /** An ssh private key, for ssh URLs. Default ssh's own. */
  sshKey?: string | null;
  /** A known_hosts file; an unknown host key is refused either way (never trusted silently). Default ssh's own. */
  knownHosts?: string | null;
  /** A file holding a token for https, sent as HTTP basic auth through git's environment (never in argv). */
  token?: string | null;
  /** One git command's limit. Default 60 s. */
  timeoutMs: number;
}

export interface GitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment every git command runs with: no prompt (a missing credential fails at
 * once), ssh in batch mode with strict host key checking, hooks off, and a token (when
 * given) as an extra header in the environment's config, where `ps` cannot see it.
 */
export function gitEnv(access: GitAccess): NodeJS.ProcessEnv {
  const ssh = ['ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes'];
  if (access.sshKey) ssh.push('-i', access.sshKey, '-o', 'IdentitiesOnly=yes');
  if (access.knownHosts) ssh.push('-o', `UserKnownHostsFile=${access.knownHosts}`);
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'false', SSH_ASKPASS: 'false', GIT_SSH_COMMAND: ssh.map(shellWord).join(' '), GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.hooksPath', GIT_CONFIG_VALUE_0: '/dev/null' };
  if (access.token) {
    let user = 'x-access-token';
    try {
      user = new URL(access.url).username || user;
    } catch {
      // scp-like: the token is for https only.
    }
    Object.assign(env, { GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_1: 'http.extraHeader', GIT_CONFIG_VALUE_1: `Authorization: Basic ${Buffer.from(`${user}:${access.token}`).toString('base64')}` });
  }
  return env;
}

function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** Runs git; resolves with its exit code and output (the URL redacted in both). Never rejects. */
export function git(args: string[], access: GitAccess): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile('git', args, { env: gitEnv(access), timeout: access.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 8 * 2 ** 20, encoding: 'buffer' }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null) : 0;
      const timedOut = error && (error as { killed?: boolean }).killed ? `git ${args[0] === '--git-dir' ? args[2] : args[0]} did not finish within ${access.timeoutMs / 1000}s\n` : '';
      resolve({ code, stdout: stdout.toString('utf8'), stderr: redactIn(timedOut + stderr.toString('utf8'), access.url) });
    });
  });
}

/** `git archive COMMIT | tar -x -C DIR`: the commit's files, without a worktree's metadata. */
export function extract(gitDir: string, commit: string, dir: string, access: GitAccess): Promise<string | null> {
  return new Promise((resolve) => {
    const archive = spawn('git', ['--git-dir', gitDir, 'archive', '--format=tar', commit], { env: gitEnv(access), stdio: ['ignore', 'pipe', 'pipe'], timeout: access.timeoutMs, killSignal: 'SIGKILL' });
    const tar = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'], timeout: access.timeoutMs, killSignal: 'SIGKILL' });
    archive.stdout.pipe(tar.stdin);
    let errors = '';
    archive.stderr.on('data', (c) => (errors += c));
    tar.stderr.on('data', (c) => (errors += c));
    let pending = 2;
    let failed = false;
    const done = (code: number | null) => {
      if (code !== 0) failed = true;
      if (--pending === 0) resolve(failed ? `cannot check out ${commit.slice(0, 12)}: ${errors.trim() || 'git archive or tar failed'}` : null);
    };
    archive.on('error', () => done(null));
    tar.on('error', () => done(null));
    archive.on('exit', done);
    tar.on('exit', done);
  });
}
