import t from 'tap';
import { splitCommand } from '../../../src/state/desired/command-line.js';
import { parseDuration } from '../../../src/state/desired/duration.js';
import { validateState } from '../../../src/state/desired/validate.js';
import { loadStateText } from '../../../src/state/desired/load.js';
import { formatProblem, isTendError } from '../../../src/errors.js';

const opts = { file: '/srv/app/state.yaml', stateDir: '/srv/app/.tend' };

function problems(text: string): string[] {
  const r = validateState(text, opts);
  return r.ok ? [] : r.problems.map(formatProblem);
}

t.test('fills every default for a minimal program', async (t) => {
  const r = validateState('programs:\n  web:\n    command: node server.js\n', opts);
  t.ok(r.ok);
  if (!r.ok) return;
  const web = r.desired.programs.get('web')!;
  t.same(web.process, { command: ['node', 'server.js'], env: {}, cwd: '/srv/app', user: null });
  t.equal(web.replicas, 1);
  t.equal(web.state, 'running');
  t.equal(web.generation, 0);
  t.same(web.restart, { policy: 'always', exitCodes: [0], startSeconds: 1000, maxRetries: 3, backoff: { initial: 1000, max: 60_000, resetAfter: 60_000 }, schedule: null, timezone: null, maxUptime: null, jitter: 0 });
  t.same([web.limits, web.health], [null, null]);
  t.same(web.stop, { signal: 'SIGTERM', timeout: 10_000 });
  t.equal(web.logs.stdout, '/srv/app/.tend/logs/web.{replica}.out.log');
});

t.test('reads every field', async (t) => {
  const r = validateState(
    `programs:
  api:
    command: [python3, -m, http.server]
    args: ['8080']
    cwd: ./www
    env: { PORT: 8080, DEBUG: true, NAME: api }
    user: www-data
    replicas: 3
    state: stopped
    generation: 7
    restart:
      policy: on-failure
      exitCodes: [0, 2]
      startSeconds: 500ms
      maxRetries: 5
      backoff: { initial: 2s, max: 1m, resetAfter: 5m }
      schedule: '0 4 * * *'
      timezone: Europe/Paris
      maxUptime: 24h
      jitter: 10m
    limits: { memory: 512Mi, openFiles: 1000, closeWait: 50, interval: 2s, samples: 5 }
    health: { http: { url: 'http://127.0.0.1:8080/health' }, interval: 5s, timeout: 500ms, failures: 2, initialDelay: 3s }
    stop: { signal: INT, timeout: 30s }
    logs: { stdout: /var/log/api.log, stderr: stdout, maxSize: 10Mi, keep: 3 }
`,
    opts,
  );
  t.ok(r.ok, JSON.stringify(r));
  if (!r.ok) return;
  const api = r.desired.programs.get('api')!;
  t.same(api.process, { command: ['python3', '-m', 'http.server', '8080'], env: { PORT: '8080', DEBUG: 'true', NAME: 'api' }, cwd: '/srv/app/www', user: 'www-data' });
  t.same([api.replicas, api.state, api.generation], [3, 'stopped', 7]);
  t.same(api.restart, { policy: 'on-failure', exitCodes: [0, 2], startSeconds: 500, maxRetries: 5, backoff: { initial: 2000, max: 60_000, resetAfter: 300_000 }, schedule: '0 4 * * *', timezone: 'Europe/Paris', maxUptime: 86_400_000, jitter: 600_000 });
  t.same(api.limits, { memory: 512 * 2 ** 20, openFiles: 1000, closeWait: 50, interval: 2000, samples: 5 });
  t.same(api.health, { probe: { kind: 'http', url: 'http://127.0.0.1:8080/health' }, interval: 5000, timeout: 500, failures: 2, initialDelay: 3000 });
  t.same(api.stop, { signal: 'SIGINT', timeout: 30_000 });
  t.same(api.logs, { stdout: '/var/log/api.log', stderr: 'stdout', maxSize: 10 * 2 ** 20, keep: 3 });
  t.match(problems('programs:\n  web:\n    command: x\n    logs: { reopenSignal: USR1 }\n')[0], /^state\.yaml:4:27: programs\.web\.logs\.reopenSignal: is no longer supported: tend rotates captured output by copy/);
});

t.test('reports a wrong type with its line, column and field', async (t) => {
  t.same(problems('programs:\n  web:\n    command: node\n    replicas: two\n'), ['state.yaml:4:15: programs.web.replicas: expected a whole number from 0 to 1000, got "two"']);
});

t.test('reports every problem at once', async (t) => {
  const found = problems(`programs:
  web:
    command: node
    replicas: -1
    state: runing
    stop: { timeout: forever }
  worker:
    comand: node
`);
  t.equal(found.length, 5, found.join('\n'));
  t.match(found[0], /^state.yaml:4:15: programs.web.replicas: expected a whole number from 0 to 1000, got -1/);
  t.match(found[1], /^state.yaml:5:12: programs.web.state: expected one of running, stopped, got "runing"; did you mean 'running'\?/);
  t.match(found[2], /^state.yaml:6:22: programs.web.stop.timeout: expected a duration/);
  t.match(found[3], /^state.yaml:8:5: programs.worker.comand: unknown field; did you mean 'command'\?/);
  t.match(found[4], /^state.yaml:7:3: programs.worker.command: is required/);
});

t.test('reports YAML syntax errors with their position', async (t) => {
  const found = problems('programs:\n  web:\n    command: [node\n');
  t.ok(found.length > 0);
  t.match(found[0], /^state.yaml:\d+:\d+: /);
});

t.test('refuses duplicate keys', async (t) => {
  t.same(problems('programs:\n  web:\n    command: a\n  web:\n    command: b\n'), ['state.yaml:4:3: programs.web: given twice (first on line 2); a key may appear once']);
  t.same(problems('programs:\n  web:\n    command: a\n    env: { A: 1, A: 2 }\n'), ['state.yaml:4:18: programs.web.env.A: given twice (first on line 4); a key may appear once']);
});

t.test('refuses shell syntax in a command string, with the fix', async (t) => {
  t.match(problems('programs:\n  web:\n    command: node app.js > out.log\n')[0], /programs.web.command: '>' needs a shell.*\[sh, -c, 'node app.js > out.log'\]/);
});

t.test('refuses program names that cannot name an instance', async (t) => {
  t.match(problems('programs:\n  "a:b":\n    command: x\n')[0], /programs.a:b: a program name may use/);
});

t.test('refuses a file that says nothing (empty, comments only, no programs key); running nothing takes programs: {}', async (t) => {
  // A file read in the middle of an in-place save is empty or cut: it must never mean "stop everything".
  t.same(problems(''), ['state.yaml:1:1: the file is empty (or only comments); to run nothing, write `programs: {}`']);
  t.same(problems('# all gone\n'), ['state.yaml:1:1: the file is empty (or only comments); to run nothing, write `programs: {}`']);
  t.same(problems('programs:\n'), ['state.yaml:1:1: programs: is empty; to run nothing, write `programs: {}`']);
  t.same(problems('other: 1\n'), ['state.yaml:1:1: other: unknown field (known: programs, notify)', 'state.yaml:1:1: programs: is required: the programs to run (to run nothing, write `programs: {}`)']);
  t.ok(validateState('programs: {}\n', opts).ok);
});

t.test('names a missing command on PATH as a problem of that program only', async (t) => {
  const r = loadStateText('programs:\n  web:\n    command: nodee-not-here app.js\n  ok:\n    command: sh\n', '/tmp/state.yaml', '/tmp/.tend');
  t.equal(r.desired.programs.get('web')!.configError, "'nodee-not-here' was not found on PATH");
  t.equal(r.desired.programs.get('ok')!.configError, null);
  t.same(r.programProblems.map(formatProblem), ["state.yaml:3:14: programs.web.command: 'nodee-not-here' was not found on PATH"]);
});

t.test('throws INVALID_STATE_FILE with the problems attached', async (t) => {
  try {
    loadStateText('programs: [1]\n', '/tmp/state.yaml', '/tmp/.tend');
    t.fail('should throw');
  } catch (e) {
    t.ok(isTendError(e, 'INVALID_STATE_FILE'));
    t.equal((e as { problems: unknown[] }).problems.length, 1);
  }
});

t.test('reads sizes with binary and decimal units', async (t) => {
  const { parseSize } = await import('../../../src/state/desired/size.js');
  const cases: [unknown, number | null][] = [['50Mi', 52_428_800], ['512Ki', 524_288], ['1G', 1e9], ['10MB', 1e7], [4096, 4096], ['lots', null], ['5Xi', null], [-1, null]];
  for (const [input, bytes] of cases) t.equal(parseSize(input), bytes, String(input));
  t.match(problems('programs:\n  web:\n    command: x\n    logs: { maxSize: huge }\n')[0], /state.yaml:4:22: programs.web.logs.maxSize: expected a size like 50Mi/);
});

t.test('reports bad schedules, time zones, limits and probes with their positions', async (t) => {
  const found = problems(`programs:
  web:
    command: x
    restart: { schedule: '0 * * *', timezone: Mars/Olympus }
    limits: { memory: lots, interval: 10ms }
    health: { http: { url: 'ftp://x' }, tcp: { port: 80 } }
  cron:
    command: x
    restart: { schedule: '61 * * * *' }
`);
  t.match(found.join('\n'), /state.yaml:4:47: programs.web.restart.timezone: unknown time zone 'Mars\/Olympus'/);
  t.match(found.join('\n'), /state.yaml:4:26: programs.web.restart.schedule: expected a cron expression of 5 fields \(or 6 with seconds\), got 4/);
  t.match(found.join('\n'), /state.yaml:5:23: programs.web.limits.memory: expected a size/);
  t.match(found.join('\n'), /programs.web.limits.interval: must be at least 100ms/);
  t.match(found.join('\n'), /state.yaml:6:13: programs.web.health: needs exactly one probe of http, tcp or exec, got http and tcp/);
  t.match(found.join('\n'), /state.yaml:9:26: programs.cron.restart.schedule: not a valid cron expression/);
});

t.test('splits command strings like a shell, without one', async (t) => {
  const cases: [string, string[]][] = [
    ['node server.js', ['node', 'server.js']],
    [`sh -c 'echo $HOME | wc'`, ['sh', '-c', 'echo $HOME | wc']],
    [`echo "a b" c\\ d`, ['echo', 'a b', 'c d']],
    [`x "say \\"hi\\""`, ['x', 'say "hi"']],
    ['  spaced   out  ', ['spaced', 'out']],
  ];
  for (const [text, argv] of cases) t.same(splitCommand(text), { ok: true, argv }, text);
  for (const bad of ['', 'a "open', "a 'open", 'a; b', 'echo $HOME', 'a && b', 'echo "$X"']) t.equal(splitCommand(bad).ok, false, bad);
});

t.test('parses durations', async (t) => {
  const cases: [unknown, number | null][] = [
    ['500ms', 500], ['10s', 10_000], ['5m', 300_000], ['1h', 3_600_000], ['1m30s', 90_000], [3, 3000], ['2.5s', 2500], ['0', 0],
    ['ten', null], ['10x', null], ['', null], [-1, null], [null, null],
  ];
  for (const [input, ms] of cases) t.equal(parseDuration(input), ms, String(input));
});
