import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CLI, exited, Project, waitFor } from '../helpers/project.js';

/** Zombies whose parent is `pid` (the container's init, seen from the host). */
function zombiesUnder(pid: number): number {
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z' && Number(f[1]) === pid) n++;
    } catch {
      // gone
    }
  }
  return n;
}

const canUnshare = spawnSync('unshare', ['--fork', '--pid', '--mount-proc', 'true']).status === 0;
const hasTini = spawnSync('tini', ['--version']).status === 0;

t.test('a container: tini, tend --console --stop-on-exit as its child, double-forking programs leave no zombie, SIGTERM stops in dependency order', { skip: !canUnshare ? 'unshare --pid refused here' : !hasTini ? 'tini is not installed (apt-get install tini)' : false }, async (t) => {
  const p = new Project(t, `programs:
  db:
    command: [sh, -c, 'echo db ready; exec sleep 1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
  app:
    command: [sh, -c, 'echo app up; echo app warning >&2; exec sleep 1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    dependsOn: [db]
    restart: { startSeconds: 200ms }
  forker:
    command: [sh, -c, 'for i in $(seq 50); do (sleep 0.05 &); echo forked $i; sleep 0.1; done; exec sleep 1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
`);
  const box = spawn('unshare', ['--fork', '--pid', '--mount-proc', 'tini', '--', process.execPath, CLI, '-f', p.file, 'reconcile', '--console', '--stop-on-exit'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  box.stdout.on('data', (c) => (out += c));
  box.stderr.on('data', (c) => (err += c));
  t.teardown(() => void box.kill('SIGKILL'));
  const tini = await waitFor('tini inside the namespace', () => {
    const kids = readFileSync(`/proc/${box.pid}/task/${box.pid}/children`, 'utf8').trim();
    return kids ? Number(kids.split(' ')[0]) : null;
  });
  await waitFor('five seconds of double forks', () => out.includes('forked 50'), 20_000);
  t.match(out, /^db:0 +\| db ready$/m, 'db\'s lines on the console, prefixed');
  t.match(out, /^app:0 +\| app up$/m);
  t.match(out, /^forker:0 +\| forked 1$/m);
  t.match(err, /^app:0 +\| app warning$/m, 'stderr lines on tend\'s stderr');
  await waitFor('every orphaned grandchild reaped', () => zombiesUnder(tini) === 0, 5000);
  t.equal(zombiesUnder(tini), 0, 'no zombie under tini');
  box.kill('SIGTERM'); // unshare --fork passes it on? send to tini itself to be sure
  process.kill(tini, 'SIGTERM');
  await exited(box);
  t.equal(box.exitCode, 0, `tend stopped everything and exited 0 on SIGTERM (stderr: ${err.split('\n').slice(-3).join(' / ')})`);
  t.same(p.processes(), [], 'nothing left running');
  const events = readFileSync(path.join(p.stateDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { at: string; instance: string; event: string });
  const appGone = events.find((e) => e.instance === 'app:0' && e.event === 'exit')!;
  const dbStop = events.find((e) => e.instance === 'db:0' && e.event === 'stop')!;
  t.ok(events.indexOf(dbStop) > events.indexOf(appGone), 'db was stopped only after app had ended');
});

t.test('shutdownOn: fatal ends tend with everything stopped and exit code 6 (an orchestrator restarts the container)', async (t) => {
  const p = new Project(t, `programs:
  web:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
  job:
    command: [sh, -c, 'exit 4']
    env: { TEND_TEST_MARK: '@MARK@' }
    shutdownOn: fatal
    restart: { startSeconds: 1s, maxRetries: 1, backoff: { initial: 100ms } }
`);
  const d = p.daemon();
  await exited(d);
  t.equal(d.exitCode, 6);
  t.match(d.log(), /job:0 went FATAL and has shutdownOn: fatal: stopping every program, then exiting/);
  t.same(p.processes(), [], 'web was stopped too');
});

t.test('logs: inherit sends a program\'s output straight to tend\'s own stdout; it is never rotated or reopened', async (t) => {
  const p = new Project(t, `programs:
  talker:
    command: [sh, -c, 'echo to the console; exec sleep 1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    logs: { stdout: inherit, maxSize: 1 }
  legacy:
    command: [sh, -c, 'echo from a supervisord habit; exec sleep 1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    logs: { stdout: /dev/stdout, maxSize: 1 }
`);
  const child = spawn(process.execPath, [CLI, '-f', p.file, 'reconcile'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  t.teardown(() => void child.kill('SIGKILL'));
  await waitFor('both lines on tend\'s stdout', () => out.includes('to the console') && out.includes('from a supervisord habit'));
  t.notOk(readdirSync('/dev').some((f) => f === 'stdout.1'), 'no /dev/stdout.1');
  const logs = await p.run(['logs', 'talker']);
  t.not(logs.code, 0);
  t.match(logs.stderr, /writes to tend's own stdout/);
});
