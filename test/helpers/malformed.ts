/**
 * Generated malformed state.yaml files: every kind of bad input a person, a tool or a
 * broken disk can produce. Deterministic (a seeded generator), so a failure names a file
 * that the next run makes again.
 */

/** A valid file that uses every field, the base of truncations and wrong types. */
export const RICH = `programs:
  api:
    command: [python3, -m, http.server]
    args: ['8080']
    cwd: .
    env: { PORT: 8080, MODE: prod }
    replicas: 2
    state: running
    generation: 3
    restart:
      policy: on-failure
      exitCodes: [0, 2]
      startSeconds: 500ms
      maxRetries: 5
      backoff: { initial: 2s, max: 1m, resetAfter: 5m }
      schedule: '0 4 * * *'
      timezone: UTC
      maxUptime: 24h
      jitter: 10m
    limits: { memory: 512Mi, openFiles: 1000, closeWait: 50, interval: 2s, samples: 5 }
    health: { http: { url: 'http://127.0.0.1:8080/health' }, interval: 5s, timeout: 500ms, failures: 2, initialDelay: 3s }
    stop: { signal: INT, timeout: 30s }
    logs: { stdout: out.log, stderr: stdout, maxSize: 10Mi, keep: 3 }
  worker:
    command: sleep 1000
`;

export interface Malformed {
  name: string;
  bytes: Buffer;
  /** Whether a problem must carry a line and column (every one here does). */
  positioned: boolean;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Replaces the value of `field` (a line `    field: ...` or `field: ...` inside a flow map) in RICH. */
function withField(field: string, value: string): string {
  const block = new RegExp(`^(\\s+${field}: ).*$`, 'm');
  if (block.test(RICH)) return RICH.replace(block, `$1${value}`);
  const flow = new RegExp(`([{ ,]${field}: )([^,}]+|\\{[^}]*\\})`);
  return RICH.replace(flow, `$1${value}`);
}

const WRONG_TYPES: [string, string[]][] = [
  ['command', ['42', '{ a: b }', '[]', "''", '[1, [2]]']],
  ['args', ['x', '{ a: 1 }']],
  ['cwd', ['[a]', '{ a: 1 }']],
  ['env', ['[a, b]', 'x', '{ A: [1] }']],
  ['replicas', ['two', '-1', '1.5', '[1]', '1001', '1e300']],
  ['state', ['runing', '1', '[running]']],
  ['generation', ['-3', 'x', '9007199254740993']],
  ['policy', ['sometimes', '1']],
  ['exitCodes', ['0', '[a]', '[-1]']],
  ['startSeconds', ['soon', '-1', '[1s]', '400d']],
  ['maxRetries', ['many', '-1', '2.5']],
  ['initial', ['x', '1y']],
  ['max', ['100ms']],
  ['resetAfter', ['[]']],
  ['schedule', ['0 4 * *', '61 * * * *', '[1]', 'every day']],
  ['timezone', ['Mars/Olympus', '5']],
  ['maxUptime', ['forever', '-1h']],
  ['jitter', ['{}']],
  ['memory', ['lots', '-5Mi', '2Pi', '1e30']],
  ['openFiles', ['0', 'x']],
  ['closeWait', ['-1', '[]']],
  ['interval', ['10ms', 'x']],
  ['samples', ['0', 'x']],
  ['signal', ['KILLME', '99', '[TERM]']],
  ['timeout', ['x', '-1s']],
  ['maxSize', ['big', '-1']],
  ['keep', ['-1', 'x']],
  ['stdout', ['[a]']],
  ['failures', ['0']],
  ['initialDelay', ['x']],
  ['url', ['ftp://x', '[a]']],
];

const UNKNOWN_KEYS = [
  RICH.replace('programs:', 'programz:'),
  RICH.replace('    replicas: 2', '    replica: 2'),
  RICH.replace('      policy:', '      polcy:'),
  RICH.replace('initial: 2s', 'inital: 2s'),
  RICH.replace('memory: 512Mi', 'mem: 512Mi'),
  RICH.replace('signal: INT', 'sig: INT'),
  RICH.replace('maxSize: 10Mi', 'max_size: 10Mi'),
  RICH.replace('interval: 5s, timeout', 'every: 5s, timeout'),
  `${RICH}extra: 1\n`,
  RICH.replace('  worker:\n', '  worker:\n    priority: 5\n'),
];

export function malformedFiles(seed = 20261130): Malformed[] {
  const random = rng(seed);
  const out: Malformed[] = [];
  const add = (name: string, content: string | Buffer, positioned = true) => out.push({ name, bytes: typeof content === 'string' ? Buffer.from(content) : content, positioned });

  // Truncations, as an in-place save read half-way (only those that do not validate are kept by the caller).
  for (let i = 0; i < 60; i++) add(`truncated-${i}`, RICH.slice(0, Math.floor(random() * RICH.length)));
  for (const [field, values] of WRONG_TYPES) for (const [i, v] of values.entries()) add(`wrong-${field}-${i}`, withField(field, v));
  for (const [i, text] of UNKNOWN_KEYS.entries()) add(`unknown-key-${i}`, text);
  // Numbers: huge, negative, fractional, not numbers at all.
  for (const [i, v] of ['-1', '1e400', '.inf', '-.inf', '.nan', '0x7fffffffffffffffff', '99999999999999999999', '1_000'].entries()) add(`number-${i}`, withField('replicas', v));
  // Empty, blank, comments only, a document marker only, null programs.
  for (const [i, text] of ['', '\n\n', '# nothing here\n', '---\n', '...\n', 'programs:\n', 'programs: ~\n', 'programs: []\n', '[]\n', 'just a string\n'].entries()) add(`empty-${i}`, text);
  // Binary garbage and invalid UTF-8.
  for (let i = 0; i < 10; i++) add(`binary-${i}`, Buffer.from(Array.from({ length: 64 + Math.floor(random() * 4000) }, () => Math.floor(random() * 256))));
  for (const [i, bad] of [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]].entries()) {
    const at = RICH.indexOf('prod');
    add(`utf8-${i}`, Buffer.concat([Buffer.from(RICH.slice(0, at)), Buffer.from(bad), Buffer.from(RICH.slice(at))]));
  }
  add('utf16', Buffer.from(`\ufeff${RICH}`, 'utf16le'));
  // Control characters and NUL, raw and escaped.
  add('nul-raw', RICH.replace('prod', 'pr\0od'));
  add('nul-escaped', RICH.replace('MODE: prod', 'MODE: "pr\\0od"'));
  add('nul-in-arg', RICH.replace("args: ['8080']", 'args: ["80\\x0080"]'));
  add('bell', RICH.replace('prod', 'pr\x07od'));
  add('escape-seq', RICH.replace('prod', '\x1b[31mprod'));
  // Sizes: 5 MB of programs, a 5 MB argument, a 200 KB env value (over Linux's per-string limit).
  add('huge-5mb', `programs:\n${Array.from({ length: 150_000 }, (_, i) => `  p${i}: { command: [sleep, '1'] }\n`).join('')}`);
  add('just-over-1mib', `programs:\n${Array.from({ length: 30_000 }, (_, i) => `  p${i}: { command: [sleep, '1'] }\n`).join('')}`);
  add('dup-at-end-1mib', `programs:\n${Array.from({ length: 28_000 }, (_, i) => `  p${i}: { command: [sleep, '1'] }\n`).join('')}  p1: { command: [sleep, '2'] }\n`);
  add('huge-arg', `programs:\n  a:\n    command: [echo, '${'x'.repeat(3 * 2 ** 20)}']\n`);
  add('long-env', `programs:\n  a:\n    command: [env]\n    env: { BIG: '${'y'.repeat(200 * 1024)}' }\n`);
  add('many-replicas', withField('replicas', '1000000000'));
  add('many-instances', `programs:\n${Array.from({ length: 30 }, (_, i) => `  p${i}: { command: [sleep, '1'], replicas: 1000 }\n`).join('')}`);
  // Deep nesting: block, compact, flow sequences and maps, nested mappings.
  add('deep-compact', `${'- '.repeat(3000)}x\ny: 1\n`);
  add('deep-flow-seq', `programs: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
  add('deep-flow-map', `programs: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}\n`);
  add('deep-block-map', `programs:\n${Array.from({ length: 400 }, (_, i) => `${' '.repeat(i + 2)}k${i}:\n`).join('')}`);
  add('deep-unclosed', `programs: ${'['.repeat(100_000)}\n`);
  // Alias bombs and aliases where values go.
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 12; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  add('alias-bomb', `${bomb.join('\n')}\nprograms: {}\n`);
  add('alias-bomb-in-env', `x: &x [1, 2]\nprograms:\n  a:\n    command: [sleep, '1']\n    env: *x\n`);
  add('alias-command', `programs:\n  a:\n    command: &c [sleep, '1']\n  b:\n    command: *c\n`);
  add('alias-undefined', `programs:\n  a:\n    command: *nothing\n`);
  add('merge-key', `base: &b { command: [sleep, '1'] }\nprograms:\n  a:\n    <<: *b\n`);
  // Duplicate keys at each level.
  add('dup-program', `${RICH}  worker:\n    command: sleep 2\n`);
  add('dup-field', RICH.replace('    replicas: 2\n', '    replicas: 2\n    replicas: 3\n'));
  add('dup-top', `${RICH}programs: {}\n`);
  add('dup-env', RICH.replace('MODE: prod', 'MODE: prod, MODE: dev'));
  // Tabs where YAML forbids them, CRLF mixed in, BOM in the middle.
  add('tab-indent', RICH.replace('    replicas: 2', '\treplicas: 2'));
  add('tab-indent-2', RICH.replace('  worker:', '\tworker:'));
  add('tabs-everywhere', RICH.replaceAll('  ', '\t'));
  add('bom-middle', RICH.replace('  worker:', '\ufeff  worker:'));
  // Syntax: unclosed quotes and brackets, bad indentation, two documents, directives.
  add('unclosed-quote', RICH.replace("args: ['8080']", "args: ['8080]"));
  add('unclosed-flow', RICH.replace('samples: 5 }', 'samples: 5'));
  add('bad-indent', RICH.replace('    cwd: .', '   cwd: .'));
  add('two-docs', `${RICH}---\nprograms: {}\n`);
  add('directive', `%YAML 1.2\n${RICH}`);
  add('key-only', 'programs:\n  a\n');
  add('program-null', 'programs:\n  a:\n');
  add('program-list', 'programs:\n  - a\n  - b\n');
  add('bad-name', "programs:\n  'web:0': { command: [sleep, '1'] }\n");
  add('bad-name-2', "programs:\n  '-x': { command: [sleep, '1'] }\n");
  add('empty-command', "programs:\n  a: { command: '' }\n");
  add('shell-command', "programs:\n  a: { command: 'sleep 1 | cat' }\n");
  add('missing-command', 'programs:\n  a: { replicas: 1 }\n');
  add('probe-two', "programs:\n  a: { command: [sleep, '1'], health: { tcp: { port: 1 }, exec: { command: [true] } } }\n");
  add('probe-none', "programs:\n  a: { command: [sleep, '1'], health: { interval: 1s } }\n");
  add('backoff-inverted', "programs:\n  a: { command: [sleep, '1'], restart: { backoff: { initial: 10s, max: 1s } } }\n");
  add('no-such-user', "programs:\n  a: { command: [sleep, '1'], user: no-such-user-tend }\n");
  add('no-such-cwd', "programs:\n  a: { command: [sleep, '1'], cwd: /nonexistent/dir }\n");
  add('no-such-command', "programs:\n  a: { command: [no-such-command-tend] }\n");
  return out;
}
