import t from 'tap';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { askDaemon } from '../../src/cli/control-client.js';
import { controlSocketPath } from '../../src/cli/control-protocol.js';
import { validateState } from '../../src/state/desired/validate.js';
import { alive, Project, sleeper, waitFor } from '../helpers/project.js';

/** The file's own state: and generation: of a program. */
function fileSpec(p: Project, program: string): { state: string; generation: number } {
  const v = validateState(readFileSync(p.file, 'utf8'), { file: p.file, stateDir: p.stateDir });
  if (!v.ok) throw new Error('the file does not validate');
  return v.desired.programs.get(program)!;
}

t.test('with a daemon running, the verbs are made by the daemon: the same edit, the same outcome, logged', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('a')}${sleeper('b')}`);
  const d = p.daemon();
  await waitFor('both running', async () => (await p.status()).filter((r) => r.state === 'RUNNING').length === 2);
  const pids = (await p.status()).map((r) => r.pid!);

  const stop = await p.run(['stop', 'all']);
  t.equal(stop.code, 0, stop.stderr);
  t.equal(stop.stdout, 'a: stopped\nb: stopped\n');
  t.ok(pids.every((pid) => !alive(pid)), 'both processes are gone when it returns');
  t.equal(fileSpec(p, 'a').state, 'stopped', 'the edit is in the file');
  t.match(d.log(), /tend stop all: asked on the control socket/);

  const start = await p.run(['start', 'a', '--json']);
  t.equal(start.code, 0, start.stderr);
  t.same(JSON.parse(start.stdout), [{ name: 'a', result: 'started', error: null }]);
  t.equal(fileSpec(p, 'a').state, 'running');

  const before = (await p.status()).find((r) => r.program === 'a')!.pid;
  const restart = await p.run(['restart', 'a']);
  t.equal(restart.code, 0, restart.stderr);
  t.equal(fileSpec(p, 'a').generation, 1, 'the generation bump is in the file');
  t.not((await p.status()).find((r) => r.program === 'a')!.pid, before, 'a new process');

  // What the daemon says goes back as it would be said here: the words, and the exit code.
  const unknown = await p.run(['stop', 'nosuch']);
  t.equal(unknown.code, 2);
  t.equal(unknown.stdout, 'nosuch: ERROR (no such program or instance)\n');
  t.equal(d.exitCode, null, 'the daemon runs on');
});

t.test('status is answered by the daemon, with what each process uses', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('a')}${sleeper('b', '    state: stopped\n')}`);
  p.daemon();
  await waitFor('a running', async () => (await p.status()).some((r) => r.program === 'a' && r.state === 'RUNNING'));
  const table = await p.run(['status']);
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, /^NAME +STATE +PID +UPTIME +CPU% +MEM +RESTARTS +REASON\n/);
  t.match(table.stdout, /\na:0 +RUNNING +\d+ /);
  t.match(table.stdout, /\nb:0 +STOPPED +- /);
  const json = await p.run(['status', 'a', '--json']);
  const rows = JSON.parse(json.stdout) as { name: string; usage?: { memoryBytes?: number } }[];
  t.same(rows.map((r) => r.name), ['a:0'], 'names filter the rows');
  t.ok(rows[0]!.usage, 'with the usage the daemon measured');
  const missing = await p.run(['status', 'nosuch']);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /nosuch: ERROR \(no such program\)/);
});

t.test('a daemon serving another file sends the verb back: the client makes it itself', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('a')}`);
  p.daemon();
  await waitFor('a running', async () => (await p.status()).some((r) => r.state === 'RUNNING'));
  const reply = await askDaemon(p.stateDir, { op: 'verb', verb: 'stop', names: ['a'], file: `${p.dir}/other.yaml`, wait: true, timeoutMs: 1000, json: false, local: false }, 5000);
  t.same(reply, { ok: false, error: `this daemon serves ${p.file}, not ${p.dir}/other.yaml`, fallback: true });
  t.equal(fileSpec(p, 'a').state, 'running', 'nothing was edited');
});

t.test('a daemon that does not know verbs (an older tend still running) leaves the verb to the client', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('a', '    state: stopped\n')}`);
  // Not a real daemon: a socket that answers every request as a tend without the verb op would.
  const { mkdirSync } = await import('node:fs');
  mkdirSync(p.stateDir, { recursive: true, mode: 0o700 });
  const asked: string[] = [];
  const server = net.createServer((s) => {
    s.once('data', (line) => {
      asked.push(String(line));
      s.end(JSON.stringify({ ok: false, error: 'unknown op "verb"; known: ping, pass, status, events, metrics' }) + '\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(controlSocketPath(p.stateDir), resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const start = await p.run(['start', 'a', '--no-wait']);
  t.equal(start.code, 0, start.stderr);
  t.equal(start.stdout, 'a: start requested\n');
  t.match(asked[0], /"op":"verb"/, 'the client asked first');
  t.equal(fileSpec(p, 'a').state, 'running', 'then made the edit itself');
});

t.test('a stale socket (a killed daemon) is no daemon: the verb is made here', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('a', '    state: stopped\n')}`);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(p.stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(controlSocketPath(p.stateDir), '');
  const start = await p.run(['start', 'a', '--no-wait']);
  t.equal(start.code, 0, start.stderr);
  t.equal(fileSpec(p, 'a').state, 'running');
});

t.test("clients' status requests leave no descriptors open in the daemon", async (t) => {
  const p = new Project(t, `programs:\n${sleeper('a')}${sleeper('b')}`);
  const d = p.daemon();
  await waitFor('both running', async () => (await p.status()).filter((r) => r.state === 'RUNNING').length === 2);
  const fds = () => readdirSync(`/proc/${d.pid}/fd`).length;
  const ask = () => askDaemon(p.stateDir, { op: 'status', measure: true, file: p.file }, 5000);
  await ask();
  const before = fds();
  for (let i = 0; i < 10; i++) await ask();
  t.equal(fds(), before, 'as many open descriptors after ten more as after one');
});
