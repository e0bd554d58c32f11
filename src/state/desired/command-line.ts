/**
 * Splits a command string into argv the way a POSIX shell splits words (quotes and
 * backslashes), without running a shell. Anything that would need a shell
 * (pipes, redirections, `$VAR`, `;`, `&`) is refused so nobody is surprised.
 */
export type SplitResult = { ok: true; argv: string[] } | { ok: false; error: string };

const NEEDS_SHELL = new Set(['|', '&', ';', '<', '>', '`', '$', '(', ')']);

export function splitCommand(text: string): SplitResult {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: `unterminated single quote at character ${i + 1}` };
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length && '"\\$`'.includes(text[j + 1]!)) j++;
        else if (text[j] === '$' || text[j] === '`') {
          return { ok: false, error: `'${text[j]}' inside double quotes needs a shell; use single quotes or write [sh, -c, '...']` };
        }
        word += text[j];
      }
      if (j >= text.length) return { ok: false, error: `unterminated double quote at character ${i + 1}` };
      inWord = true;
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 < text.length) word += text[i + 1];
      inWord = true;
      i += 2;
    } else if (NEEDS_SHELL.has(c)) {
      return { ok: false, error: `'${c}' needs a shell, and tend runs no shell unless you ask: write [sh, -c, '${text.replace(/'/g, "'\\''")}']` };
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) argv.push(word);
  if (argv.length === 0) return { ok: false, error: 'the command is empty' };
  return { ok: true, argv };
}
