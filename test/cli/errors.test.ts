import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { alive, Project, sleeper, waitFor } from '../helpers/project.js';

const events = (p: Project) => readFileSync(path.join(p.stateDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; instance: string; message: string });

t.test('a new spec that cannot start keeps the old process running, and status and events say why', async (t) => {
  const cases = [
    { name: 'a user that does not exist', field: "    user: no-such-user-tend\n", problem: /user 'no-such-user-tend' does not exist/ },
    { name: 'a cwd that does not exist', field: "    cwd: /nonexistent-dir-tend\n", problem: /cwd '\/nonexistent-dir-tend' does not exist/ },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const p = new Project(t, `programs:\n${sleeper('web')}${sleeper('other')}`);
      const d = p.daemon();
      const first = await waitFor('running', async () => {
        const rows = await p.status();
        return rows.every((r) => r.state === 'RUNNING') ? rows.find((r) => r.name === 'web:0') : null;
      });
      p.write(`programs:\n${sleeper('web', c.field)}${sleeper('other', '    replicas: 2\n')}`);
      await waitFor('the other program scaled up: the file was taken', async () => (await p.status()).filter((r) => r.program === 'other' && r.state === 'RUNNING').length === 2);
      const row = (await p.status()).find((r) => r.name === 'web:0')!;
      t.equal(row.pid, first!.pid, 'the old process still runs');
      t.ok(alive(first!.pid!));
      t.equal(row.reason, 'config-error');
      t.match(row.detail, c.problem);
      const table = (await p.run(['status', 'web'])).stdout;
      t.match(table, c.problem, 'the table shows the reason');
      t.ok(events(p).some((e) => e.event === 'config-error' && e.instance === 'web' && c.problem.test(e.message)), 'and so do the events');
      t.notMatch(d.log(), /web:0: stop/);
      const v = await p.run(['validate']);
      t.equal(v.code, 2);
      t.match(v.stderr, /state\.yaml:\d+:\d+: programs\.web\.(user|cwd): /);
    });
  }
});

t.test('a bad schedule or time zone concerns its program only: the others converge', async (t) => {
  const p = new Project(t, `programs:
${sleeper('good')}  cron:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { schedule: '61 * * * *', timezone: Mars/Olympus }
`);
  const r = await p.run(['reconcile', '--once']);
  t.equal(r.code, 1);
  t.match(r.stderr, /cron: unknown time zone 'Mars\/Olympus'/);
  const rows = await p.status();
  t.equal(rows.find((x) => x.program === 'good')?.state, 'RUNNING');
  t.match(rows.find((x) => x.program === 'cron'), { state: 'STOPPED', reason: 'config-error' });
  const v = await p.run(['validate']);
  t.equal(v.code, 2);
  t.match(v.stderr, /state\.yaml:\d+:\d+: programs\.cron\.restart\.timezone: unknown time zone/);
  t.match(v.stderr, /state\.yaml:\d+:\d+: programs\.cron\.restart\.schedule: not a valid cron expression/);
});

t.test('validate reports schema errors and host errors in one round', async (t) => {
  const p = new Project(t, `programs:
  a:
    command: [no-such-command-tend]
  b:
    command: [sleep, '1']
    replicas: many
`);
  const v = await p.run(['validate']);
  t.equal(v.code, 2);
  t.match(v.stderr, /state\.yaml:6:15: programs\.b\.replicas: /);
  t.match(v.stderr, /state\.yaml:3:14: programs\.a\.command: 'no-such-command-tend' was not found on PATH/);
});

t.test('a dotted program name is never cut at the dot', async (t) => {
  const p = new Project(t, `programs:\n  api.v2:\n    command: [no-such-command-tend]\n`);
  const d = p.daemon();
  await waitFor('the problem in the log', () => /left as it is/.test(d.log()));
  t.match(d.log(), /program 'api\.v2' is left as it is/);
  // The log line comes as the file is read; the event once the pass records it.
  await waitFor('the config-error event', () => existsSync(path.join(p.stateDir, 'events.jsonl')) && events(p).some((e) => e.event === 'config-error' && e.instance === 'api.v2'));
  t.pass('the event names the whole program');
});

t.test('status, events and logs fail loudly when there is nothing to read', async (t) => {
  const p = new Project(t);
  const s = await p.run(['status']);
  t.equal(s.code, 2);
  t.match(s.stderr, new RegExp(`${p.file.replaceAll('/', '\\/')}: cannot read the desired state \\(ENOENT\\)`));
  t.notMatch(s.stdout, /no programs/);
  const e = await p.run(['events']);
  t.not(e.code, 0);
  t.match(e.stderr, /cannot read .*events\.jsonl \(ENOENT\): no state directory/);
  p.write(`programs:\n${sleeper('web')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  t.equal((await p.run(['events'])).code, 0);
  rmSync(path.join(p.stateDir, 'logs'), { recursive: true });
  const l = await p.run(['logs', 'web']);
  t.not(l.code, 0);
  t.match(l.stderr, /web:0: cannot read its log .* \(ENOENT\)/);
});

t.test('a mistyped command gets a did-you-mean', async (t) => {
  const p = new Project(t, 'programs: {}\n');
  const r = await p.run(['stauts']);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown command 'stauts'; did you mean 'status'\?/);
});
