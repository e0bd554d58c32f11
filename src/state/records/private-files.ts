import { chmodSync, closeSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * The state directory holds every program's environment (secrets among them): it is
 * 0700, and each file in it 0600, whatever existed before. A directory found open to
 * others is closed, with a warning.
 */
export function ensurePrivateDir(dir: string, warn: (line: string) => void = () => {}): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) {
    chmodSync(dir, 0o700);
    warn(`${dir} was open to other users (mode ${(st.mode & 0o777).toString(8)}); made it 0700`);
  }
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    try {
      const f = lstatSync(file);
      if (!f.isFile() || (f.mode & 0o077) === 0 || f.uid !== process.getuid?.()) continue;
      chmodSync(file, 0o600);
      warn(`${file} was readable by other users (mode ${(f.mode & 0o777).toString(8)}); made it 0600`);
    } catch (e) {
      // A temp file another tend renamed away meanwhile: nothing to fix.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

/**
 * Writes a file readable by its owner only, whole or not at all: a temp file in the same
 * directory (mode 0600 from its creation), then renamed over `file` (or linked to it with
 * `exclusive`, which fails if `file` exists). The temp file is removed on any failure.
 */
export function writePrivateFile(file: string, text: string, options: { exclusive?: boolean } = {}): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(temp, 'wx', 0o600);
    const bytes = Buffer.from(text);
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    if (options.exclusive) fsyncSync(fd);
    closeSync(fd);
    fd = null;
    if (options.exclusive) {
      try {
        linkSync(temp, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      unlinkSync(temp);
    } else {
      renameSync(temp, file);
    }
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // Never created, or already renamed.
    }
    throw e;
  }
}
