import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

/** The layout's promises (shared/DESIGN.md), checked on every run so they stay true. */
const src = fileURLToPath(new URL('../src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

const all = files(src).map((file) => ({ file: path.relative(src, file), text: readFileSync(file, 'utf8') }));
const imports = (text: string) => [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
const target = (file: string, spec: string) => (spec.startsWith('.') ? path.relative(src, path.resolve(src, path.dirname(file), spec)) : spec);

t.test('no file under src/ is over 250 lines', async (t) => {
  const long = all.filter(({ text }) => text.split('\n').length > 251).map(({ file, text }) => `${file}: ${text.split('\n').length - 1} lines`);
  t.same(long, [], `${all.length} files`);
});

t.test('lower floors never import higher ones', async (t) => {
  const rules: [RegExp, RegExp, string][] = [
    [/^state\//, /^(reconciler|runtime|spawner|cli)\//, 'state/ imports nothing of ours but errors.ts'],
    [/^reconciler\//, /^(runtime|spawner|cli)\/|^node:(fs|child_process)$/, 'reconciler/ is pure: no runtime, spawner, cli, node:fs or node:child_process'],
    [/^runtime\//, /^(spawner|cli)\/|^node:(fs|child_process)$/, 'runtime/ reaches the OS only through its ports'],
    [/^spawner\//, /^cli\/|^runtime\/(?!ports\.js$)/, 'spawner/ implements the ports, and knows nothing else upstairs'],
    [/^export\//, /^(reconciler|runtime|spawner|cli|gitops)\/|^node:(fs|child_process)$/, 'export/ turns a desired state into text: it reads state/ only'],
    [/^gitops\//, /^(reconciler|runtime|spawner|cli|export)\//, 'gitops/ fetches and publishes the file: it knows state/ only'],
  ];
  for (const [from, banned, rule] of rules) {
    const wrong = all.filter(({ file }) => from.test(file)).flatMap(({ file, text }) => imports(text).filter((spec) => banned.test(target(file, spec))).map((spec) => `${file} imports ${spec}`));
    t.same(wrong, [], rule);
  }
});

t.test('only runtime/ and the CLI own timers', async (t) => {
  const timed = all.filter(({ file, text }) => !/^(runtime|cli)\//.test(file) && /\bset(Timeout|Interval|Immediate)\(/.test(text)).map(({ file }) => file);
  t.same(timed, []);
});
