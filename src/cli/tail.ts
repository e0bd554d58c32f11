import { closeSync, openSync, readSync, statSync } from 'node:fs';

/**
 * Follows a file like `tail -F`: new lines as they come, and from the start again when the
 * file is replaced (rotation: a new inode) or truncated (copy-truncate rotation).
 */
export class Follower {
  private position: number;
  private inode: number | null;
  private partial = '';

  /** @param from where to start: the end of the file as it is now (as `tail -f`), or an offset. Default the end. */
  constructor(
    readonly file: string,
    private readonly onLine: (line: string) => void,
    from: 'end' | number = 'end',
  ) {
    const st = safeStat(file);
    this.position = from === 'end' ? (st?.size ?? 0) : Math.min(from, st?.size ?? 0);
    this.inode = st?.ino ?? null;
  }

  poll(): void {
    const st = safeStat(this.file);
    if (!st) return;
    if (st.ino !== this.inode || st.size < this.position) {
      this.inode = st.ino;
      this.position = 0;
      this.partial = '';
    }
    if (st.size <= this.position) return;
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(st.size - this.position);
      const read = readSync(fd, buf, 0, buf.length, this.position);
      this.position += read;
      const lines = (this.partial + buf.subarray(0, read).toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    } finally {
      closeSync(fd);
    }
  }
}

function safeStat(file: string): { size: number; ino: number } | null {
  try {
    const st = statSync(file);
    return { size: st.size, ino: st.ino };
  } catch {
    return null;
  }
}
