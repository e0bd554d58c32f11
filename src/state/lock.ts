import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { TendError } from './errors.js';

export type LockRole = 'daemon' | 'once' | 'command';

export interface LockHolder {
  pid: number;
  role: LockRole;
  since: string;
  command: string;
}

/**
 * One actor per state directory. The lock is an abstract Unix socket named after the
 * directory's real path: the kernel releases it the instant its holder dies, so it can
 * never go stale and needs no cleanup (unlike a pid file). lock.json only says who holds it.
 */
export class StateLock {
  private constructor(
    private readonly server: net.Server,
    private readonly infoFile: string,
  ) {}

  static async acquire(stateDir: string, role: LockRole): Promise<StateLock> {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const real = realpathSync(stateDir);
    const name = `\0tend-lock-${createHash('sha256').update(real).digest('hex').slice(0, 40)}`;
    const infoFile = path.join(stateDir, 'lock.json');
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EADDRINUSE') return reject(e);
        const holder = readHolder(infoFile);
        const who = holder ? `tend ${holder.role === 'daemon' ? 'reconcile' : holder.command} (pid ${holder.pid}) since ${holder.since}` : 'another tend';
        reject(Object.assign(new TendError('LOCKED', `${real} is in use by ${who}`), { holder }));
      });
      server.listen(name, () => resolve());
    });
    server.unref();
    const holder: LockHolder = { pid: process.pid, role, since: new Date().toISOString(), command: process.argv.slice(2).join(' ') };
    writeFileSync(infoFile, JSON.stringify(holder) + '\n');
    return new StateLock(server, infoFile);
  }

  async release(): Promise<void> {
    if (readHolder(this.infoFile)?.pid === process.pid) {
      try {
        unlinkSync(this.infoFile);
      } catch {
        // Already gone: nothing to tidy.
      }
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function readHolder(infoFile: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(infoFile, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}
