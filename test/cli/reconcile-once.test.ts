import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { readProcStat } from '../../src/spawner/proc-stat.js';
import { alive, Project, sleeper, waitFor } from '../helpers/project.js';

const TWO_PROGRAMS = `programs:
${sleeper('web', '    replicas: 2\n')}${sleeper('worker')}`;

t.test('converges from nothing and exits 0', async (t) => {
  const p = new Project(t, TWO_PROGRAMS);
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 0, r.stderr);
  const rows = await p.status();
  t.same(rows.map((s) => [s.name, s.state]), [['web:0', 'RUNNING'], ['web:1', 'RUNNING'], ['worker:0', 'RUNNING']]);
  for (const row of rows) t.ok(row.pid !== null && alive(row.pid), `${row.name} has a live pid`);
  t.equal(p.processes().length, 3, 'exactly one process per instance');
});

t.test('a second run with no change does nothing at all', async (t) => {
  const p = new Project(t, TWO_PROGRAMS);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const before = await p.status();
  const table = path.join(p.stateDir, 'instances.json');
  const [text, mtime] = [readFileSync(table, 'utf8'), statSync(table).mtimeMs];
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 0);
  t.equal(r.stderr, '', 'nothing to say');
  t.same((await p.status()).map((s) => s.pid), before.map((s) => s.pid), 'same pids');
  t.equal(readFileSync(table, 'utf8'), text, 'table unchanged');
  t.equal(statSync(table).mtimeMs, mtime, 'table not rewritten');
});

t.test('repairs drift: a program killed with -9 is started again', async (t) => {
  const p = new Project(t, TWO_PROGRAMS);
  await p.run(['reconcile', '--once']);
  const [victim, ...others] = await p.status();
  process.kill(victim!.pid!, 'SIGKILL');
  await waitFor('the victim to die', () => !alive(victim!.pid!));
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /web:0: pid \d+ exit unknown .* -> BACKOFF/);
  const after = await p.status();
  t.not(after[0]!.pid, victim!.pid, 'a new process');
  t.ok(alive(after[0]!.pid!));
  t.equal(after[0]!.restarts, 1);
  t.equal(after[0]!.reason, 'crash');
  t.same(after.slice(1).map((s) => s.pid), others.map((s) => s.pid), 'the others were left alone');
});

t.test('scales down from the highest replica and forgets it', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web', '    replicas: 3\n')}`);
  await p.run(['reconcile', '--once']);
  const before = await p.status();
  p.write(`programs:\n${sleeper('web', '    replicas: 1\n')}`);
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 0, r.stderr);
  const after = await p.status();
  t.same(after.map((s) => s.name), ['web:0']);
  t.equal(after[0]!.pid, before[0]!.pid, 'replica 0 untouched');
  t.notOk(alive(before[1]!.pid!));
  t.notOk(alive(before[2]!.pid!));
});

t.test('restarts only for fields that define the process', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}${sleeper('api')}`);
  await p.run(['reconcile', '--once']);
  const before = await p.status();
  // api: a new env var (needs a new process); web: a new stop timeout (applies in place).
  p.write(`programs:
  web:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    stop: { timeout: 3s }
  api:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@', COLOR: blue }
    restart: { startSeconds: 200ms }
    stop: { timeout: 2s }
`);
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 0, r.stderr);
  const after = await p.status();
  const byName = new Map(after.map((s) => [s.name, s]));
  t.not(byName.get('api:0')!.pid, before.find((s) => s.name === 'api:0')!.pid, 'api got a new process');
  t.equal(byName.get('api:0')!.reason, 'spec-changed');
  t.equal(byName.get('web:0')!.pid, before.find((s) => s.name === 'web:0')!.pid, 'web kept its process');
});

t.test('a generation bump restarts the program', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  await p.run(['reconcile', '--once']);
  const [before] = await p.status();
  p.write(`programs:\n${sleeper('web', '    generation: 1\n')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const [after] = await p.status();
  t.not(after!.pid, before!.pid);
  t.equal(after!.reason, 'generation');
  t.equal(after!.generation, 1);
});

t.test('a broken file stops, starts and restarts nothing, and says where it is wrong', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  await p.run(['reconcile', '--once']);
  const [before] = await p.status();
  p.write(`programs:\n  web:\n    command: [sleep, '1000']\n    replicas: many\n    state: stopped\n`);
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 2);
  t.match(r.stderr, /state\.yaml:4:15: programs\.web\.replicas: expected a whole number from 0 to 1000, got "many"/);
  t.ok(alive(before!.pid!), 'still running');
  t.same(p.processes().map((x) => x.pid), [before!.pid]);
});

t.test('exits 1 with the reason when a program cannot be brought up', async (t) => {
  const p = new Project(t, `programs:
  broken:
    command: [sh, -c, 'exit 3']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 1s, maxRetries: 1 }
  missing:
    command: [/nonexistent/binary]
`);
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 1);
  t.match(r.stderr, /broken:0: FATAL \(exited with code 3; gave up after 2 failed starts in a row\)/);
  t.match(r.stderr, /missing: '\/nonexistent\/binary' is not an executable file/);
  const v = await p.run(['validate']);
  t.equal(v.code, 2);
  t.match(v.stderr, /state\.yaml:7:14: programs\.missing\.command: '\/nonexistent\/binary' is not an executable file/);
  const vj = JSON.parse((await p.run(['validate', '--json'])).stdout) as { ok: boolean; problems: { line: number; col: number; path: string }[] };
  t.match(vj, { ok: false, problems: [{ line: 7, col: 14, path: 'programs.missing.command' }] });
});

t.test('stops a program that ignores SIGTERM with SIGKILL after the stop timeout', async (t) => {
  const stubborn = (state: string) => `programs:
  stubborn:
    command: [node, -e, "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); setInterval(() => {}, 1000)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    state: ${state}
    restart: { startSeconds: 200ms }
    stop: { timeout: 500ms }
`;
  const p = new Project(t, stubborn('running'));
  await p.run(['reconcile', '--once']);
  const [before] = await p.status();
  p.write(stubborn('stopped'));
  const started = Date.now();
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 0, r.stderr);
  t.ok(Date.now() - started >= 500, 'waited for the stop timeout');
  t.match(r.stderr, /stubborn:0: SIGKILL to its process group and session \(stop-timeout\)/);
  t.notOk(alive(before!.pid!));
  const [after] = await p.status();
  t.equal(after!.state, 'STOPPED');
  // This run adopted the process (an earlier run started it), so its exit status is not ours to see.
  t.same([after!.lastExit?.code, after!.lastExit?.signal], [null, null], 'exit unknown, said honestly');
  const log = readFileSync(path.join(p.stateDir, 'logs', 'stubborn.0.out.log'), 'utf8');
  t.match(log, /ignoring SIGTERM/, 'the program got SIGTERM first');
});

t.test('stopping kills grandchildren, in the group and outside it', async (t) => {
  const family = (state: string) => `programs:
  family:
    command: [sh, -c, 'sleep 1001 & setsid sleep 1002 & sleep 1003 & wait']
    env: { TEND_TEST_MARK: '@MARK@' }
    state: ${state}
    restart: { startSeconds: 200ms }
    stop: { timeout: 2s }
`;
  const p = new Project(t, family('running'));
  await p.run(['reconcile', '--once']);
  await waitFor('sh and its three sleeps', () => p.processes().length === 4);
  p.write(family('stopped'));
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 0, r.stderr);
  await waitFor('every descendant to be gone', () => p.processes().length === 0, 5000);
  t.pass('no descendant survived');
});

t.test('never signals a process that merely reuses a recorded pid', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  // A stranger: started by the test, not by tend, marked so teardown can end it.
  const stranger = spawn('sleep', ['1000'], { env: { ...process.env, TEND_TEST_MARK: p.mark }, stdio: 'ignore' });
  const pid = stranger.pid!;
  const stat = readProcStat(pid)!;
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  // The record a previous tend left: same pid, but its process started at another time.
  const record = {
    name: 'web:0', program: 'web', replica: 0, state: 'RUNNING', pid, startTime: stat.startTime - 1, bootId, token: 'old',
    spec: null, generation: 0, restartRequest: 0, scheduleArmed: null, startedAt: Date.now() - 60_000, restarts: 0, failures: 0, startFailures: 0,
    backoffUntil: null, stopDeadline: null, killed: false, lastExit: null, lastReason: 'start',
  };
  (await import('node:fs')).mkdirSync(p.stateDir, { recursive: true });
  writeFileSync(path.join(p.stateDir, 'instances.json'), JSON.stringify({ version: 1, instances: [record] }));
  const [shown] = await p.status();
  t.equal(shown!.state, 'EXITED', 'status does not take the stranger for web:0');
  p.write(`programs:\n${sleeper('web', '    state: stopped\n')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  t.ok(alive(pid), 'stopping web did not touch the stranger');
  p.write(`programs:\n${sleeper('web')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const [now] = await p.status();
  t.not(now!.pid, pid, 'a real web:0 was started');
  t.ok(alive(pid), 'the stranger is still alive');
  stranger.kill('SIGKILL');
});

t.test('runs a program as its user, and says why when it cannot switch', async (t) => {
  const { chmodSync } = await import('node:fs');
  const p = new Project(t, `programs:
  web:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    user: nobody
    restart: { startSeconds: 200ms }
`);
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 0, r.stderr);
  const [row] = await p.status();
  const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${row!.pid}/status`, 'utf8'))?.[1];
  t.equal(uid, '65534', 'runs as nobody');
  const env = readFileSync(`/proc/${row!.pid}/environ`, 'latin1').split('\0');
  t.ok(env.includes('USER=nobody'), 'with USER set');

  // tend itself as nobody cannot become root: a clear error, and nothing else is touched.
  const q = new Project(t, `programs:
  rooty:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    user: root
`);
  chmodSync(q.dir, 0o777);
  const denied = await q.run(['reconcile', '--once'], 30_000, 65534);
  t.equal(denied.code, 1);
  t.match(denied.stderr, /rooty:0: user 'root' needs tend to run as root to switch users \(it runs as uid 65534\)/);
  t.equal(q.processes().length, 0);
});
