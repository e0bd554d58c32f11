import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** One `key = value` of a section, where it was written. */
export interface IniValue {
  value: string;
  file: string;
  line: number;
}

export interface IniSection {
  name: string;
  file: string;
  line: number;
  values: Map<string, IniValue>;
}

/**
 * supervisord.conf read the way supervisord reads it (Python's RawConfigParser with
 * strict=False and inline comments): `;` and `#` comments, inline comments after
 * whitespace, `=` or `:` between key and value, keys in lower case, a later key or section
 * of the same name winning, continuation lines (indented) joined with a newline, CRLF, and
 * `%(here)s` replaced per file by that file's directory. `[include] files=` globs are read
 * relative to the including file, after it, in sorted order.
 */
export function readSupervisorConf(file: string, seen = new Set<string>()): IniSection[] {
  const real = realpathSync(file);
  if (seen.has(real)) return [];
  seen.add(real);
  const text = readFileSync(file, 'utf8');
  const here = path.dirname(path.resolve(file));
  const sections: IniSection[] = [];
  let current: IniSection | null = null;
  let last: IniValue | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (/^\s*[;#]/.test(raw) || raw.trim() === '') {
      // A comment or a blank line ends nothing: a continuation may still follow (empty_lines_in_values).
      if (raw.trim() === '' && last) last.value += '\n';
      return;
    }
    if (/^\s/.test(raw) && last) {
      last.value += `\n${stripInline(raw).trim()}`;
      return;
    }
    const header = /^\[([^\]]+)\]/.exec(raw);
    if (header) {
      const name = header[1]!.trim();
      current = sections.find((s) => s.name === name) ?? { name, file, line, values: new Map() };
      if (!sections.includes(current)) sections.push(current);
      last = null;
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    if (!current || !kv) throw Object.assign(new Error(`${file}:${line}: not a section header or a key = value line: ${JSON.stringify(raw.slice(0, 80))}`), { code: 'INI' });
    last = { value: stripInline(kv[2]!).trim(), file, line };
    (current as IniSection).values.set(kv[1]!.trim().toLowerCase(), last);
  });
  for (const s of sections) {
    for (const v of s.values.values()) v.value = v.value.replace(/\n+$/, '').replaceAll('%(here)s', here);
  }
  const include = sections.find((s) => s.name === 'include');
  if (include) {
    const patterns = include.values.get('files')?.value.split(/\s+/).filter(Boolean) ?? [];
    for (const pattern of patterns) {
      for (const found of glob(path.resolve(here, pattern))) mergeInto(sections, readSupervisorConf(found, seen));
    }
  }
  return sections;
}

/** Python's inline comments: `;` or `#` after whitespace. */
function stripInline(value: string): string {
  const m = /\s[;#]/.exec(value);
  return m ? value.slice(0, m.index) : value;
}

function mergeInto(into: IniSection[], more: IniSection[]): void {
  for (const s of more) {
    const existing = into.find((x) => x.name === s.name);
    if (!existing) into.push(s);
    else for (const [k, v] of s.values) existing.values.set(k, v);
  }
}

/** `conf.d/*.conf`: the files a glob names, sorted (Python's glob, without recursion). */
function glob(pattern: string): string[] {
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  if (!/[*?[]/.test(base)) return existsSync(pattern) ? [pattern] : [];
  const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => re.test(n) && !n.startsWith('.')).sort().map((n) => path.join(dir, n));
}
