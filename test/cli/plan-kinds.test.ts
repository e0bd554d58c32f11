import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { isRestartReason } from '../../src/reconciler/reasons.js';
import { Project } from '../helpers/project.js';

interface Ev {
  instance: string;
  event: string;
  reason: string;
}

const events = (p: Project): Ev[] => readFileSync(path.join(p.stateDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);

/**
 * What a pass did to the machine, read back from its events in plan's words: a stop for a
 * restart reason and the start after it are one `restart`; waits, schedules and in-place
 * updates are lines too; the table's bookkeeping (exit seen, RUNNING, STOPPED, forgotten) is not.
 */
function done(evs: Ev[]): string[] {
  const out: string[] = [];
  const restarted = new Set<string>();
  for (const e of evs) {
    if (e.event === 'stop') {
      if (isRestartReason(e.reason)) restarted.add(e.instance);
      out.push(`${isRestartReason(e.reason) ? 'restart' : 'stop'} ${e.instance} (${e.reason})`);
    } else if (e.event === 'started' && !restarted.has(e.instance)) out.push(`start ${e.instance} (${e.reason})`);
    else if (e.event === 'kill') out.push(`kill ${e.instance} (${e.reason})`);
    else if (e.event === 'waiting') out.push(`wait ${e.instance}`);
    else if (e.event === 'schedule') out.push(`schedule ${e.instance}`);
    else if (e.event === 'updated') out.push(`update ${e.instance}`);
  }
  return out.sort();
}

/** A plan line in the same words: the reason alone (for wait, schedule and update, the verb and instance). */
function planned(line: string): string {
  const m = /^(\w+) (\S+) \(([^:)]+)/.exec(line)!;
  return ['wait', 'schedule', 'update'].includes(m[1]!) ? `${m[1]} ${m[2]}` : `${m[1]} ${m[2]} (${m[3]})`;
}

const prog = (name: string, extra = '', env = '') => `  ${name}:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@'${env} }
    stop: { timeout: 2s }
${extra}`;

/** Each step edits the file the way a person would; the plan must be what the pass then does. */
const STEPS: { kind: string; programs: string; plan: string[] }[] = [
  { kind: 'scale up', programs: prog('web', '    replicas: 3\n') + prog('api') + prog('old') + prog('gone'), plan: ['start web:2 (start)'] },
  { kind: 'scale down', programs: prog('web', '    replicas: 1\n') + prog('api') + prog('old') + prog('gone'), plan: ['stop web:1 (scale-down)', 'stop web:2 (scale-down)'] },
  { kind: 'env change', programs: prog('web') + prog('api', '', ', LOG_LEVEL: debug') + prog('old') + prog('gone'), plan: ['restart api:0 (spec-changed: changed: env)'] },
  { kind: 'generation bump', programs: prog('web') + prog('api', '    generation: 1\n', ', LOG_LEVEL: debug') + prog('old') + prog('gone'), plan: ['restart api:0 (generation)'] },
  { kind: 'state stopped', programs: prog('web') + prog('api', '    generation: 1\n', ', LOG_LEVEL: debug') + prog('old', '    state: stopped\n') + prog('gone'), plan: ['stop old:0 (stopped)'] },
  { kind: 'removal', programs: prog('web') + prog('api', '    generation: 1\n', ', LOG_LEVEL: debug') + prog('old', '    state: stopped\n'), plan: ['stop gone:0 (removed)'] },
  { kind: 'new program', programs: prog('web') + prog('api', '    generation: 1\n', ', LOG_LEVEL: debug') + prog('old', '    state: stopped\n') + prog('fresh'), plan: ['start fresh:0 (start)'] },
  {
    kind: 'schedule added',
    programs: prog('web') + prog('api', '    generation: 1\n', ', LOG_LEVEL: debug') + prog('old', '    state: stopped\n') + prog('fresh', "    restart: { schedule: '0 4 * * *' }\n"),
    plan: ["schedule fresh:0 (follows '0 4 * * *' from now on)", 'update fresh (in place: restart.schedule)'],
  },
  {
    kind: 'limit changed in place',
    programs: prog('web', '    limits: { memory: 300Mi }\n') + prog('api', '    generation: 1\n', ', LOG_LEVEL: debug') + prog('old', '    state: stopped\n') + prog('fresh', "    restart: { schedule: '0 4 * * *' }\n"),
    plan: ['update web (in place: limits)'],
  },
  {
    kind: 'a dependency waiting',
    programs: prog('web', '    limits: { memory: 300Mi }\n') + prog('api', '    generation: 1\n', ', LOG_LEVEL: debug') + prog('old', '    state: stopped\n') + prog('fresh', "    restart: { schedule: '0 4 * * *' }\n") + prog('app', '    dependsOn: [old]\n'),
    plan: ['wait app:0 (old running)'],
  },
];

t.test('tend plan on ten kinds of change prints exactly what the pass then does', async (t) => {
  const p = new Project(t, `programs:\n${prog('web', '    replicas: 2\n')}${prog('api')}${prog('old')}${prog('gone')}`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  for (const step of STEPS) {
    p.write(`programs:\n${step.programs}`);
    const r = await p.run(['plan']);
    t.equal(r.code, 2, `${step.kind}: exit 2, something would change`);
    const lines = r.stdout.trim().split('\n');
    t.same(lines.slice(0, -1).sort(), [...step.plan].sort(), `${step.kind}: the plan`);
    const before = events(p).length;
    await p.run(['reconcile', '--once']);
    t.same(done(events(p).slice(before)), lines.slice(0, -1).map(planned).sort(), `${step.kind}: the pass did what the plan said, no more`);
    t.equal((await p.run(['plan'])).stdout, 'no changes: the machine matches the file\n', `${step.kind}: then nothing is left to do`);
  }

  // The tenth kind: an invalid file. The plan says where; the pass changes nothing.
  p.write(`programs:\n${prog('web', '    limits: { memory: lots }\n')}`);
  const bad = await p.run(['plan']);
  t.equal(bad.code, 1, 'invalid: exit 1');
  t.match(bad.stderr, /state\.yaml:6:23: programs\.web\.limits\.memory: expected a size/);
  const before = events(p).length;
  t.equal((await p.run(['reconcile', '--once'])).code, 2);
  t.same(done(events(p).slice(before)), [], 'the pass did nothing either');
  t.equal((await p.run(['stop', 'all'])).code, 2, 'verbs refuse an invalid file too');
  p.write(`programs: {}\n`);
  await p.run(['reconcile', '--once']);
});
