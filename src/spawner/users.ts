import { readFileSync } from 'node:fs';
import { TendError } from '../state/errors.js';

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks a user up by name or numeric id in /etc/passwd. */
export function lookupUser(nameOrId: string, passwd = '/etc/passwd'): UserInfo | null {
  let text: string;
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [name, , uid, gid, , home] = line.split(':');
    if (name === undefined || uid === undefined || gid === undefined) continue;
    if (name === nameOrId || uid === nameOrId) return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
  }
  return null;
}

/**
 * The uid/gid to spawn with for `user:`, or null when no switch is needed.
 * Switching needs root; asking for the user tend already runs as is fine.
 */
export function resolveUser(user: string | null): UserInfo | null {
  if (user === null) return null;
  const info = lookupUser(user);
  if (!info) throw new TendError('USER_SWITCH', `user '${user}' does not exist on this host (not in /etc/passwd)`);
  const me = process.getuid?.() ?? -1;
  if (info.uid === me) return null;
  if (me !== 0) throw new TendError('USER_SWITCH', `user '${user}' needs tend to run as root to switch users (it runs as uid ${me})`);
  return info;
}
