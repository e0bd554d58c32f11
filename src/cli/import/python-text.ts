/**
 * The bits of Python that supervisord leans on to read its values, done the same way:
 * `%` formatting with a dict, shlex.split (POSIX), and the non-POSIX shlex of
 * `environment=` values.
 */

export type Expansion = string | number | { placeholder: (spec: { flags: string; width: string; type: string }) => string };

/** `s % expansions`: `%(name)s`, `%(name)02d`, `%%`. An unknown name throws, as Python's KeyError. */
export function pyFormat(s: string, values: Record<string, Expansion>): string {
  return s.replace(/%(?:\(([^)]*)\)([#0\- +]*)(\d*)(?:\.\d+)?([sdirfx])|%)/g, (match, name: string | undefined, flags: string, width: string, type: string) => {
    if (match === '%%') return '%';
    if (name === undefined) return match;
    if (!Object.hasOwn(values, name)) throw new Error(`%(${name}) cannot be expanded (known: ${Object.keys(values).sort().join(', ')})`);
    const v = values[name]!;
    if (typeof v === 'object') return v.placeholder({ flags, width, type });
    let text = type === 'd' || type === 'i' ? String(Math.trunc(Number(v))) : String(v);
    if (width) text = flags.includes('-') ? text.padEnd(Number(width)) : text.padStart(Number(width), flags.includes('0') && type !== 's' ? '0' : ' ');
    return text;
  });
}

/** shlex.split(s): POSIX words, quotes and backslashes; nothing else is special (no $, |, #). */
export function shlexSplit(s: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new Error('No closing quotation');
      word += s.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      for (; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\' && i + 1 < s.length && '\\"$`\n'.includes(s[i + 1]!)) i++;
        word += s[i];
      }
      if (i >= s.length) throw new Error('No closing quotation');
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 < s.length) word += s[++i];
      inWord = true;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) out.push(word);
  return out;
}

/**
 * supervisord's dict_of_key_value_pairs: `A="1 2",B=x` through a non-POSIX shlex (quoted
 * strings stay one token, quotes then stripped from the ends).
 */
export function keyValuePairs(s: string): Record<string, string> {
  const tokens: string[] = [];
  const word = /[A-Za-z0-9_/.+\-():\u00c0-\uffff]/;
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '"' || c === "'") {
      const end = s.indexOf(c, i + 1);
      if (end < 0) throw new Error('No closing quotation');
      tokens.push(s.slice(i, end + 1));
      i = end + 1;
    } else if (word.test(c)) {
      let j = i;
      while (j < s.length && word.test(s[j]!)) j++;
      tokens.push(s.slice(i, j));
      i = j;
    } else {
      tokens.push(c);
      i++;
    }
  }
  const out: Record<string, string> = {};
  for (let i = 0; i < tokens.length; i += 4) {
    if (tokens[i + 1] !== '=' || tokens[i + 2] === undefined) throw new Error(`Unexpected end of key/value pairs in value '${s}'`);
    out[tokens[i]!] = tokens[i + 2]!.replace(/^['"]+|['"]+$/g, '');
  }
  return out;
}
