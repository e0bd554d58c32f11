import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, realpathSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { TendError } from '../../errors.js';
import { ensurePrivateDir, writePrivateFile } from './private-files.js';

export type LockRole = 'daemon' | 'once' | 'command';

export interface LockHolder {
  pid: number;
  role: LockRole;
  since: string;
  command: string;
}

/**
 * The name of an abstract Unix socket that only users who can read the state directory
 * can compute: a hash of a random secret kept in that 0700 directory and of `what`.
 * The kernel releases such a socket the instant its holder dies, so a lock never goes
 * stale; and another local user cannot bind the name first, since it cannot know it.
 */
function socketName(stateDir: string, what: string): string {
  return nameFrom(readSecret(stateDir), what);
}

function nameFrom(secret: string, what: string): string {
  return `\0tend-${createHash('sha256').update(`${secret}\0${what}`).digest('hex').slice(0, 40)}`;
}

function readSecret(stateDir: string): string {
  const file = path.join(stateDir, 'lock.secret');
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8');
  } catch {
    // First use: create it whole (a private temp file linked into place, so two tends racing
    // here never read a half-written secret); the loser of the race reads the winner's.
    writePrivateFile(file, randomBytes(32).toString('hex'), { exclusive: true });
    secret = readFileSync(file, 'utf8');
  }
  return secret;
}

async function bind(name: string): Promise<net.Server | null> {
  const server = net.createServer((socket) => socket.destroy());
  const bound = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(false) : reject(e)));
    server.listen(name, () => resolve(true));
  });
  if (!bound) return null;
  server.unref();
  return server;
}

/** One actor per state directory (the daemon, one `--once`, or one command). lock.json only says who holds it. */
export class StateLock {
  private constructor(
    private readonly server: net.Server,
    private readonly infoFile: string,
    private readonly stateDir: string,
    private readonly secret: string,
  ) {}

  /**
   * Whether the lock still means what it meant: lock.secret removed (the state directory
   * deleted and made again, say) is written back, so no other tend can take the lock; a
   * different secret means another tend may already act here: the lock is lost.
   */
  check(): 'held' | 'restored' | 'lost' {
    const file = path.join(this.stateDir, 'lock.secret');
    try {
      return readFileSync(file, 'utf8') === this.secret ? 'held' : 'lost';
    } catch {
      try {
        ensurePrivateDir(this.stateDir);
        writePrivateFile(file, this.secret, { exclusive: true });
        return readFileSync(file, 'utf8') === this.secret ? 'restored' : 'lost';
      } catch {
        return 'lost';
      }
    }
  }

  static async acquire(stateDir: string, role: LockRole, warn: (line: string) => void = () => {}): Promise<StateLock> {
    ensurePrivateDir(stateDir, warn);
    const real = realpathSync(stateDir);
    const infoFile = path.join(stateDir, 'lock.json');
    const secret = readSecret(stateDir);
    const server = await bind(nameFrom(secret, `state:${real}`));
    if (!server) {
      const holder = readHolder(infoFile);
      const who = holder ? `tend ${holder.role === 'daemon' ? 'reconcile' : holder.command} (pid ${holder.pid}) since ${holder.since}` : 'another tend';
      throw Object.assign(new TendError('LOCKED', `${real} is in use by ${who}`), { holder });
    }
    const holder: LockHolder = { pid: process.pid, role, since: new Date().toISOString(), command: process.argv.slice(2).join(' ') };
    try {
      writePrivateFile(infoFile, JSON.stringify(holder) + '\n');
    } catch (e) {
      // lock.json only says who holds the lock: a full disk must not keep tend from running.
      warn(`cannot write ${infoFile} (${(e as NodeJS.ErrnoException).code ?? e}); the lock is held all the same`);
    }
    return new StateLock(server, infoFile, stateDir, secret);
  }

  /**
   * Who holds the state directory now, or null: lock.json alone can name a tend that was
   * SIGKILLed, so the lock itself is tried (and let go at once when it was free).
   */
  static async holder(stateDir: string): Promise<LockHolder | null> {
    let name: string;
    try {
      readFileSync(path.join(stateDir, 'lock.secret'));
      name = socketName(stateDir, `state:${realpathSync(stateDir)}`);
    } catch {
      return null; // no secret: no tend has ever held it
    }
    const server = await bind(name);
    if (!server) return readHolder(path.join(stateDir, 'lock.json'));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return null;
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

/**
 * Serialises every read-edit-write of one state.yaml by tend's verbs: two verbs at once
 * would otherwise each write their edit over the other's. A holder that dies releases it
 * at once. The caller waits and tries again (this floor owns no timers).
 */
export class EditLock {
  private constructor(private readonly server: net.Server) {}

  /** The lock, or null while another command holds it. */
  static async tryAcquire(stateDir: string, file: string): Promise<EditLock | null> {
    ensurePrivateDir(stateDir);
    let target = path.resolve(file);
    try {
      target = realpathSync(file);
    } catch {
      // Not there: the edit fails later with its own message.
    }
    const server = await bind(socketName(stateDir, `edit:${target}`));
    return server ? new EditLock(server) : null;
  }

  release(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export function readHolder(infoFile: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(infoFile, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}
