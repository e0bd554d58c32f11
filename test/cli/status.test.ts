import t from 'tap';
import { spawn } from 'node:child_process';
import { CLI, Project, sleeper, waitFor } from '../helpers/project.js';

t.test('tend status --json prints what the in-process reader the tests use sees', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web', '    replicas: 2\n')}${sleeper('off', '    state: stopped\n')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const cli = await p.run(['status', '--json']);
  t.equal(cli.code, 0);
  const rows = JSON.parse(cli.stdout) as { name: string; uptimeMs: number | null }[];
  const strip = (r: { uptimeMs: number | null; usage?: unknown }[]) => r.map(({ usage: _, ...x }) => ({ ...x, uptimeMs: x.uptimeMs === null ? null : 'n' }));
  t.same(strip(rows), strip(await p.status()));
  t.same(rows.map((r) => r.name), ['off:0', 'web:0', 'web:1']);
  const table = await p.run(['status']);
  t.match(table.stdout, /^NAME +STATE +PID +UPTIME +CPU% +MEM +RESTARTS +REASON\n/);
  t.match(table.stdout, /\nweb:1 +RUNNING +\d+ +0:00:0\d +\d+\.\d +[\d.]+(Ki|Mi) +0 +start\n/);
  t.match(table.stdout, /\noff:0 +STOPPED +- +- +- +- +0 +-\n/);
});

t.test('tend status shows CPU%, memory beside its limit and fds beside a limit; --watch redraws with CPU% over the last second', async (t) => {
  const p = new Project(t, `programs:
  busy:
    command: [node, -e, "setInterval(() => { const end = Date.now() + 20; while (Date.now() < end); }, 40)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    limits: { memory: 500Mi, openFiles: 400 }
${sleeper('calm')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const table = await p.run(['status']);
  t.match(table.stdout, /^NAME +STATE +PID +UPTIME +CPU% +MEM +FDS +RESTARTS +REASON\n/);
  t.match(table.stdout, /\nbusy:0 +RUNNING +\d+ +\S+ +[\d.]+ +[\d.]+Mi\/500Mi +\d+\/400 +0 +start\n/);
  t.match(table.stdout, /\ncalm:0 +RUNNING +\d+ +\S+ +0\.0 +[\d.]+(Ki|Mi) +- +0 +start\n/);
  const json = JSON.parse((await p.run(['status', '--json'])).stdout) as { name: string; usage: { memoryBytes: number; memoryLimitBytes: number | null; openFds: number; openFdsLimit: number | null } }[];
  t.match(json.find((r) => r.name === 'busy:0')!.usage, { memoryLimitBytes: 500 * 2 ** 20, openFdsLimit: 400 });
  t.ok(json.find((r) => r.name === 'busy:0')!.usage.memoryBytes > 1e6);
  t.match(json.find((r) => r.name === 'calm:0')!.usage, { memoryLimitBytes: null, openFdsLimit: null });

  const watch = spawn(process.execPath, [CLI, '--file', p.file, 'status', '--watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  watch.stdout.on('data', (c) => (out += c));
  const busyCpu = () => [...out.matchAll(/\nbusy:0 +RUNNING +\d+ +\S+ +([\d.]+) /g)].map((m) => Number(m[1]));
  await waitFor('three frames', () => busyCpu().length >= 3, 10_000);
  watch.kill('SIGINT');
  const code = await new Promise((resolve) => watch.on('exit', resolve));
  t.equal(code, 0, 'Ctrl-C ends it cleanly');
  t.equal(out.match(/\(every 1s, Ctrl-C to quit\)/g)?.length, busyCpu().length, 'one header per frame');
  // ~50% of a core: the later frames measure the last second only; wide bounds for a shared machine.
  const last = busyCpu().at(-1)!;
  t.ok(last > 10 && last < 100, `busy:0 at ${last}% over the last second`);
  t.equal((await p.run(['stop', 'all'])).code, 0);
});
