import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { readProcStat } from '../../src/spawner/proc-stat.js';
import { alive, exited, Project, sleeper, waitFor } from '../helpers/project.js';

const running = async (p: Project, n: number) =>
  waitFor(`${n} instances RUNNING`, async () => {
    const rows = await p.status();
    return rows.length === n && rows.every((r) => r.state === 'RUNNING') ? rows : null;
  });


t.test('restarts a crashed program at once, with its exit code', async (t) => {
  const p = new Project(t, `programs:
  crashy:
    command: [node, -e, "setTimeout(() => process.exit(7), 300)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 100ms, backoff: { initial: 100ms, max: 200ms } }
`);
  const d = p.daemon();
  const row = await waitFor('a restart', async () => (await p.status()).find((r) => r.restarts >= 1 && r.lastExit?.code === 7));
  t.equal(row.reason, 'crash');
  t.match(d.log(), /crashy:0: pid \d+ exited with code 7 -> BACKOFF/);
});

t.test('a crashed leader\'s leftovers are killed, in its group, in a group of their own and outside its session', async (t) => {
  // `set -m` gives a job a process group of its own inside the session; setsid takes a
  // process out of the session. With nothing left in the leader's group, tend skips the walk
  // of /proc before the restart, and the sweep by instance token after it finds the rest.
  const cases = [
    { name: 'one left in the leader\'s group', script: 'sleep 1001 & setsid sleep 1002 & set -m; sleep 1003 & wait', groups: 3, before: true },
    { name: 'none left in the leader\'s group', script: 'set -m; sleep 1003 & setsid sleep 1002 & wait', groups: 3, before: false },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const p = new Project(t, `programs:
  family:
    command: [bash, -c, '${c.script}']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 100ms }
`);
      const d = p.daemon();
      const [row] = await running(p, 1);
      const n = c.script.split('&').length;
      const family = await waitFor('bash and its sleeps', () => (p.processes().length === n ? p.processes() : null));
      t.equal(new Set(family.map((f) => readProcStat(f.pid)?.pgrp)).size, c.groups, 'the process groups the script made');
      process.kill(row!.pid!, 'SIGKILL');
      await waitFor('every old process gone', () => family.every((f) => !alive(f.pid)), 5000);
      const again = await waitFor('the program started again', async () => (await p.status()).find((r) => r.state === 'RUNNING' && r.pid !== row!.pid));
      await waitFor('the new family', () => p.processes().length === n);
      t.ok(alive(again.pid!));
      t.match(d.log(), /family:0: pid \d+ killed by SIGKILL -> BACKOFF/);
      if (c.before) t.match(d.log(), /family:0: SIGKILL to its process group and session[^]*family:0: pid \d+ killed by SIGKILL/, 'the group member was killed before the exit was recorded');
      else t.match(d.log(), /killed \d leftover process\(es\) of ended instances, found by their TEND_INSTANCE_ID/, 'the sweep by token found them');
    });
  }
});

t.test('converges a file replaced by rename, and keeps the last valid state while it is broken', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  const d = p.daemon();
  const [web] = await running(p, 1);
  p.write(`programs:\n${sleeper('web')}${sleeper('api')}`);
  await running(p, 2);
  p.write(`programs:\n${sleeper('web')}  api:\n    command: [sleep, '1000']\n    replicas: -3\n`);
  await waitFor('the error in the log', () => /state\.yaml:\d+:\d+: programs\.api\.replicas: expected a whole number from 0 to 1000, got -3/.test(d.log()));
  t.match(d.log(), /the last valid desired state stays in force/);
  const rows = await p.status();
  t.same(rows.map((r) => [r.name, r.state]), [['api:0', 'RUNNING'], ['web:0', 'RUNNING']], 'nothing stopped');
  t.equal(rows.find((r) => r.name === 'web:0')!.pid, web!.pid);
  p.write(`programs:\n${sleeper('web')}`);
  await waitFor('api removed', async () => (await p.status()).length === 1);
});

t.test('sees every edit, also one made 5 ms after another (renames over the file, one after the other)', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  const d = p.daemon();
  await running(p, 1);
  for (let k = 0; k < 5; k++) {
    // The first edit changes nothing tend acts on (no timer follows it); the second, 5 ms
    // later, adds a program. A missed event would leave it for the 60 s resync.
    p.write(`# edit ${k}\nprograms:\n${sleeper('web')}${k > 0 ? sleeper(`api${k - 1}`) : ''}`);
    await new Promise((r) => setTimeout(r, 5)); // the gap under test, not a synchronisation
    p.write(`# edit ${k}\nprograms:\n${sleeper('web')}${sleeper(`api${k}`)}`);
    await waitFor(`api${k} started`, async () => (await p.status()).some((r) => r.name === `api${k}:0` && r.pid !== null), 5000);
  }
  t.match(d.log(), /api4:0: started pid/);
});

t.test('keeps programs running when the daemon ends with SIGTERM, and adopts them after', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web', '    replicas: 2\n')}`);
  const d1 = p.daemon();
  const before = await running(p, 2);
  d1.kill('SIGTERM');
  await exited(d1);
  t.equal(d1.exitCode, 0);
  t.ok(before.every((r) => alive(r.pid!)), 'programs outlived the daemon');
  const d2 = p.daemon();
  await waitFor('the new daemon to start', () => /tend reconcile: pid/.test(d2.log()));
  await p.run(['reconcile', '--once']); // asks the daemon for a pass and waits for it
  t.same((await p.status()).map((r) => r.pid), before.map((r) => r.pid), 'adopted, not restarted');
  t.equal(p.processes().length, 2, 'no duplicates');
  // An adopted program is not the daemon's child: its death is found by polling.
  process.kill(before[0]!.pid!, 'SIGKILL');
  const after = await waitFor('the adopted program to be replaced', async () => {
    const row = (await p.status())[0]!;
    return row.state === 'RUNNING' && row.pid !== before[0]!.pid ? row : null;
  });
  t.equal(after.reason, 'crash');
});

t.test('--stop-on-exit stops every program before the daemon exits', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web', '    replicas: 2\n')}`);
  const d = p.daemon(['--stop-on-exit']);
  const rows = await running(p, 2);
  d.kill('SIGTERM');
  await exited(d);
  t.ok(rows.every((r) => !alive(r.pid!)));
  t.equal(p.processes().length, 0);
});

t.test('one actor per state directory', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  const d = p.daemon();
  await running(p, 1);
  const second = await p.run(['reconcile']);
  t.equal(second.code, 3);
  t.match(second.stderr, new RegExp(`in use by tend reconcile \\(pid ${d.pid}\\)`));
  const once = await p.run(['reconcile', '--once']);
  t.equal(once.code, 0, once.stderr);
  t.match(once.stderr, new RegExp(`a daemon runs here; asked it for a pass`));
  t.equal(p.processes().length, 1);
});

t.test('the lock is released when its holder is killed with SIGKILL', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  const d = p.daemon();
  await running(p, 1);
  d.kill('SIGKILL');
  await exited(d);
  const once = await p.run(['reconcile', '--once']);
  t.equal(once.code, 0, once.stderr);
});

t.test('the control socket is private and survives malformed requests', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  const d = p.daemon();
  await running(p, 1);
  const sock = path.join(p.stateDir, 'control.sock');
  t.equal(statSync(sock).mode & 0o777, 0o600);
  const net = await import('node:net');
  const ask = (text: string) =>
    new Promise<string>((resolve) => {
      const c = net.connect(sock, () => c.end(text));
      let out = '';
      c.on('data', (b) => (out += b)).on('close', () => resolve(out));
    });
  t.match(await ask('not json\n'), /malformed request/);
  t.match(await ask('{"op":"format-disk"}\n'), /unknown op/);
  t.match(await ask('x'.repeat(70_000)), /larger than/);
  t.match(await ask('{"op":"ping"}\n'), new RegExp(`"pid":${d.pid}`));
  t.equal(d.exitCode, null, 'still running');
});

t.test('the control socket serves status and streams events', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  p.daemon();
  const [row] = await running(p, 1);
  const net = await import('node:net');
  const sock = path.join(p.stateDir, 'control.sock');
  const status = await new Promise<string>((resolve) => {
    let out = '';
    const c = net.connect(sock, () => c.write('{"op":"status"}\n'));
    c.on('data', (b) => (out += b)).on('close', () => resolve(out));
  });
  t.match(JSON.parse(status), { ok: true, instances: [{ name: 'web:0', state: 'RUNNING', pid: row!.pid }] });
  let streamed = '';
  const c = net.connect(sock, () => c.write('{"op":"events"}\n'));
  c.on('data', (b) => (streamed += b));
  t.teardown(() => void c.destroy());
  await waitFor('the stream to open', () => streamed.includes('"streaming":"events"'));
  process.kill(row!.pid!, 'SIGKILL');
  await waitFor('exit and restart events', () => /"event":"exit".*\n.*"event":"started"/s.test(streamed));
  const events = streamed.trim().split('\n').slice(1).map((l) => JSON.parse(l) as { event: string; signal?: string });
  t.match(events[0], { event: 'exit', signal: 'SIGKILL', instance: 'web:0' });
  c.destroy();
});

t.test('another user cannot connect to the control socket', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  p.daemon();
  await running(p, 1);
  const { chmodSync } = await import('node:fs');
  chmodSync(p.dir, 0o755);
  chmodSync(p.stateDir, 0o755); // only the socket's own mode is left to keep others out
  const { spawnSync } = await import('node:child_process');
  const probe = `require('net').connect(${JSON.stringify(path.join(p.stateDir, 'control.sock'))}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`;
  const r = spawnSync(process.execPath, ['-e', probe], { uid: 65534, gid: 65534, encoding: 'utf8' });
  t.equal(r.stdout.trim(), 'EACCES');
});

t.test('killing the daemon with SIGKILL at any moment loses, duplicates and orphans nothing', async (t) => {
  const programs = (generation: number) => Array.from({ length: 6 }, (_, i) => sleeper(`p${i}`, `    replicas: 3\n    generation: ${generation}\n`)).join('');
  const p = new Project(t, `programs:\n${programs(0)}`);
  const logs: string[] = [];
  const killWhen = async (what: string, condition: (log: string) => boolean) => {
    const d = p.daemon();
    await waitFor(what, () => condition(d.log()) || d.exitCode !== null, 15_000, 1);
    d.kill('SIGKILL');
    await exited(d);
    logs.push(d.log());
  };
  const table = () => p.table().instances;
  // Mid-spawn: processes exist, but the table has not recorded their pids yet.
  await killWhen('a process spawned but not yet recorded', () => p.processes().length > 0 && table().some((r) => r.pid === null));
  // Mid-pass, just after adopting what the previous daemon left behind.
  await killWhen('an adoption', (log) => /adopted pid/.test(log));
  // Mid-roll: a generation bump, killed while one instance is stopping, then while its successor starts.
  p.write(`programs:\n${programs(1)}`);
  await killWhen('a rolling restart to begin', () => table().some((r) => r.state === 'STOPPING'));
  await killWhen('a new-generation instance starting', () => table().some((r) => r.state === 'STARTING' && r.pid !== null));
  const last = p.daemon();
  await waitFor('all 18 instances on generation 1 and RUNNING', async () => {
    const rows = await p.status();
    return rows.length === 18 && rows.every((r) => r.state === 'RUNNING' && r.generation === 1);
  }, 30_000);
  t.match(logs.join('') + last.log(), /adopted pid \d+, spawned by a tend that died before recording it/, 'a spawn interrupted by the kill was recovered');
  const procs = p.processes();
  const leaders = procs.filter((x) => x.leader);
  t.equal(leaders.length, 18, 'one process per instance');
  t.equal(new Set(leaders.map((x) => x.instance)).size, 18, 'no instance twice');
  t.equal(procs.length, 18, 'no orphans');
  const rows = await p.status();
  t.same(new Set(rows.map((r) => r.pid)), new Set(leaders.map((x) => x.pid)), 'every process is a recorded instance');
  last.kill('SIGTERM');
  await exited(last);
});

t.test('writes nothing but the table, events, the file in force, the lock secret and logs into the state directory, none of it readable by others', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  await p.run(['reconcile', '--once']);
  writeFileSync(path.join(p.dir, 'unrelated'), '');
  const { readdirSync } = await import('node:fs');
  t.same(readdirSync(p.stateDir).sort(), ['applied.yaml', 'events.jsonl', 'instances.journal', 'instances.json', 'lock.secret', 'logs']);
  t.equal(statSync(p.stateDir).mode & 0o777, 0o700);
  for (const f of ['applied.yaml', 'events.jsonl', 'instances.journal', 'instances.json', 'lock.secret']) t.equal(statSync(path.join(p.stateDir, f)).mode & 0o777, 0o600, f);
});
