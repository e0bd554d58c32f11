import { closeSync, existsSync, ftruncateSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';

export interface RotationSpec {
  /** Rotate when the file is larger than this many bytes (0 = never). */
  maxSize: number;
  /** Rotated files to keep: FILE.1 (newest) to FILE.keep. */
  keep: number;
  /** When set, rotate by rename and send this signal so the program reopens (loses nothing). */
  reopenSignal: NodeJS.Signals | null;
}

/** Rotates `file` if it is over its limit; returns whether it did. Never blocks or signals the writer otherwise. */
export function rotateIfLarge(file: string, spec: RotationSpec, reopen: (signal: NodeJS.Signals) => void): boolean {
  return rotateChecked(file, spec, reopen).rotated;
}

/** Like rotateIfLarge, and says how large the file was (for scheduling the next check). */
export function rotateChecked(file: string, spec: RotationSpec, reopen: (signal: NodeJS.Signals) => void): { rotated: boolean; size: number } {
  if (spec.maxSize <= 0) return { rotated: false, size: 0 };
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return { rotated: false, size: 0 };
  }
  if (size <= spec.maxSize) return { rotated: false, size };
  shift(file, spec.keep);
  if (spec.keep === 0) {
    truncateInPlace(file);
  } else if (spec.reopenSignal) {
    // The writer keeps its fd to the renamed file until it reopens: nothing is lost.
    renameSync(file, `${file}.1`);
    reopen(spec.reopenSignal);
  } else {
    copyThenTruncate(file, `${file}.1`);
  }
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
