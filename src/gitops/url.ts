/**
 * A repository URL as logs, events and status show it: no user info (a token in
 * `https://user:token@host/...`), no query or fragment. scp-like `git@host:org/repo` is
 * kept (its user is not a secret).
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol === 'file:') return `file://${u.pathname}`;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url.replace(/^([^@/:]+):[^@]*@/, '$1@');
  }
}

/** Why a URL must not be used: a password or token in it (it would show in `ps` and in git's messages). */
export function urlProblem(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.password) return `the URL carries a password or token; remove it and give the token with --git-token-file FILE (it never appears in a command line or a log)`;
    if (!['https:', 'http:', 'ssh:', 'git:', 'file:'].includes(u.protocol)) return `unsupported scheme ${u.protocol} (https, ssh, git, file, or user@host:path)`;
    return null;
  } catch {
    // scp-like syntax, or a local path.
    return /^[^\s]+$/.test(url) ? null : 'expected a repository URL';
  }
}

/** Replaces every occurrence of `url` in a message (git prints the URL it was given) with its redacted form. */
export function redactIn(text: string, url: string): string {
  return url ? text.split(url).join(redactUrl(url)) : text;
}
