import t from 'tap';
import { Project, sleeper } from '../helpers/project.js';

t.test('tend status --json prints what the in-process reader the tests use sees', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web', '    replicas: 2\n')}${sleeper('off', '    state: stopped\n')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const cli = await p.run(['status', '--json']);
  t.equal(cli.code, 0);
  const rows = JSON.parse(cli.stdout) as { name: string; uptimeMs: number | null }[];
  const strip = (r: { uptimeMs: number | null }[]) => r.map((x) => ({ ...x, uptimeMs: x.uptimeMs === null ? null : 'n' }));
  t.same(strip(rows), strip(await p.status()));
  t.same(rows.map((r) => r.name), ['off:0', 'web:0', 'web:1']);
  const table = await p.run(['status']);
  t.match(table.stdout, /^NAME +STATE +PID +UPTIME +RESTARTS +REASON\n/);
  t.match(table.stdout, /\nweb:1 +RUNNING +\d+ +0:00:0\d +0 +start\n/);
});
