import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { alive, exited, Project, sleeper, waitFor } from '../helpers/project.js';


for (const withDaemon of [false, true]) {
  const how = withDaemon ? 'with a daemon' : 'without a daemon';
  t.test(`start, stop and restart edit the file and wait, ${how}`, async (t) => {
    const p = new Project(t, `programs:\n${sleeper('web', '    state: stopped\n')}`);
    const d = withDaemon ? p.daemon() : null;
    if (d) await waitFor('the daemon', () => /tend reconcile: pid/.test(d.log()));
    const start = await p.run(['start', 'web']);
    t.equal(start.stdout, 'web: started\n', start.stderr);
    t.equal(start.code, 0);
    t.match(readFileSync(p.file, 'utf8'), /state: running/);
    const [up] = await p.status();
    t.equal(up!.state, 'RUNNING');
    const restart = await p.run(['restart', 'web']);
    t.equal(restart.stdout, 'web: restarted\n', restart.stderr);
    const [again] = await p.status();
    t.not(again!.pid, up!.pid);
    t.equal(again!.state, 'RUNNING');
    t.equal(again!.generation, 1);
    t.match(readFileSync(p.file, 'utf8'), /generation: 1/);
    const stop = await p.run(['stop', 'all']);
    t.equal(stop.stdout, 'web: stopped\n', stop.stderr);
    t.notOk(alive(again!.pid!));
    t.equal(p.processes().length, 0);
    if (d) {
      d.kill('SIGTERM');
      await exited(d);
    }
  });
}

t.test('edits keep every comment, blank line and quote of the file', async (t) => {
  const p = new Project(t);
  copyFileSync(new URL('../state/desired/golden/before.yaml', import.meta.url), p.file);
  const before = readFileSync(p.file, 'utf8');
  // The golden programs run `node server.js` and `python3 -m worker`: edit without waiting.
  for (const args of [['stop', 'web'], ['stop', 'worker'], ['restart', 'web']]) {
    const r = await p.run([...args, '--no-wait']);
    t.equal(r.code, 0, r.stderr);
  }
  const after = readFileSync(p.file, 'utf8').split('\n');
  const diff = after.filter((l) => !before.split('\n').includes(l));
  const gone = before.split('\n').filter((l) => !after.includes(l));
  t.same(gone, ["    state: 'running'     # single-quoted", '    generation: 4']);
  t.same(diff, ['    state: running     # single-quoted', '    generation: 5', '    state: stopped']);
});

t.test('a restart of 3 replicas rolls one at a time, keeping at least 2 alive', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web', '    replicas: 3\n').replace('startSeconds: 200ms', 'startSeconds: 300ms')}`);
  const d = p.daemon();
  await waitFor('3 running', async () => (await p.status()).filter((r) => r.state === 'RUNNING').length === 3);
  let fewest = 3;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      fewest = Math.min(fewest, p.processes().filter((x) => x.leader).length);
      await new Promise((r) => setImmediate(r));
    }
  })();
  const r = await p.run(['restart', 'web']);
  sampling = false;
  await sampler;
  t.equal(r.stdout, 'web: restarted\n', r.stderr);
  t.ok(fewest >= 2, `at least 2 alive at every moment (fewest seen: ${fewest})`);
  const rows = await p.status();
  t.same(rows.map((x) => [x.state, x.generation, x.reason]), Array(3).fill(['RUNNING', 1, 'generation']));
  const order = [...d.log().matchAll(/(web:\d): (stopping|RUNNING)/g)].map((m) => `${m[1]} ${m[2]}`).slice(3);
  t.same(order, ['web:0 stopping', 'web:0 RUNNING', 'web:1 stopping', 'web:1 RUNNING', 'web:2 stopping', 'web:2 RUNNING'], 'one after the other');
});

t.test('a failing new instance halts the roll and is reported', async (t) => {
  const p = new Project(t, `programs:
  web:
    command: [sh, -c, 'if [ -e fail ]; then exit 3; fi; exec sleep 1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    replicas: 3
    restart: { startSeconds: 200ms, maxRetries: 1 }
`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const before = await p.status();
  (await import('node:fs')).writeFileSync(path.join(p.dir, 'fail'), '');
  const r = await p.run(['restart', 'web']);
  t.equal(r.code, 1);
  t.match(r.stdout, /^web: ERROR \(FATAL \(exited with code 3/);
  const after = await p.status();
  t.equal(after[0]!.state, 'FATAL');
  t.same(after.slice(1).map((x) => x.pid), before.slice(1).map((x) => x.pid), 'the other replicas kept running the old generation');
});

t.test('restart of one instance touches only that instance and not the file', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web', '    replicas: 2\n')}`);
  await p.run(['reconcile', '--once']);
  const text = readFileSync(p.file, 'utf8');
  const before = await p.status();
  const r = await p.run(['restart', 'web:1']);
  t.equal(r.stdout, 'web:1: restarted\n', r.stderr);
  const after = await p.status();
  t.equal(after[0]!.pid, before[0]!.pid);
  t.not(after[1]!.pid, before[1]!.pid);
  t.equal(after[1]!.reason, 'restart');
  t.equal(readFileSync(p.file, 'utf8'), text);
});

t.test('a read-only file is left alone, with the exact field to change in the repository', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  chmodSync(p.dir, 0o755);
  chmodSync(p.file, 0o644);
  const before = readFileSync(p.file, 'utf8');
  const r = await p.run(['stop', 'web'], 30_000, 65534); // as nobody: root could write anything
  t.equal(r.code, 4);
  t.match(r.stderr, /state\.yaml is not writable \(EACCES\)/);
  t.match(r.stderr, /programs\.web\.state: stopped/);
  t.equal(readFileSync(p.file, 'utf8'), before);
});

t.test('unknown names and instance-level start/stop are refused', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web', '    replicas: 2\n')}`);
  const r = await p.run(['stop', 'nope', 'web:1', '--no-wait']);
  t.equal(r.code, 2);
  t.match(r.stdout, /nope: ERROR \(no such program or instance\)/);
  t.match(r.stdout, /web:1: ERROR \(stop applies to a whole program/);
});

t.test('logs shows the last lines and follows across a restart', async (t) => {
  const p = new Project(t, `programs:
  talker:
    command: [sh, -c, 'echo "hello from $TEND_PROGRAM"; echo "oops" >&2; exec sleep 1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    replicas: 2
    restart: { startSeconds: 200ms }
`);
  await p.run(['reconcile', '--once']);
  const shown = await p.run(['logs', 'talker', '-n', '5']);
  t.equal(shown.stdout, 'talker:0 | hello from talker\ntalker:1 | hello from talker\n');
  t.equal((await p.run(['logs', 'talker:1', '--stderr'])).stdout, 'oops\n');
  const { spawn } = await import('node:child_process');
  const { CLI } = await import('../helpers/project.js');
  const follow = spawn(process.execPath, [CLI, 'logs', 'talker:0', '-f', '-n', '0', '-c', p.file], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void follow.kill('SIGKILL'));
  let out = '';
  follow.stdout.on('data', (c) => (out += c));
  await waitFor('the follower to start', () => follow.pid !== undefined);
  const r = await p.run(['restart', 'talker:0']);
  t.equal(r.code, 0, r.stderr);
  await waitFor('the restarted instance in the followed log', () => out.includes('hello from talker'));
  follow.kill('SIGTERM');
  await exited(follow);
});

t.test('events record every start, stop and exit with its reason', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  await p.run(['reconcile', '--once']);
  await p.run(['restart', 'web']);
  const r = await p.run(['events', '--json', 'web']);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; reason: string });
  t.same(events.map((e) => `${e.event}:${e.reason}`), ['started:start', 'running:start', 'stop:generation', 'exit:generation', 'started:generation', 'running:generation']);
  t.match((await p.run(['events'])).stdout, /web:0: stopping pid \d+ with SIGTERM \(generation\)/);
});

t.test('pid and signal reach the right processes', async (t) => {
  const p = new Project(t, `programs:
  hup:
    command: [node, -e, "process.on('SIGHUP', () => console.log('got HUP')); setInterval(() => {}, 1000)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 300ms }
`);
  await p.run(['reconcile', '--once']);
  const [row] = await p.status();
  t.equal((await p.run(['pid', 'hup'])).stdout, `${row!.pid}\n`);
  t.equal((await p.run(['pid'])).stdout, 'no daemon\n');
  const r = await p.run(['signal', 'HUP', 'hup']);
  t.equal(r.stdout, 'hup:0: signalled\n');
  await waitFor('the program to see SIGHUP', () => readFileSync(path.join(p.stateDir, 'logs', 'hup.0.out.log'), 'utf8').includes('got HUP'));
  t.equal((await p.status())[0]!.pid, row!.pid, 'still the same process');
});
