import { readFileSync } from 'node:fs';

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
