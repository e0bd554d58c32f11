import { Lexer } from 'yaml';
import type { Problem } from '../../errors.js';

/**
 * Bounds no real state.yaml comes near, so that no file can crash or wedge tend.
 * The README lists them; each is reported with a position.
 */
export const INPUT_LIMITS = {
  /** Bytes of state.yaml. 10,000 programs of ~100 bytes fit, and it parses in well under a second. */
  fileBytes: 2 ** 20,
  /** Nesting of mappings and lists (a real file needs about 6; the YAML parser recurses per level). */
  nesting: 64,
  /** Scalars (keys, values, list items): bounds the parser's time and memory, whatever the layout. */
  scalars: 50_000,
  programs: 10_000,
  /** Replicas of one program. */
  replicas: 1000,
  /** Instances of all programs together. */
  instances: 20_000,
  /** Bytes of one argument or one `NAME=value` (Linux refuses longer: MAX_ARG_STRLEN). */
  argBytes: 128 * 1024 - 1,
  /** Bytes of a whole command line plus its environment (half of Linux's usual ARG_MAX). */
  execBytes: 1024 * 1024,
  /** Longest duration: about a year (a yearly schedule is a cron expression, not a duration). */
  durationMs: 366 * 86_400_000,
  /** Largest size (memory limits, log sizes): 1 PiB. */
  sizeBytes: 2 ** 50,
  /** Largest count (generation, retries, fds, keep...). */
  count: Number.MAX_SAFE_INTEGER,
} as const;

export type TextCheck = { ok: true; text: string } | { ok: false; problems: Problem[] };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks the raw bytes before any parsing: size, UTF-8, control characters and nesting.
 * Each problem names the line and column where it is.
 */
export function checkStateBytes(bytes: Uint8Array, file: string): TextCheck {
  const at = (line: number, col: number, message: string): TextCheck => ({ ok: false, problems: [{ file, line, col, path: '', message }] });
  if (bytes.length > INPUT_LIMITS.fileBytes) {
    return at(1, 1, `the file is ${bytes.length} bytes; state.yaml may be at most ${INPUT_LIMITS.fileBytes} bytes (1 MiB)`);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const { line, col } = positionOfByte(bytes, offset);
    return at(line, col, `invalid UTF-8 (byte 0x${bytes[offset]?.toString(16).padStart(2, '0')} at offset ${offset}); save the file as UTF-8`);
  }
  // YAML allows tab, LF, CR and printable characters only; a NUL would also cut an argument.
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(text);
  if (control) {
    const { line, col } = positionOf(text, control.index);
    return at(line, col, `control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} is not allowed in state.yaml`);
  }
  const shape = scanShape(text);
  if (shape !== null) {
    const { line, col } = positionOf(text, shape.offset);
    return at(line, col, shape.message);
  }
  return { ok: true, text };
}

/**
 * Where the file first goes past the nesting or scalar limits, from the lexer's tokens
 * (the lexer does not recurse, and costs a fraction of the parse). Nesting is estimated:
 * open block levels by indentation, plus block indicators on the same line (`- - x`),
 * plus open flow brackets; the parser would overflow the stack at a few thousand levels.
 */
function scanShape(text: string): { offset: number; message: string } | null {
  let scalars = 0;
  const indents: number[] = [];
  let offset = 0;
  let lineStart = true;
  let inline = 0;
  let flow = 0;
  for (const token of new Lexer().lex(text)) {
    const start = offset;
    offset += token.length;
    if (token === '\n' || token === '\r\n') {
      lineStart = true;
      inline = 0;
      continue;
    }
    if (token[0] === '\u001f' || token[0] === '"' || token[0] === "'") {
      if (++scalars > INPUT_LIMITS.scalars) return { offset: start, message: `more than ${INPUT_LIMITS.scalars} keys and values in the file` };
    }
    if (token.length === 0 || token[0] === '\u0002' || token[0] === '\u0018' || token[0] === '\u001f') continue;
    if (lineStart) {
      lineStart = false;
      const indent = /^ *$/.test(token) ? token.length : 0;
      if (flow === 0) {
        while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
      }
      if (indent > 0) continue;
    }
    if (token === '[' || token === '{') flow++;
    else if (token === ']' || token === '}') flow = Math.max(0, flow - 1);
    else if (token === '-' || token === '?' || token === ':') inline++;
    else continue;
    if (indents.length + inline + flow > INPUT_LIMITS.nesting) return { offset: start, message: `nested more than ${INPUT_LIMITS.nesting} levels deep` };
  }
  return null;
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (n === 0 || i + n > bytes.length) return i;
    try {
      utf8.decode(bytes.subarray(i, i + n));
    } catch {
      return i;
    }
    i += n;
  }
  return 0;
}

function positionOfByte(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}
