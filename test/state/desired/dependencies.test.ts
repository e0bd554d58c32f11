import t from 'tap';
import { formatProblem } from '../../../src/errors.js';
import { validateState } from '../../../src/state/desired/validate.js';

const opts = { file: '/srv/app/state.yaml', stateDir: '/srv/app/.tend' };
const problems = (text: string) => {
  const r = validateState(text, opts);
  return r.ok ? [] : r.problems.map(formatProblem);
};

t.test('reads dependsOn as a list (running) or a map of conditions', async (t) => {
  const r = validateState(`programs:
  db: { command: [db], health: { tcp: { port: 5432 } } }
  cache: { command: [cache] }
  migrate: { command: [migrate], restart: { policy: never } }
  app:
    command: [app]
    dependsOn: { db: { condition: healthy, restart: true }, cache: started, migrate: { condition: succeeded } }
  web:
    command: [web]
    dependsOn: [app]
`, opts);
  t.ok(r.ok, JSON.stringify(r));
  if (!r.ok) return;
  t.same(r.desired.programs.get('app')!.dependsOn!.map((d) => [d.program, d.condition, d.restart]), [['db', 'healthy', true], ['cache', 'started', false], ['migrate', 'succeeded', false]]);
  t.same(r.desired.programs.get('web')!.dependsOn!.map((d) => [d.program, d.condition, d.restart, d.at.line]), [['app', 'running', false, 10]]);
});

t.test('refuses a cycle, with the cycle and its position', async (t) => {
  t.same(problems(`programs:
  web: { command: [web], dependsOn: [api] }
  api: { command: [api], dependsOn: [worker] }
  worker: { command: [worker], dependsOn: [web] }
`), ['state.yaml:2:38: programs.web.dependsOn.api: a dependency cycle: web -> api -> worker -> web']);
});

t.test('refuses an unknown name (with a did-you-mean), a self-dependency, healthy without a probe, and completed of a program that never ends', async (t) => {
  t.same(problems(`programs:
  db: { command: [db] }
  app: { command: [app], dependsOn: [dbb] }
  self: { command: [x], dependsOn: [self] }
  h: { command: [h], dependsOn: { db: healthy } }
  c: { command: [c], dependsOn: { db: completed } }
`), [
    "state.yaml:3:38: programs.app.dependsOn.dbb: no program 'dbb' in the file; did you mean 'db'?",
    'state.yaml:4:37: programs.self.dependsOn.self: a program cannot depend on itself',
    "state.yaml:5:35: programs.h.dependsOn.db: condition healthy needs a health probe on 'db' (programs.db.health), which it has not",
    "state.yaml:6:35: programs.c.dependsOn.db: condition completed waits for 'db' to end, but its restart.policy is always (it never ends): use never or on-failure",
  ]);
  t.match(problems(`programs:\n  a: { command: [a], dependsOn: { b: soon } }\n  b: { command: [b] }\n`)[0], /programs\.a\.dependsOn\.b: expected one of started, running, healthy, completed, succeeded/);
});

t.test('placeholders and groups are read', async (t) => {
  const r = validateState(`programs:
  web:
    command: python3 -m http.server 81{replica:02}
    env: { NAME: '{program}-{replica}', LITERAL: '{{replica}}', AWK: '{print $1}' }
    replicas: 3
    group: front
`, opts);
  t.ok(r.ok);
  if (!r.ok) return;
  const web = r.desired.programs.get('web')!;
  t.equal(web.group, 'front');
  t.equal(web.templated, true);
  const { instanceProcess } = await import('../../../src/state/desired/schema.js');
  t.same(instanceProcess(web, 2).command, ['python3', '-m', 'http.server', '8102']);
  t.same(instanceProcess(web, 2).env, { NAME: 'web-2', LITERAL: '{replica}', AWK: '{print $1}' });
});
