import { TendError } from '../errors.js';
import { lookupUser, type UserInfo } from '../state/desired/passwd.js';

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
