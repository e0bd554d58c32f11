import { isAlias, isMap, isScalar, isSeq, type LineCounter, type Node, type Pair, type YAMLMap } from 'yaml';
import { parseDuration } from './duration.js';
import { parseSize } from './size.js';
import type { Problem } from '../../errors.js';
import { INPUT_LIMITS } from './input-check.js';
import { closest } from './did-you-mean.js';

/** Reads typed values out of a YAML AST, collecting every problem with its position. */
export class YamlReader {
  readonly problems: Problem[] = [];

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  position(offset: number): { line: number; col: number } {
    return this.lines.linePos(offset);
  }

  problemAt(offset: number, path: string, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line, col, path, message });
  }

  problem(node: Node | null | undefined, path: string, message: string, fallback = 0): void {
    this.problemAt(node?.range?.[0] ?? fallback, path, message);
  }

  map(node: unknown, path: string, fallback = 0): YAMLMap | null {
    if (isMap(node)) return node;
    this.problem(node as Node, path, `expected a mapping, got ${describe(node)}`, fallback);
    return null;
  }

  /**
   * Reports a key given twice. The YAML parser's own check is quadratic in the number of
   * keys (seconds for a few thousand programs); this one is a single pass.
   */
  unique(map: YAMLMap, path: string): void {
    const seen = new Map<string, Node>();
    for (const pair of map.items) {
      const key = keyOf(pair);
      if (key === null) continue;
      const first = seen.get(key);
      if (!first) {
        seen.set(key, pair.key as Node);
        continue;
      }
      const { line } = this.position(first.range?.[0] ?? 0);
      this.problem(pair.key as Node, join(path, key), `given twice (first on line ${line}); a key may appear once`);
    }
  }

  /** Reports keys outside `allowed`, with a "did you mean" hint, and keys given twice. */
  keys(map: YAMLMap, path: string, allowed: readonly string[]): void {
    this.unique(map, path);
    for (const pair of map.items) {
      const key = keyOf(pair);
      if (key !== null && allowed.includes(key)) continue;
      const hint = key === null ? '' : closest(key, allowed);
      const where = join(path, String(key));
      this.problem(pair.key as Node, where, `unknown field${hint ? `; did you mean '${hint}'?` : ` (known: ${allowed.join(', ')})`}`);
    }
  }

  str(node: unknown, path: string): string | null {
    const text = isScalar(node) && typeof node.value === 'string' ? node.value : isScalar(node) && typeof node.value === 'number' ? String(node.source ?? node.value) : null;
    if (text === null) {
      this.problem(node as Node, path, `expected a string, got ${describe(node)}`);
      return null;
    }
    // A "\0" escape: the kernel would cut the argument or variable there.
    if (text.includes('\0')) {
      this.problem(node as Node, path, 'contains a NUL character (\\0), which no command line or environment can carry');
      return null;
    }
    return text;
  }

  int(node: unknown, path: string, min: number, max: number = INPUT_LIMITS.count): number | null {
    if (isScalar(node) && typeof node.value === 'number' && Number.isSafeInteger(node.value) && node.value >= min && node.value <= max) return node.value;
    const range = max === INPUT_LIMITS.count ? `>= ${min}` : `from ${min} to ${max}`;
    this.problem(node as Node, path, `expected a whole number ${range}, got ${describe(node)}`);
    return null;
  }

  duration(node: unknown, path: string): number | null {
    const ms = isScalar(node) ? parseDuration(node.value) : null;
    if (ms !== null && ms <= INPUT_LIMITS.durationMs) return ms;
    this.problem(node as Node, path, ms === null ? `expected a duration like 500ms, 10s, 5m or 1h, got ${describe(node)}` : `expected a duration of at most 366d, got ${describe(node)}`);
    return null;
  }

  size(node: unknown, path: string): number | null {
    const bytes = isScalar(node) ? parseSize(node.value) : null;
    if (bytes !== null && bytes <= INPUT_LIMITS.sizeBytes) return bytes;
    this.problem(node as Node, path, bytes === null ? `expected a size like 50Mi, 512Ki or 1G, got ${describe(node)}` : `expected a size of at most 1Pi, got ${describe(node)}`);
    return null;
  }

  oneOf<T extends string>(node: unknown, path: string, choices: readonly T[]): T | null {
    if (isScalar(node) && choices.includes(node.value as T)) return node.value as T;
    const hint = isScalar(node) && typeof node.value === 'string' ? closest(node.value, choices) : '';
    this.problem(node as Node, path, `expected one of ${choices.join(', ')}, got ${describe(node)}${hint ? `; did you mean '${hint}'?` : ''}`);
    return null;
  }

  strList(node: unknown, path: string): string[] | null {
    if (!isSeq(node)) {
      this.problem(node as Node, path, `expected a list of strings, got ${describe(node)}`);
      return null;
    }
    const out = node.items.map((item, i) => this.str(item, `${path}[${i}]`));
    return out.every((s): s is string => s !== null) ? out : null;
  }

  intList(node: unknown, path: string, min: number): number[] | null {
    if (!isSeq(node)) {
      this.problem(node as Node, path, `expected a list of whole numbers, got ${describe(node)}`);
      return null;
    }
    const out = node.items.map((item, i) => this.int(item, `${path}[${i}]`, min));
    return out.every((n): n is number => n !== null) ? out : null;
  }

  strMap(node: unknown, path: string): Record<string, string> | null {
    const map = this.map(node, path);
    if (!map) return null;
    const before = this.problems.length;
    this.unique(map, path);
    const out: Record<string, string> = {};
    let ok = this.problems.length === before;
    for (const pair of map.items) {
      const key = keyOf(pair);
      if (key === null) continue;
      const value = pair.value;
      // Numbers and booleans are what people write for PORT: 8080 or DEBUG: true.
      if (isScalar(value) && typeof value.value === 'string' && value.value.includes('\0')) {
        this.problem(value as Node, join(path, key), 'contains a NUL character (\\0), which no environment can carry');
        ok = false;
      } else if (isScalar(value) && ['string', 'number', 'boolean'].includes(typeof value.value)) {
        out[key] = String(typeof value.value === 'string' ? value.value : value.source ?? value.value);
      } else {
        this.problem(value as Node, join(path, key), `expected a string, got ${describe(value)}`, pair.key ? (pair.key as Node).range?.[0] : 0);
        ok = false;
      }
    }
    return ok ? out : null;
  }
}

export function keyOf(pair: Pair): string | null {
  return isScalar(pair.key) ? String(pair.key.value) : null;
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (node.value === null) return 'nothing';
    const text = typeof node.value === 'string' ? JSON.stringify(node.value) : String(node.source ?? node.value);
    // A message quotes what it got, never megabytes of it.
    return text.length > 60 ? `${text.slice(0, 50)}... (${text.length} characters)` : text;
  }
  if (isAlias(node)) return `an alias (*${node.source}); aliases are not supported in state.yaml`;
  return 'something else';
}
