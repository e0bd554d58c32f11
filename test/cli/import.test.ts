import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { importSupervisord } from '../../src/cli/import/supervisord.js';
import { lookupUser } from '../../src/state/desired/passwd.js';
import { INHERIT_STDOUT, instanceProcess } from '../../src/state/desired/schema.js';
import { validateState } from '../../src/state/desired/validate.js';
import { CLI } from '../helpers/project.js';

const fixtures = fileURLToPath(new URL('./fixtures/supervisord/', import.meta.url));
const oracle = spawnSync('/usr/bin/python3', ['-c', 'import supervisor.options'], { encoding: 'utf8' }).status === 0;

interface SupervisorProcess {
  group: string;
  name: string;
  argv: string[];
  cwd: string | null;
  env: Record<string, string>;
  uid: number | null;
  autostart: boolean;
  autorestart: string;
  exitcodes: number[];
  startsecs: number;
  startretries: number;
  stopsignal: string;
  stopwaitsecs: number;
  stdout: string | null;
  stderr: string | null;
  redirect: boolean;
  maxbytes: number;
  backups: number;
}

t.test('tend import supervisord means what supervisord\'s own loader makes of the file, process by process', { skip: oracle ? false : "supervisord's loader is not installed (apt-get install supervisor)" }, async (t) => {
  const conf = path.join(fixtures, 'main.conf');
  const seen = JSON.parse(spawnSync('/usr/bin/python3', [path.join(fixtures, 'oracle.py'), conf], { encoding: 'utf8' }).stdout) as SupervisorProcess[];
  const { yaml, warnings } = importSupervisord(conf);
  const dir = mkdtempSync(path.join(tmpdir(), 'tend-import-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'state.yaml');
  writeFileSync(file, yaml);
  const v = validateState(yaml, { file, stateDir: path.join(dir, '.tend') });
  t.ok(v.ok, `the import validates: ${JSON.stringify(v.ok ? '' : v.problems)}`);
  if (!v.ok) return;
  const programs = v.desired.programs;
  const groups = new Set([...programs.values()].map((p) => p.group).filter(Boolean));
  const processes = seen.filter((p) => p.group !== 'fatal-killer');
  const byProgram = new Map<string, SupervisorProcess[]>();
  for (const p of processes) {
    const program = groups.has(p.group) ? p.name : p.group;
    byProgram.set(program, [...(byProgram.get(program) ?? []), p]);
  }
  t.same([...programs.keys()].sort(), [...byProgram.keys()].sort(), 'the same programs');
  for (const [name, procs] of byProgram) {
    const spec = programs.get(name)!;
    t.equal(spec.replicas, procs.length, `${name}: replicas`);
    procs.forEach((p, replica) => {
      const proc = instanceProcess(spec, replica);
      const where = `${name}:${replica} (${p.name})`;
      t.same(proc.command, p.argv, `${where}: argv`);
      t.equal(proc.cwd, p.cwd ?? '/', `${where}: cwd`);
      t.same(proc.env, p.env, `${where}: environment`);
      t.equal(proc.user === null ? null : lookupUser(proc.user)?.uid, p.uid, `${where}: user`);
      t.equal(spec.state, p.autostart ? 'running' : 'stopped', `${where}: autostart`);
      t.equal(spec.restart.policy, p.autorestart, `${where}: autorestart`);
      t.same(spec.restart.exitCodes, p.exitcodes, `${where}: exitcodes`);
      t.equal(spec.restart.startSeconds, p.startsecs * 1000, `${where}: startsecs`);
      t.equal(spec.restart.maxRetries, p.startretries, `${where}: startretries`);
      t.equal(spec.stop.signal, `SIG${p.stopsignal}`, `${where}: stopsignal`);
      t.equal(spec.stop.timeout, p.stopwaitsecs * 1000, `${where}: stopwaitsecs`);
      const stdout = p.stdout === 'AUTO' ? 'default' : p.stdout === '/dev/stdout' ? INHERIT_STDOUT : (p.stdout ?? '/dev/null');
      t.equal(spec.logs.stdout.includes('/.tend/logs/') ? 'default' : spec.logs.stdout, stdout, `${where}: stdout_logfile`);
      const stderr = p.redirect ? 'stdout' : p.stderr === 'AUTO' ? 'default' : (p.stderr ?? '/dev/null');
      t.equal(spec.logs.stderr.includes('/.tend/logs/') ? 'default' : spec.logs.stderr, stderr, `${where}: stderr_logfile`);
      t.equal(spec.logs.maxSize, p.maxbytes, `${where}: maxbytes`);
      t.equal(spec.logs.keep, p.backups, `${where}: backups`);
    });
  }
  t.match(programs.get('web')!.dependsOn, [{ program: 'db', condition: 'started' }], 'priority 10 before 20: web depends on db');
  t.equal(programs.get('db')!.group, 'backend');
  t.match(warnings.join('\n'), /main\.conf:\d+: \[eventlistener:fatal-killer\] not imported: .*shutdownOn: fatal/);
  t.match(warnings.join('\n'), /main\.conf:\d+: \[unix_http_server\] not imported/);
  t.match(warnings.join('\n'), /minfds=4096 not carried over: .*LimitNOFILE/);
});

t.test('tend import through the CLI: stdout, warnings on stderr, exit 0; 2 with FILE:LINE for a file it cannot read', async (t) => {
  const r = spawnSync(process.execPath, [CLI, 'import', 'supervisord', path.join(fixtures, 'main.conf')], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.match(r.stdout, /^# Imported by `tend import supervisord` from .*main\.conf$/m);
  t.match(r.stderr, /main\.conf:\d+: \[supervisorctl\] not imported/);
  const dir = mkdtempSync(path.join(tmpdir(), 'tend-import-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'bad.conf'), '[program:x]\ncommand=sleep 1\nthis line is not ini\n');
  const bad = spawnSync(process.execPath, [CLI, 'import', 'supervisord', path.join(dir, 'bad.conf')], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /bad\.conf:3: not a section header/);
  const missing = spawnSync(process.execPath, [CLI, 'import', 'supervisord', path.join(dir, 'nope.conf')], { encoding: 'utf8' });
  t.equal(missing.status, 2);
  t.match(missing.stderr, /nope\.conf:0: ENOENT/);
});

t.test('round trip: import, tend reconcile --once, and the processes run with the argv, cwd and env supervisord would use', { skip: oracle ? false : "supervisord's loader is not installed (apt-get install supervisor)" }, async (t) => {
  const { Project, waitFor } = await import('../helpers/project.js');
  const p = new Project(t);
  const conf = path.join(fixtures, '../supervisord-run/run.conf');
  const env = { ...process.env, TEND_TEST_MARK: p.mark };
  const seen = JSON.parse(spawnSync('/usr/bin/python3', [path.join(fixtures, 'oracle.py'), conf], { encoding: 'utf8', env }).stdout) as SupervisorProcess[];
  const imported = spawnSync(process.execPath, [CLI, 'import', 'supervisord', conf, '-o', p.file], { encoding: 'utf8', env });
  t.equal(imported.status, 0, imported.stderr);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const running = await waitFor('three processes', () => (p.processes().filter((x) => x.leader).length === 3 ? p.processes().filter((x) => x.leader) : null));
  const { readFileSync, readlinkSync } = await import('node:fs');
  for (const sup of seen) {
    const instance = sup.group === 'plain' ? 'plain:0' : `sleeper:${sup.name.split('-')[1]}`;
    const proc = running.find((x) => x.instance === instance)!;
    t.ok(proc, `${instance} runs`);
    const argv = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // sh -c 'exec sleep N' replaces the shell: what runs is the exec'd command supervisord's argv names.
    const expected = sup.argv[0] === '/bin/sh' ? ['sleep', sup.argv[2]!.split(' ').pop()!] : sup.argv;
    t.same(argv, expected, `${instance}: argv`);
    t.equal(readlinkSync(`/proc/${proc.pid}/cwd`), sup.cwd ?? '/', `${instance}: cwd`);
    const environ = Object.fromEntries(readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    for (const [k, val] of Object.entries(sup.env)) t.equal(environ[k], val, `${instance}: ${k}`);
  }
});
