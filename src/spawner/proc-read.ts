import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync } from 'node:fs';

/**
 * Reads a small /proc file into one reused buffer: about half the cost of readFileSync,
 * which stats the file and allocates per call. For hot paths (sampling every second).
 */
export class ProcReader {
  private readonly buffer = Buffer.allocUnsafe(64 * 1024);

  read(file: string): string | null {
    const n = this.readBytes(file);
    return n < 0 ? null : this.buffer.toString('latin1', 0, n);
  }

  /**
   * Reads up to 64 KiB of `file` into `bytes` and returns how many, or -1 when it cannot
   * be read. The bytes stay valid until the next read.
   */
  readBytes(file: string): number {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return -1;
    }
    try {
      return readSync(fd, this.buffer, 0, this.buffer.length, 0);
    } catch {
      return -1;
    } finally {
      closeSync(fd);
    }
  }

  get bytes(): Buffer {
    return this.buffer;
  }

  /**
   * Reads a /proc file of a process that is sampled again and again (statm, smaps_rollup)
   * through a descriptor kept open: one pread instead of open, read and close. Such a
   * descriptor belongs to that process: once it has ended, reads fail, and the descriptor
   * is dropped; a new process with the same pid is opened afresh, never mistaken for it.
   */
  readKept(pid: number, name: string): string | null {
    const kept = this.keptFd(`${pid}/${name}`, 'r');
    if (kept === null) return null;
    try {
      const n = readSync(kept.fd, this.buffer, 0, this.buffer.length, 0);
      return this.buffer.toString('latin1', 0, n);
    } catch {
      this.drop(kept.key);
      return null;
    } finally {
      if (!kept.kept) closeSync(kept.fd);
    }
  }

  /**
   * The size of /proc/PID/`dir` (for `fd`, the number of open descriptors since Linux 6.2)
   * through the directory kept open: one fstat, no walk of the path; -1 once the process
   * has ended, or when it cannot be opened.
   */
  sizeKept(pid: number, dir: string): number {
    const kept = this.keptFd(`${pid}/${dir}`, constants.O_RDONLY | constants.O_DIRECTORY);
    if (kept === null) return -1;
    try {
      return fstatSync(kept.fd).size;
    } catch {
      this.drop(kept.key);
      return -1;
    } finally {
      if (!kept.kept) closeSync(kept.fd);
    }
  }

  /** The descriptor kept for `/proc/KEY`, opened now if need be; beyond MAX_KEPT, one for this read only (`kept` false). */
  private keptFd(key: string, flags: string | number): { key: string; fd: number; kept: boolean } | null {
    const fd = this.kept.get(key);
    if (fd !== undefined) return { key, fd, kept: true };
    let opened: number;
    try {
      opened = openSync(`/proc/${key}`, flags);
    } catch {
      return null;
    }
    const keep = this.kept.size < MAX_KEPT;
    if (keep) this.kept.set(key, opened);
    return { key, fd: opened, kept: keep };
  }

  /** Closes the kept descriptors of processes not in `pids`. */
  keepOnly(pids: ReadonlySet<number>): void {
    for (const key of this.kept.keys()) if (!pids.has(Number(key.slice(0, key.indexOf('/'))))) this.drop(key);
  }

  private drop(key: string): void {
    const fd = this.kept.get(key);
    this.kept.delete(key);
    if (fd !== undefined) closeSync(fd);
  }

  private readonly kept = new Map<string, number>();
}

/** Descriptors kept open for sampling, at most (beyond, files are opened per read). */
const MAX_KEPT = 2000;

/** The working directory of a process (the real path: symlinks were resolved when it changed there), or null. */
export function processCwd(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}
