import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { Project, sleeper, waitFor } from '../helpers/project.js';

const events = (p: Project) =>
  readFileSync(path.join(p.stateDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { at: string; instance: string; event: string; reason: string; message: string });

// A database that takes 2 s to open its port, and an app that needs it healthy.
const dbAndApp = (port: number, state = 'running') => `programs:
  db:
    command: [node, -e, "setTimeout(() => require('net').createServer().listen(${port}, '127.0.0.1'), 2000)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    state: ${state}
    restart: { startSeconds: 100ms }
    health: { tcp: { port: ${port} }, interval: 200ms, timeout: 200ms, failures: 100 }
    stop: { timeout: 3s }
  app:
    command: [node, -e, "require('net').connect(${port}, '127.0.0.1').on('error', () => process.exit(3)); setInterval(() => {}, 1000)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    state: ${state}
    dependsOn: { db: { condition: healthy } }
    restart: { startSeconds: 200ms, maxRetries: 0 }
    stop: { timeout: 3s }
`;

t.test('an app that needs its database healthy starts only once the probe passes, never goes FATAL, and stops before it', async (t) => {
  const port = 20000 + (process.pid % 20000);
  const p = new Project(t, dbAndApp(port));
  const d = p.daemon();
  await waitFor('app waiting, in status', async () => (await p.status()).find((r) => r.name === 'app:0' && r.reason === 'waiting' && r.detail === 'db healthy'));
  const rows = await waitFor('both running', async () => {
    const all = await p.status();
    return all.length === 2 && all.every((r) => r.state === 'RUNNING') ? all : null;
  }, 15_000);
  t.equal(rows.find((r) => r.name === 'app:0')!.restarts, 0, 'the app never crashed: it waited');
  const ev = events(p);
  const dbStarted = ev.find((e) => e.instance === 'db:0' && e.event === 'started')!;
  const appStarted = ev.find((e) => e.instance === 'app:0' && e.event === 'started')!;
  t.ok(Date.parse(appStarted.at) - Date.parse(dbStarted.at) >= 2000, `app started ${Date.parse(appStarted.at) - Date.parse(dbStarted.at)} ms after db (db opens its port after 2 s)`);
  t.ok(ev.some((e) => e.instance === 'app:0' && e.event === 'waiting' && /waiting for db healthy/.test(e.message)), 'the wait is in the events');
  t.notMatch(d.log(), /FATAL/);

  const r = await p.run(['stop', 'all']);
  t.equal(r.code, 0, r.stderr);
  const stops = events(p).filter((e) => e.event === 'stop');
  const exits = events(p).filter((e) => e.event === 'exit' && e.reason === 'stopped');
  const appExit = exits.find((e) => e.instance === 'app:0')!;
  const dbStop = stops.find((e) => e.instance === 'db:0')!;
  t.ok(appExit && dbStop && Date.parse(dbStop.at) >= Date.parse(appExit.at), `db was told to stop (${dbStop?.at}) only after app had stopped (${appExit?.at})`);
});

t.test('a cycle in the file is refused with the cycle and its positions, and nothing running is touched', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('a')}${sleeper('b')}`);
  const d = p.daemon();
  const before = await waitFor('both running', async () => {
    const rows = await p.status();
    return rows.length === 2 && rows.every((r) => r.state === 'RUNNING') ? rows : null;
  });
  p.write(`programs:\n${sleeper('a', '    dependsOn: [b]\n')}${sleeper('b', '    dependsOn: [a]\n')}`);
  await waitFor('the cycle in the log', () => /a dependency cycle: a -> b -> a/.test(d.log()));
  t.match(d.log(), /state\.yaml:\d+:\d+: programs\.a\.dependsOn\.b: a dependency cycle: a -> b -> a/);
  t.same((await p.status()).map((r) => r.pid), before.map((r) => r.pid), 'nothing restarted');
  const v = await p.run(['validate']);
  t.equal(v.code, 2);
});

t.test('{replica} in a command: three http.servers on 8100-8102 all answer', async (t) => {
  const p = new Project(t, `programs:
  web:
    command: python3 -m http.server --bind 127.0.0.1 81{replica:02}
    env: { TEND_TEST_MARK: '@MARK@' }
    replicas: 3
    restart: { startSeconds: 300ms }
`);
  const v = await p.run(['validate']);
  t.equal(v.code, 0, v.stderr);
  t.notMatch(v.stderr, /shell/);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  for (const port of [8100, 8101, 8102]) {
    const status = await waitFor(`port ${port}`, () => new Promise<number | null>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/' }, (res) => (res.resume(), resolve(res.statusCode ?? null))).on('error', () => resolve(null));
    }), 5000);
    t.equal(status, 200, `replica on ${port} answers`);
  }
});

t.test('groups: verbs and status take GROUP:*', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('a', '    group: front\n')}${sleeper('b', '    group: front\n')}${sleeper('c')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const r = await p.run(['stop', 'front:*']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'a: stopped\nb: stopped\n');
  const rows = await p.status();
  t.same(rows.map((x) => [x.name, x.state, x.group]), [['a:0', 'STOPPED', 'front'], ['b:0', 'STOPPED', 'front'], ['c:0', 'RUNNING', null]]);
  const s = await p.run(['status', 'front:*', '--json']);
  t.same((JSON.parse(s.stdout) as { name: string }[]).map((x) => x.name), ['a:0', 'b:0']);
});

t.test('user: keeps the supplementary groups `id USER` shows', { skip: process.getuid?.() === 0 ? false : 'needs root to create a user' }, async (t) => {
  const user = `tendt${process.pid % 100000}`;
  const group = `${user}g`;
  spawnSync('groupadd', [group]);
  const made = spawnSync('useradd', ['-M', '-G', group, user]);
  if (made.status !== 0) return void t.comment(`skipped: useradd refused: ${made.stderr}`);
  t.teardown(() => {
    spawnSync('userdel', [user]);
    spawnSync('groupdel', [group]);
  });
  const p = new Project(t, `programs:
  who:
    command: [sh, -c, 'id -G > /tmp/${user}.groups; exec sleep 1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    user: ${user}
    cwd: /tmp
    restart: { startSeconds: 200ms }
`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const seen = await waitFor('the groups', () => {
    try {
      return readFileSync(`/tmp/${user}.groups`, 'utf8').trim();
    } catch {
      return null;
    }
  });
  const expected = spawnSync('id', ['-G', user], { encoding: 'utf8' }).stdout.trim();
  t.same(seen.split(' ').sort(), expected.split(' ').sort(), `groups ${seen} = id -G ${user}`);
  t.ok(expected.split(' ').length >= 2, 'the user has a supplementary group');
});
