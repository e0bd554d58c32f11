import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { RecordStore } from '../../src/state/records/records.js';
import { alive, CLI, exited, Project, sleeper, waitFor } from '../helpers/project.js';

const isRoot = process.getuid?.() === 0;

function cpuMs(pid: number): number {
  // schedstat: nanoseconds on the CPU, summed over the threads.
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}

function editTable(p: Project, edit: (r: Record<string, unknown>) => void): void {
  const file = path.join(p.stateDir, 'instances.json');
  const table = JSON.parse(readFileSync(file, 'utf8')) as { instances: Record<string, unknown>[]; journal?: string };
  // A table edited by hand: its journal (the changes since it was written whole) goes with the edit.
  for (const [name, r] of new RecordStore(p.stateDir).load()) Object.assign(table.instances.find((x) => x.name === name) ?? {}, r);
  for (const r of table.instances) edit(r);
  delete table.journal;
  writeFileSync(file, JSON.stringify(table));
}

const running = (p: Project, n: number) =>
  waitFor(`${n} RUNNING`, async () => {
    const rows = await p.status();
    return rows.length === n && rows.every((r) => r.state === 'RUNNING') ? rows : null;
  });

t.test('a full disk under the state directory fails passes, never the daemon; it converges when space returns', { skip: isRoot ? false : 'needs root to mount a tmpfs' }, async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}${sleeper('other')}`);
  const stateDir = path.join(p.dir, 'small');
  mkdirSync(stateDir);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', stateDir]);
  if (mounted.status !== 0) return void t.comment(`skipped: mount refused here: ${mounted.stderr.toString().trim()}`);
  t.teardown(() => void spawnSync('umount', ['-l', stateDir]));
  const d = p.daemon(['--state-dir', stateDir]);
  const status = async () => JSON.parse((await p.run(['--state-dir', stateDir, 'status', '--json'])).stdout) as { name: string; state: string; pid: number | null }[];
  const before = await waitFor('both running', async () => {
    const rows = await status();
    return rows.length === 2 && rows.every((r) => r.state === 'RUNNING') ? rows : null;
  });
  // Fill the disk to the last byte.
  const filler = path.join(stateDir, 'filler');
  spawnSync('sh', ['-c', `cat /dev/zero > '${filler}'`]);
  const web = before.find((r) => r.name === 'web:0')!;
  process.kill(web.pid!, 'SIGKILL');
  p.write(`programs:\n${sleeper('web')}${sleeper('other')}${sleeper('third')}`);
  await waitFor('two failed passes', () => (d.log().match(/a reconcile pass failed/g) ?? []).length >= 2, 15_000);
  t.match(d.log(), /ENOSPC/, 'the log says why, with the stack');
  t.equal(d.exitCode, null, 'the daemon is alive');
  t.ok(alive(before.find((r) => r.name === 'other:0')!.pid!), 'the other program keeps running');
  unlinkSync(filler);
  const after = await waitFor('converged once space returned', async () => {
    const rows = await status();
    return rows.length === 3 && rows.every((r) => r.state === 'RUNNING') ? rows : null;
  }, 40_000);
  t.not(after.find((r) => r.name === 'web:0')!.pid, web.pid, 'the killed program was started again');
  t.equal(after.find((r) => r.name === 'other:0')!.pid, before.find((r) => r.name === 'other:0')!.pid, 'the other one was never touched');
  t.equal(d.exitCode, null);
  d.kill('SIGTERM');
  await exited(d);
});

t.test('a 30-day maxUptime and a yearly schedule cost an idle daemon nothing (no busy loop)', async (t) => {
  const p = new Project(t, `programs:
  web:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { maxUptime: 30d, startSeconds: 200ms }
  yearly:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { schedule: '0 0 1 1 *', startSeconds: 200ms }
`);
  const d = p.daemon();
  await running(p, 2);
  await waitFor('a quiet moment', () => /yearly:0: RUNNING/.test(d.log()));
  const c0 = cpuMs(d.pid!);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 2000)); // measuring a duration, not synchronising
  const perMinute = ((cpuMs(d.pid!) - c0) * 60_000) / (Date.now() - t0);
  t.comment(`idle CPU with a 30-day maxUptime and a yearly schedule: ${perMinute.toFixed(1)} ms/min`);
  // The busy loop this guards against cost ~50,000 ms/min (862 ms of CPU a second); one GC
  // after start-up can cost tens of ms, which in a 2 s window reads as hundreds a minute.
  t.ok(perMinute < 3000, `no busy loop (${perMinute.toFixed(1)} ms/min)`);
  t.ok(d.log().length < 5000, 'and the log does not grow');
});

t.test('a stranger on a recorded pid that leads its own session is never signalled', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const [row] = await p.status();
  process.kill(row!.pid!, 'SIGKILL');
  await waitFor('web gone', () => !alive(row!.pid!));
  // A stranger: its own session and group (detached calls setsid), no TEND_INSTANCE_ID (the test mark lets teardown find it).
  const stranger = spawn('sleep', ['1001'], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH, TEND_TEST_MARK: p.mark } });
  const pid = stranger.pid!;
  await waitFor('the stranger', () => p.processes().some((x) => x.pid === pid && x.leader));
  editTable(p, (r) => Object.assign(r, { pid, pgid: pid }));
  for (const args of [['stop', 'web'], ['start', 'web'], ['restart', 'web'], ['reconcile', '--once']]) {
    await p.run(args);
    t.ok(alive(pid), `still alive after tend ${args.join(' ')}`);
  }
  stranger.unref();
});

t.test('a stop written but never sent (tend died in between) is sent by the next tend: a graceful stop', async (t) => {
  const p = new Project(t, `programs:
  web:
    command: [sh, -c, 'trap "echo TERM > got; exit 0" TERM; while :; do sleep 0.1; done']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    stop: { timeout: 20s }
`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  editTable(p, (r) => Object.assign(r, { state: 'STOPPING', stopSignalSent: false, stopDeadline: Date.now() + 20_000, lastReason: 'stopped' }));
  p.write(readFileSync(p.file, 'utf8').replace('    restart:', '    state: stopped\n    restart:'));
  const t0 = Date.now();
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 0, r.stderr);
  t.ok(Date.now() - t0 < 10_000, 'stopped long before the 20 s stop timeout');
  t.equal(readFileSync(path.join(p.dir, 'got'), 'utf8').trim(), 'TERM', 'the program got its stop signal');
});

t.test('scale-down and removal use the program\'s own stop signal and timeout', async (t) => {
  const program = (replicas: number) => `  web:
    command: [sh, -c, 'trap "echo INT > got.$TEND_REPLICA; exit 0" INT; while :; do sleep 0.1; done']
    env: { TEND_TEST_MARK: '@MARK@' }
    replicas: ${replicas}
    restart: { startSeconds: 200ms }
    stop: { signal: INT, timeout: 7s }
`;
  const p = new Project(t, `programs:\n${program(2)}`);
  const d = p.daemon();
  await running(p, 2);
  p.write(`programs:\n${program(1)}`);
  await waitFor('web:1 stopped by INT', () => existsSync(path.join(p.dir, 'got.1')));
  // The program can write its file before this process has read the daemon's log from the pipe.
  t.ok(await waitFor('the scale-down logged', () => /web:1: stopping pid \d+ with SIGINT \(scale-down\), SIGKILL in 7s/.test(d.log())));
  p.write('programs: {}\n');
  await waitFor('web:0 stopped by INT', () => existsSync(path.join(p.dir, 'got.0')));
  t.ok(await waitFor('the removal logged', () => /web:0: stopping pid \d+ with SIGINT \(removed\), SIGKILL in 7s/.test(d.log())));
});

t.test('the state directory is 0700 and its files 0600 whatever was there; no other user can take the lock', { skip: isRoot ? false : 'needs root to act as another user' }, async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  mkdirSync(p.stateDir, { mode: 0o755 });
  chmodSync(p.stateDir, 0o755);
  writeFileSync(path.join(p.stateDir, 'restart-requests.json'), '{}\n', { mode: 0o644 });
  chmodSync(p.dir, 0o755);
  // What used to be the lock's name (a hash of the path alone), bound first by nobody.
  const oldName = `\0tend-lock-${createHash('sha256').update(realpathSync(p.stateDir)).digest('hex').slice(0, 40)}`;
  const squatter = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(oldName)}, () => console.log('bound'))`], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void squatter.kill('SIGKILL'));
  await new Promise<void>((resolve) => squatter.stdout!.once('data', () => resolve()));
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 0, `tend took its lock (${r.stderr.trim()})`);
  t.match(r.stderr, /was open to other users \(mode 755\); made it 0700/);
  t.match(r.stderr, /restart-requests\.json was readable by other users \(mode 644\); made it 0600/);
  t.equal(statSync(p.stateDir).mode & 0o777, 0o700);
  for (const f of readdirSync(p.stateDir)) {
    if (statSync(path.join(p.stateDir, f)).isFile()) t.equal(statSync(path.join(p.stateDir, f)).mode & 0o777, 0o600, f);
  }
  // nobody cannot read the secret, so cannot name the lock.
  const peek = spawnSync('cat', [path.join(p.stateDir, 'lock.secret')], { uid: 65534, gid: 65534 });
  t.not(peek.status, 0, 'nobody cannot read lock.secret');
});

t.test('tend signal reaches the main process only, or the whole group with --group', async (t) => {
  const p = new Project(t);
  writeFileSync(path.join(p.dir, 'hup.js'), `
    const fs = require('fs');
    process.on('SIGHUP', () => fs.appendFileSync('hup.log', 'parent\\n'));
    require('child_process').spawn(process.execPath, ['-e', "process.on('SIGHUP', () => require('fs').appendFileSync('hup.log', 'child\\\\n')); setInterval(() => {}, 1000)"], { stdio: 'inherit' });
    setInterval(() => {}, 1000);
  `);
  p.write(`programs:\n  web:\n    command: [node, hup.js]\n    env: { TEND_TEST_MARK: '@MARK@' }\n    restart: { startSeconds: 300ms }\n`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  await waitFor('parent and child', () => p.processes().length === 2);
  const log = () => (existsSync(path.join(p.dir, 'hup.log')) ? readFileSync(path.join(p.dir, 'hup.log'), 'utf8') : '');
  t.equal((await p.run(['signal', 'HUP', 'web'])).code, 0);
  await waitFor('the parent got it', () => log().includes('parent'));
  t.equal(log(), 'parent\n', 'only the parent');
  t.equal((await p.run(['signal', 'HUP', 'web', '--group'])).code, 0);
  await waitFor('both got it', () => log().split('\n').length === 4);
  t.same(log().split('\n').filter(Boolean).sort(), ['child', 'parent', 'parent']);
});

t.test('an adopted process that died as a zombie (its parent never reaps) is seen dead within the poll', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  // A subreaper that never reaps: the program, orphaned when tend --once exits, becomes its child.
  const holder = spawn('python3', ['-c', `
import ctypes, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
subprocess.run([sys.argv[1], sys.argv[2], '--file', sys.argv[3], 'reconcile', '--once'])
print('started', flush=True)
time.sleep(1000)
`, process.execPath, CLI, p.file], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TEND_TEST_MARK: p.mark } });
  t.teardown(() => void holder.kill('SIGKILL'));
  await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
  const [row] = await p.status();
  const d = p.daemon();
  await waitFor('adopted', () => /tend reconcile: pid/.test(d.log()));
  await waitFor('the first pass', async () => (await p.run(['reconcile', '--once'])).code === 0);
  process.kill(row!.pid!, 'SIGKILL');
  await waitFor('a zombie', () => readFileSync(`/proc/${row!.pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z'));
  const t0 = Date.now();
  const again = await waitFor('started again', async () => (await p.status()).find((r) => r.state === 'RUNNING' && r.pid !== row!.pid), 10_000);
  t.ok(Date.now() - t0 < 5000, `restarted ${Date.now() - t0} ms after it died, not at the 60 s resync`);
  t.ok(alive(again.pid!));
  t.match(d.log(), /web:0: pid \d+ exit unknown \(an adopted process: tend is not its parent/);
});

t.test('a deleted or garbage process table is rebuilt from /proc: 20 instances adopted, none started twice', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web', '    replicas: 10\n')}${sleeper('worker', '    replicas: 10\n')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const pids = () => new Map(p.processes().filter((x) => x.leader).map((x) => [x.instance, x.pid]));
  const before = pids();
  t.equal(before.size, 20);
  const table = path.join(p.stateDir, 'instances.json');
  for (const damage of ['deleted', 'garbage']) {
    if (damage === 'deleted') rmSync(table);
    else writeFileSync(table, '{"version": 1, "instances": [ garbage');
    const r = await p.run(['reconcile', '--once']);
    t.equal(r.code, 0, `${damage}: converged (${r.stderr.trim().split('\n').slice(-1)[0]})`);
    t.match(r.stderr, /rebuilt it from \/proc: adopted 20 running instance/);
    t.same(pids(), before, `${damage}: the same 20 processes, no duplicate`);
    t.same((await p.status()).map((x) => [x.name, x.state, x.pid]).sort(), [...before].map(([n, pid]) => [n, 'RUNNING', pid]).sort());
  }
  t.ok(readdirSync(p.stateDir).some((f) => f.startsWith('instances.json.damaged-')), 'the damaged table was kept aside');
  // And a change after adoption still applies: the adopted records know their spec.
  p.write(readFileSync(p.file, 'utf8').replace("replicas: 10\n", "replicas: 9\n"));
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  t.equal(p.processes().filter((x) => x.leader).length, 19);
});

t.test('tend pid says no daemon once the daemon was SIGKILLed', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web')}`);
  const d = p.daemon();
  await waitFor('the daemon', async () => (await p.run(['pid'])).stdout.trim() === String(d.pid));
  d.kill('SIGKILL');
  await exited(d);
  const r = await p.run(['pid']);
  t.equal(r.stdout, 'no daemon\n');
  t.equal(r.code, 3);
  t.same(readdirSync(p.stateDir).filter((f) => f.endsWith('.tmp')), [], 'no temp files left behind');
});
