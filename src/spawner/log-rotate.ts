import { closeSync, existsSync, ftruncateSync, lstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface RotationSpec {
  /** Rotate when the file is larger than this many bytes (0 = never). */
  maxSize: number;
  /** Rotated files to keep: FILE.1 (newest) to FILE.keep. */
  keep: number;
}

/** Rotates `file` if it is over its limit; returns whether it did. Never blocks or signals the writer. */
export function rotateIfLarge(file: string, spec: RotationSpec): boolean {
  return rotateChecked(file, spec).rotated;
}

/**
 * Like rotateIfLarge, and says how large the file was (for scheduling the next check).
 * Always copy, then truncate: the program holds the stdout tend opened for it and no
 * program reopens an inherited stdout, so a rename would leave it writing to FILE.1.
 * Only a regular file is ever rotated: never /dev/stdout, a pipe or a terminal.
 */
export function rotateChecked(file: string, spec: RotationSpec): { rotated: boolean; size: number } {
  if (spec.maxSize <= 0) return { rotated: false, size: 0 };
  let size: number;
  try {
    const st = lstatSync(file);
    if (!st.isFile()) return { rotated: false, size: 0 };
    size = st.size;
  } catch {
    return { rotated: false, size: 0 };
  }
  if (size <= spec.maxSize) return { rotated: false, size };
  shift(file, spec.keep);
  if (spec.keep === 0) truncateInPlace(file);
  else copyThenTruncate(file, `${file}.1`);
  return { rotated: true, size };
}

/** FILE.(keep-1) -> FILE.keep, ..., FILE.1 -> FILE.2; the oldest falls off. */
function shift(file: string, keep: number): void {
  if (keep <= 0) return;
  rmSync(`${file}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
}

/**
 * Copies the file, catching up with the writer until a read finds nothing new, then
 * truncates. Writers opened the file O_APPEND, so they go on at the new end. What is
 * written between the last read and the truncate is lost: microseconds, measured in tests.
 */
function copyThenTruncate(file: string, dest: string): void {
  const src = openSync(file, 'r+');
  const out = openSync(dest, 'w', 0o640);
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = 0;
    for (let n = readSync(src, buf, 0, buf.length, pos); n > 0; n = readSync(src, buf, 0, buf.length, pos)) {
      writeSync(out, buf, 0, n);
      pos += n;
    }
    ftruncateSync(src, 0);
  } finally {
    closeSync(src);
    closeSync(out);
  }
}

function truncateInPlace(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, 0);
  } finally {
    closeSync(fd);
  }
}
