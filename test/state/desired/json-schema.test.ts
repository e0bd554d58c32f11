import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { stateJsonSchema } from '../../../src/state/desired/json-schema.js';
import { validateState } from '../../../src/state/desired/validate.js';

/**
 * The schema and the validator must not drift: both judge the same generated documents,
 * valid ones and ones broken in one place, and agree. The generator stays inside what a
 * schema can say (json-schema.ts lists what only `tend validate` checks).
 */
const validator = new Ajv({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true }).compile(stateJsonSchema());

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

type Doc = Record<string, unknown>;

function generator(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const maybe = (p = 0.5) => r() < p;
  const duration = () => pick(['500ms', '10s', '5m', '1h', '1d', '1m30s', 2, 0.5, '3']);
  const size = () => pick(['50Mi', '512Ki', '1G', '10MB', 1048576, '2gib', '100']);
  const program = (name: string, earlier: string[]): Doc => {
    const p: Doc = { command: pick([['sleep', '1000'], 'python3 -m http.server', ['node', '-e', 'x'], "sh -c 'exit 0'"]) };
    if (maybe()) p.args = pick([['--port', '8080'], [], [8080]]);
    if (maybe(0.3)) p.cwd = pick(['.', '/tmp', 'sub/dir']);
    if (maybe()) p.env = pick([{ PORT: 8080, DEBUG: true, NAME: 'x' }, {}, { A: '' }]);
    if (maybe(0.3)) p.user = pick(['www-data', 1000]);
    if (maybe(0.3)) p.group = pick(['web', 'workers.eu', 7]);
    if (maybe(0.3)) p.selector = pick([{ role: 'web' }, { role: ['web', 'api'], dc: 'eu' }, { hostname: 'web-1' }, {}]);
    if (maybe()) p.replicas = pick([0, 1, 3, 1000]);
    if (maybe()) p.state = pick(['running', 'stopped']);
    if (maybe(0.3)) p.generation = pick([0, 7]);
    if (maybe(0.3) && earlier.length > 0) p.dependsOn = maybe() ? [pick(earlier)] : { [pick(earlier)]: pick([null, 'running', 'started', { condition: 'running', restart: true }]) };
    if (maybe(0.2)) p.shutdownOn = pick(['fatal', 'exit']);
    if (maybe()) p.restart = { policy: pick(['always', 'on-failure', 'never']), ...(maybe() ? { exitCodes: [0, 2] } : {}), ...(maybe() ? { startSeconds: duration() } : {}), ...(maybe() ? { backoff: { initial: '1s', max: '1m', resetAfter: duration() } } : {}), ...(maybe() ? { maxRetries: 5 } : {}), ...(maybe(0.3) ? { schedule: pick(['0 4 * * *', '*/5 * * * *']), timezone: pick(['UTC', 'Europe/Paris']) } : {}), ...(maybe(0.3) ? { maxUptime: '24h', jitter: '10m' } : {}) };
    if (maybe()) p.limits = { ...(maybe() ? { memory: size() } : {}), ...(maybe() ? { openFiles: 1000 } : {}), ...(maybe() ? { closeWait: 5 } : {}), ...(maybe() ? { interval: pick(['1s', '250ms', 2]) } : {}), ...(maybe() ? { samples: 3 } : {}) };
    if (maybe(0.4)) p.health = { ...pick([{ http: { url: 'http://127.0.0.1:8080/health' } }, { tcp: { port: 6379 } }, { tcp: { host: '127.0.0.1', port: 5432 } }, { exec: { command: ['true'] } }, { exec: { command: 'pg_isready -q' } }]), ...(maybe() ? { interval: duration(), timeout: '500ms', failures: 2, initialDelay: '3s' } : {}) };
    if (maybe(0.4)) p.stop = { ...(maybe() ? { signal: pick(['TERM', 'sigint', 'SIGQUIT', 'hup', 'USR1']) } : {}), ...(maybe() ? { timeout: duration() } : {}) };
    if (maybe(0.4)) p.logs = { ...(maybe() ? { stdout: pick(['out.log', 'inherit', '/var/log/x-{replica}.log']) } : {}), ...(maybe() ? { stderr: pick(['stdout', 'err.log']) } : {}), ...(maybe() ? { maxSize: size(), keep: pick([0, 10]) } : {}) };
    return p;
  };
  const doc = (): Doc => {
    const names = ['web', 'api', 'worker', 'db', 'queue_1', 'cron.job'].slice(0, 1 + Math.floor(r() * 5));
    const programs: Doc = {};
    names.forEach((n, i) => (programs[n] = program(n, names.slice(0, i))));
    const d: Doc = { programs };
    if (maybe(0.3)) d.notify = [pick([{ exec: ['/usr/bin/logger', '-t', 'tend'] }, { exec: 'sendmail ops@example.com' }, { webhook: { url: 'http://127.0.0.1:9000/hook', headers: { Authorization: 'Bearer x' } } }]), ...(maybe() ? [{ webhook: { url: 'https://hooks.example.com/x' }, on: ['fatal', 'recovered'], timeout: '5s', retries: 2 }] : [])];
    return d;
  };
  return { doc, pick, r };
}

/** One break each, at a random program: [what, how]. */
const BREAKS: [string, (p: Doc, d: Doc) => void][] = [
  ['unknown program field', (p) => (p.comand = 'x')],
  ['command missing', (p) => delete p.command],
  ['command an empty list', (p) => (p.command = [])],
  ['command a mapping', (p) => (p.command = { run: 'x' })],
  ['command blank', (p) => (p.command = '   ')],
  ['args not a list', (p) => (p.args = '--port 80')],
  ['args with a mapping', (p) => (p.args = [{ a: 1 }])],
  ['args with a boolean', (p) => (p.args = [true])],
  ['env a list', (p) => (p.env = ['A=1'])],
  ['env value a list', (p) => (p.env = { A: [1] })],
  ['env name with =', (p) => (p.env = { 'A=B': '1' })],
  ['env value with NUL', (p) => (p.env = { A: 'x\0y' })],
  ['cwd a list', (p) => (p.cwd = ['/tmp'])],
  ['cwd a boolean', (p) => (p.cwd = true)],
  ['user with NUL', (p) => (p.user = 'ro\0ot')],
  ['group with a space', (p) => (p.group = 'web servers')],
  ['group starting with -', (p) => (p.group = '-web')],
  ['selector a list', (p) => (p.selector = ['role=web'])],
  ['selector value a mapping', (p) => (p.selector = { role: { web: true } })],
  ['selector value an empty list', (p) => (p.selector = { role: [] })],
  ['replicas negative', (p) => (p.replicas = -1)],
  ['replicas over 1000', (p) => (p.replicas = 1001)],
  ['replicas a fraction', (p) => (p.replicas = 1.5)],
  ['replicas a string', (p) => (p.replicas = 'two')],
  ['state misspelt', (p) => (p.state = 'runing')],
  ['generation negative', (p) => (p.generation = -2)],
  ['shutdownOn unknown', (p) => (p.shutdownOn = 'crash')],
  ['dependsOn a number', (p) => (p.dependsOn = 5)],
  ['dependsOn bad condition', (p) => (p.dependsOn = { web: 'ready' })],
  ['dependsOn extra key', (p) => (p.dependsOn = { web: { condition: 'running', after: 1 } })],
  ['dependsOn restart not boolean', (p) => (p.dependsOn = { web: { restart: 'yes' } })],
  ['restart null', (p) => (p.restart = null)],
  ['restart a list', (p) => (p.restart = [])],
  ['restart unknown field', (p) => (p.restart = { polcy: 'always' })],
  ['restart policy unknown', (p) => (p.restart = { policy: 'sometimes' })],
  ['exitCodes negative', (p) => (p.restart = { exitCodes: [-1] })],
  ['exitCodes a number', (p) => (p.restart = { exitCodes: 0 })],
  ['startSeconds a word', (p) => (p.restart = { startSeconds: 'soon' })],
  ['startSeconds negative', (p) => (p.restart = { startSeconds: -1 })],
  ['startSeconds unknown unit', (p) => (p.restart = { startSeconds: '10w' })],
  ['startSeconds a boolean', (p) => (p.restart = { startSeconds: true })],
  ['maxUptime over a year, as a number', (p) => (p.restart = { maxUptime: 400 * 86400 })],
  ['backoff unknown field', (p) => (p.restart = { backoff: { start: '1s' } })],
  ['maxRetries a fraction', (p) => (p.restart = { maxRetries: 0.5 })],
  ['schedule a list', (p) => (p.restart = { schedule: ['0 4 * * *'] })],
  ['limits null', (p) => (p.limits = null)],
  ['limits unknown kind', (p) => (p.limits = { cpu: 2 })],
  ['memory a bad size', (p) => (p.limits = { memory: 'lots' })],
  ['memory a unit of time', (p) => (p.limits = { memory: '10s' })],
  ['memory negative', (p) => (p.limits = { memory: -5 })],
  ['memory over 1Pi, as a number', (p) => (p.limits = { memory: 2 ** 51 })],
  ['openFiles zero', (p) => (p.limits = { openFiles: 0 })],
  ['closeWait a string', (p) => (p.limits = { closeWait: 'five' })],
  ['interval under 100ms, as a number', (p) => (p.limits = { interval: 0.05 })],
  ['samples zero', (p) => (p.limits = { samples: 0 })],
  ['health with no probe', (p) => (p.health = { interval: '5s' })],
  ['health with two probes', (p) => (p.health = { http: { url: 'http://x/' }, tcp: { port: 1 } })],
  ['health http without url', (p) => (p.health = { http: {} })],
  ['health http url not http', (p) => (p.health = { http: { url: 'ftp://x' } })],
  ['health tcp port zero', (p) => (p.health = { tcp: { port: 0 } })],
  ['health tcp without port', (p) => (p.health = { tcp: { host: 'x' } })],
  ['health exec without command', (p) => (p.health = { exec: {} })],
  ['health failures zero', (p) => (p.health = { tcp: { port: 1 }, failures: 0 })],
  ['health null', (p) => (p.health = null)],
  ['stop signal unknown', (p) => (p.stop = { signal: 'SIGFOO' })],
  ['stop signal a number', (p) => (p.stop = { signal: 15 })],
  ['stop unknown field', (p) => (p.stop = { grace: '5s' })],
  ['logs reopenSignal (removed)', (p) => (p.logs = { reopenSignal: 'HUP' })],
  ['logs keep negative', (p) => (p.logs = { keep: -1 })],
  ['logs maxSize a word', (p) => (p.logs = { maxSize: 'big' })],
  ['logs stdout a list', (p) => (p.logs = { stdout: ['a'] })],
  ['program a list', (_p, d) => ((d.programs as Doc).web = ['sleep'])],
  ['program null', (_p, d) => ((d.programs as Doc).web = null)],
  ['program name with a space', (_p, d) => ((d.programs as Doc)['my web'] = { command: 'x' })],
  ['program name starting with .', (_p, d) => ((d.programs as Doc)['.hidden'] = { command: 'x' })],
  ['programs null', (_p, d) => (d.programs = null)],
  ['programs a list', (_p, d) => (d.programs = [])],
  ['programs missing', (_p, d) => delete d.programs],
  ['unknown top-level key', (_p, d) => (d.program = {})],
  ['notify a mapping', (_p, d) => (d.notify = { exec: 'x' })],
  ['notify with no sink', (_p, d) => (d.notify = [{ on: ['fatal'] }])],
  ['notify with both sinks', (_p, d) => (d.notify = [{ exec: 'x', webhook: { url: 'http://x/' } }])],
  ['notify unknown kind', (_p, d) => (d.notify = [{ exec: 'x', on: ['crash'] }])],
  ['notify webhook not http', (_p, d) => (d.notify = [{ webhook: { url: 'mailto:ops@example.com' } }])],
  ['notify webhook unknown field', (_p, d) => (d.notify = [{ webhook: { url: 'http://x/', method: 'PUT' } }])],
  ['notify retries over 10', (_p, d) => (d.notify = [{ exec: 'x', retries: 11 }])],
  ['notify exec empty', (_p, d) => (d.notify = [{ exec: [] }])],
  ['notify timeout a word', (_p, d) => (d.notify = [{ exec: 'x', timeout: 'long' }])],
];

t.test('the JSON Schema and the validator agree on 300 generated documents, valid and broken in one place', async (t) => {
  const disagreements: string[] = [];
  let valid = 0;
  for (let i = 0; i < 300; i++) {
    const g = generator(1000 + i);
    const d = g.doc();
    let what = 'valid';
    // Two of three documents are broken, each break used several times across the run.
    if (i % 3 !== 0) {
      const [name, apply] = BREAKS[i % BREAKS.length]!;
      const programs = d.programs as Doc;
      apply((programs.web ?? Object.values(programs)[0]) as Doc, d);
      what = name;
    }
    const text = stringify(d);
    const tend = validateState(text, { file: '/srv/state.yaml', stateDir: '/srv/.tend' }).ok;
    const schema = validator(parse(text));
    if (tend) valid++;
    if (tend !== schema) disagreements.push(`#${i} (${what}): tend says ${tend ? 'valid' : 'invalid'}, the schema ${schema ? 'valid' : 'invalid'}\n${text}${JSON.stringify(validator.errors)}`);
  }
  t.same(disagreements, [], 'no document where they disagree');
  t.ok(valid >= 100 && valid <= 200, `${valid} of 300 valid: both sides are exercised`);
});

t.test('the example state.yaml names the schema, which tend schema prints and the repository carries', async (t) => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const printed = execFileSync(process.execPath, [`${root}dist/cli/main.js`, 'schema'], { encoding: 'utf8' });
  t.same(JSON.parse(printed), stateJsonSchema());
  t.equal(readFileSync(`${root}schema/state.schema.json`, 'utf8'), printed, 'schema/state.schema.json is up to date (tend schema > schema/state.schema.json)');
  const example = readFileSync(`${root}state.yaml`, 'utf8');
  t.match(example, /^# yaml-language-server: \$schema=\.\/schema\/state\.schema\.json$/m);
  t.ok(validator(parse(example)), JSON.stringify(validator.errors));
});
