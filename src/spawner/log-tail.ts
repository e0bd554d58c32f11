import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** The last `n` lines of a file (reads only its end). */
export function lastLines(file: string, n: number): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = statSync(file).size;
    let start = size;
    let text = '';
    const chunk = 64 * 1024;
    while (start > 0 && text.split('\n').length <= n + 1) {
      const from = Math.max(0, start - chunk);
      const buf = Buffer.alloc(start - from);
      readSync(fd, buf, 0, buf.length, from);
      text = buf.toString('utf8') + text;
      start = from;
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}
