import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Project, sleeper } from '../helpers/project.js';

const events = (p: Project) => readFileSync(path.join(p.stateDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { instance: string; event: string; reason: string });

t.test('tend plan shows what the daemon then does, without doing it', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('web', '    replicas: 2\n')}${sleeper('api')}${sleeper('old')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const none = await p.run(['plan']);
  t.equal(none.code, 0);
  t.equal(none.stdout, 'no changes: the machine matches the file\n');

  p.write(`programs:
${sleeper('web', '    replicas: 3\n')}${sleeper('api').replace("TEND_TEST_MARK: '@MARK@' }", "TEND_TEST_MARK: '@MARK@', LOG_LEVEL: debug }")}${sleeper('fresh')}${sleeper('db', '    state: stopped\n')}${sleeper('app', '    dependsOn: [db]\n')}`);
  const before = events(p).length;
  const r = await p.run(['plan']);
  t.equal(r.code, 2, 'exit 2: something would change');
  const lines = r.stdout.trim().split('\n');
  t.same(lines.slice(0, -1).sort(), [
    'restart api:0 (spec-changed: changed: env)',
    'start fresh:0 (start)',
    'start web:2 (start)',
    'stop old:0 (removed)',
    'wait app:0 (db running)',
  ]);
  t.equal(lines.at(-1), 'plan: 2 to start, 1 to restart, 1 to stop, 1 waiting');
  t.equal(events(p).length, before, 'the plan did nothing');

  await p.run(['reconcile', '--once']);
  const did = events(p).slice(before);
  const first = (instance: string, event: string) => did.find((e) => e.instance === instance && e.event === event);
  t.match(first('web:2', 'started'), { reason: 'start' }, 'the daemon started web:2');
  t.match(first('fresh:0', 'started'), { reason: 'start' });
  t.match(first('api:0', 'stop'), { reason: 'spec-changed' }, 'and restarted api:0 for its env');
  t.match(first('api:0', 'started'), { reason: 'spec-changed' });
  t.match(first('old:0', 'stop'), { reason: 'removed' });
  t.match(first('app:0', 'waiting'), { reason: 'waiting' }, 'and app waits for db');
  t.notOk(first('db:0', 'started'), 'db stays stopped');
  t.equal((await p.run(['plan'])).code, 0, 'then nothing more to do');

  p.write('programs:\n  web:\n    replicas: many\n');
  const bad = await p.run(['plan']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /state\.yaml:2:3: programs\.web\.command: is required/);
});
