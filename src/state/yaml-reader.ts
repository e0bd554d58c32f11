import { isMap, isScalar, isSeq, type LineCounter, type Node, type Pair, type YAMLMap } from 'yaml';
import { parseDuration } from './duration.js';
import { parseSize } from './size.js';
import type { Problem } from './errors.js';

/** Reads typed values out of a YAML AST, collecting every problem with its position. */
export class YamlReader {
  readonly problems: Problem[] = [];

  constructor(
    private readonly file: string,
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

  /** Reports keys outside `allowed`, with a "did you mean" hint. */
  keys(map: YAMLMap, path: string, allowed: readonly string[]): void {
    for (const pair of map.items) {
      const key = keyOf(pair);
      if (key !== null && allowed.includes(key)) continue;
      const hint = key === null ? '' : closest(key, allowed);
      const where = join(path, String(key));
      this.problem(pair.key as Node, where, `unknown field${hint ? `; did you mean '${hint}'?` : ` (known: ${allowed.join(', ')})`}`);
    }
  }

  str(node: unknown, path: string): string | null {
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    if (isScalar(node) && typeof node.value === 'number') return String(node.source ?? node.value);
    this.problem(node as Node, path, `expected a string, got ${describe(node)}`);
    return null;
  }

  int(node: unknown, path: string, min: number): number | null {
    if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value) && node.value >= min) return node.value;
    this.problem(node as Node, path, `expected a whole number >= ${min}, got ${describe(node)}`);
    return null;
  }

  duration(node: unknown, path: string): number | null {
    const ms = isScalar(node) ? parseDuration(node.value) : null;
    if (ms !== null) return ms;
    this.problem(node as Node, path, `expected a duration like 500ms, 10s, 5m or 1h, got ${describe(node)}`);
    return null;
  }

  size(node: unknown, path: string): number | null {
    const bytes = isScalar(node) ? parseSize(node.value) : null;
    if (bytes !== null) return bytes;
    this.problem(node as Node, path, `expected a size like 50Mi, 512Ki or 1G, got ${describe(node)}`);
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
    const out: Record<string, string> = {};
    let ok = true;
    for (const pair of map.items) {
      const key = keyOf(pair);
      if (key === null) continue;
      const value = pair.value;
      // Numbers and booleans are what people write for PORT: 8080 or DEBUG: true.
      if (isScalar(value) && ['string', 'number', 'boolean'].includes(typeof value.value)) {
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
    return typeof node.value === 'string' ? JSON.stringify(node.value) : String(node.value);
  }
  return 'something else';
}

/** The allowed word nearest to `word`, if it is near enough to be a typo. */
export function closest(word: string, allowed: readonly string[]): string {
  let best = '';
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
