import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Project, waitFor } from '../helpers/project.js';
import { Repo } from '../helpers/repo.js';

interface Row {
  name: string;
  pid: number | null;
  state: string;
  restarts: number;
  override?: string | null;
  source?: { applied: { commit: string } | null; refused: { commit: string; why: string[] } | null };
}

const prog = (name: string, extra = '') => `  ${name}:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@'${extra} }
    stop: { timeout: 2s }
`;

/** The commits of the must-show, in order: each with what the host must run afterwards. */
function history(mark: string) {
  const file = (body: string) => ({ 'state.yaml': `programs:\n${body}`.replaceAll('@MARK@', mark) });
  return [
    { what: 'first commit', files: file(prog('web') + prog('api')), applied: true, running: ['api:0', 'web:0'], restarted: [] as string[] },
    { what: 'scale web to 2', files: file(prog('web').replace('    stop:', '    replicas: 2\n    stop:') + prog('api')), applied: true, running: ['api:0', 'web:0', 'web:1'], restarted: [] },
    { what: 'api gets LOG_LEVEL', files: file(prog('web').replace('    stop:', '    replicas: 2\n    stop:') + prog('api', ', LOG_LEVEL: debug')), applied: true, running: ['api:0', 'web:0', 'web:1'], restarted: ['api:0'] },
    { what: 'a typo breaks the file', files: file(prog('web').replace('    stop:', '    replicas: two\n    stop:') + prog('api', ', LOG_LEVEL: debug')), applied: false, running: ['api:0', 'web:0', 'web:1'], restarted: [] },
    { what: 'the fix, and web to 3', files: file(prog('web').replace('    stop:', '    replicas: 3\n    stop:') + prog('api', ', LOG_LEVEL: debug')), applied: true, running: ['api:0', 'web:0', 'web:1', 'web:2'], restarted: [] },
    { what: 'someone empties it', files: { 'state.yaml': 'programs: {}\n' }, applied: false, running: ['api:0', 'web:0', 'web:1', 'web:2'], restarted: [] },
  ];
}

async function rows(p: Project): Promise<Row[]> {
  const r = await p.run(['status', '--json']);
  return JSON.parse(r.stdout) as Row[];
}

/** Runs the history, applying each commit with `apply`; checks status, processes and restarts after each. */
async function follow(t: Test, p: Project, repo: Repo, apply: (commit: string, applied: boolean) => Promise<void>) {
  let lastGood = '';
  let before = new Map<string, number>();
  for (const step of history(p.mark)) {
    const commit = repo.commit(step.what, step.files);
    await apply(commit, step.applied);
    if (step.applied) lastGood = commit;
    const now = await rows(p);
    const source = now[0]?.source;
    t.equal(source?.applied?.commit, lastGood, `${step.what}: status shows the applied commit`);
    t.equal(source?.refused?.commit ?? null, step.applied ? null : commit, `${step.what}: and the refused one`);
    if (!step.applied) t.match(source?.refused?.why.join('\n'), step.what.startsWith('a typo') ? /^state\.yaml:\d+:\d+: programs\.web\.replicas: expected a whole number/ : /leaves no program/, `${step.what}: why, with path:line:col`);
    const running = now.filter((r) => r.state === 'RUNNING').map((r) => r.name).sort();
    t.same(running, step.running, `${step.what}: the processes match the last good commit`);
    t.same(p.processes().filter((x) => x.leader).map((x) => x.instance).sort(), step.running, `${step.what}: and /proc agrees`);
    const pids = new Map(now.map((r) => [r.name, r.pid!]));
    const changed = [...before].filter(([name, pid]) => pids.get(name) !== pid).map(([name]) => name).sort();
    t.same(changed, step.restarted, `${step.what}: restarted only ${step.restarted.join(', ') || 'nothing'}`);
    before = pids;
  }
}



t.test('a daemon following a repository: applies good commits, refuses a broken and an empty one, restarts only what changed', async (t) => {
  const p = new Project(t);
  p.byStateDir = true;
  const repo = new Repo(p.dir);
  repo.commit('nothing yet', { 'README.md': 'config\n', 'state.yaml': 'programs: {}\n' });
  const d = p.daemon(['--git', repo.url, '--interval', '1s']);
  const syncOf = (): { applied: { commit: string } | null; refused: { commit: string } | null } => {
    try {
      return JSON.parse(readFileSync(path.join(p.stateDir, 'git', 'sync.json'), 'utf8'));
    } catch {
      return { applied: null, refused: null }; // not written yet
    }
  };
  await follow(t, p, repo, async (commit, applied) => {
    await waitFor(`commit ${commit.slice(0, 8)} seen`, () => (applied ? syncOf().applied?.commit : syncOf().refused?.commit) === commit, 15_000, 50);
    await waitFor('converged', async () => (await p.run(['reconcile', '--once'])).code === 0, 15_000, 100);
  });
  // The refused commit is not checked again at every interval, and each sync is an event.
  await waitFor('two more syncs', () => (readFileSync(path.join(p.stateDir, 'events.jsonl'), 'utf8').match(/refused before; not checked again/g) ?? []).length >= 2, 10_000, 100);
  t.notMatch(d.log(), /file:\/\/[^\s]*:[^\s]*@/, 'no credentials in the log');
  t.equal((await p.run(['stop', 'all', '--local'])).code, 0);
});

t.test('the same history from cron: reconcile --once --git after each push', async (t) => {
  const p = new Project(t);
  p.byStateDir = true;
  const repo = new Repo(p.dir);
  await follow(t, p, repo, async () => {
    const r = await p.run(['reconcile', '--once', '--git', repo.url]);
    t.ok(r.code === 0, `--once: ${r.stderr.split('\n').find((l) => /refused|failed/.test(l)) ?? 'converged'}`);
  });
  const events = readFileSync(path.join(p.stateDir, 'events.jsonl'), 'utf8');
  t.equal((events.match(/"event":"git-sync"/g) ?? []).length, 6, 'every sync is an event');
  t.equal((await p.run(['stop', 'all', '--local'])).code, 0);
});

t.test('verbs never edit a git-managed file: stop refuses with what to change, --local overrides until lifted, the next sync still works', async (t) => {
  const p = new Project(t);
  p.byStateDir = true;
  const repo = new Repo(p.dir);
  repo.commit('two programs', { 'state.yaml': `programs:\n${prog('web')}${prog('api')}`.replaceAll('@MARK@', p.mark) });
  t.equal((await p.run(['reconcile', '--once', '--git', repo.url])).code, 0);
  const refused = await p.run(['stop', 'web']);
  t.equal(refused.code, 4);
  t.match(refused.stderr, /state\.yaml is managed by git: file:\/\/\S+config\.git \(ref main\)/);
  t.match(refused.stderr, /  state\.yaml:2: programs\.web\.state: stopped\n/);
  t.match(refused.stderr, /tend stop web --local/);
  t.equal((await rows(p)).find((r) => r.name === 'web:0')!.state, 'RUNNING', 'nothing stopped');

  t.equal((await p.run(['stop', 'web', '--local'])).code, 0);
  const stopped = (await rows(p)).find((r) => r.name === 'web:0')!;
  t.match(stopped, { state: 'STOPPED', override: 'stopped' });
  t.match((await p.run(['status'])).stdout, /local override: stopped; tend start web --local lifts it/);

  // A commit that does not touch web: applied, and web stays stopped here.
  const apiPid = (await rows(p)).find((r) => r.name === 'api:0')!.pid;
  repo.commit('api gets a variable', { 'state.yaml': `programs:\n${prog('web')}${prog('api', ', X: 1')}`.replaceAll('@MARK@', p.mark) });
  t.equal((await p.run(['reconcile', '--once', '--git', repo.url])).code, 0, 'the next sync succeeds');
  t.equal((await rows(p)).find((r) => r.name === 'web:0')!.state, 'STOPPED');
  t.not((await rows(p)).find((r) => r.name === 'api:0')!.pid, apiPid, 'api restarted for its change');

  t.equal((await p.run(['start', 'web', '--local'])).code, 0, 'lifting the override');
  t.match((await rows(p)).find((r) => r.name === 'web:0')!, { state: 'RUNNING' });
  t.notOk((await rows(p)).find((r) => r.name === 'web:0')!.override);

  // restart is a one-off request in the state directory, never an edit.
  const webPid = (await rows(p)).find((r) => r.name === 'web:0')!.pid;
  t.equal((await p.run(['restart', 'web'])).code, 0);
  t.not((await rows(p)).find((r) => r.name === 'web:0')!.pid, webPid);
  t.equal(readFileSync(path.join(p.stateDir, 'git', 'current', 'state.yaml'), 'utf8').includes('generation'), false, 'the checkout is untouched');
  t.equal((await p.run(['stop', 'all', '--local'])).code, 0);
});

t.test('a clone pulled by hand is git-managed too: the verb refuses, and git pull keeps working', async (t) => {
  const p = new Project(t);
  const repo = new Repo(p.dir);
  repo.commit('one program', { 'state.yaml': `programs:\n${prog('web')}`.replaceAll('@MARK@', p.mark) });
  const clone = path.join(p.dir, 'clone');
  repo.git(['clone', '--quiet', repo.bare, clone], p.dir);
  const file = path.join(clone, 'state.yaml');
  const run = (args: string[]) => p.run(['--file', file, ...args]);
  t.equal((await run(['reconcile', '--once'])).code, 0);
  const r = await run(['stop', 'web']);
  t.equal(r.code, 4);
  t.match(r.stderr, /a clone of \S+config\.git \(branch main\)/);
  repo.commit('web to 2', { 'state.yaml': `programs:\n${prog('web').replace('    stop:', '    replicas: 2\n    stop:')}`.replaceAll('@MARK@', p.mark) });
  repo.git(['pull', '--quiet'], clone);
  t.equal((await run(['reconcile', '--once'])).code, 0, 'git pull succeeded: nothing was edited');
  t.equal(p.processes().filter((x) => x.leader).length, 2);
  t.equal((await run(['stop', 'all', '--local'])).code, 0);
});

t.test('one repository for a fleet: three state directories with different labels each run only their programs', async (t) => {
  const p = new Project(t);
  p.byStateDir = true; // each command names its own state directory below
  const repo = new Repo(p.dir);
  const selected = (name: string, selector: string) => prog(name).replace('    stop:', `    selector: ${selector}\n    stop:`);
  repo.commit('the fleet', {
    'state.yaml': `programs:\n${selected('nginx', '{ role: web }')}${selected('app', '{ role: [web, api] }')}${selected('redis', '{ role: db, dc: eu }')}${prog('node-exporter')}`.replaceAll('@MARK@', p.mark),
  });
  const hosts = [
    { dir: 'web-eu', labels: ['role=web', 'dc=eu'], runs: ['app', 'nginx', 'node-exporter'] },
    { dir: 'db-eu', labels: ['role=db', 'dc=eu'], runs: ['node-exporter', 'redis'] },
    { dir: 'db-us', labels: ['role=db', 'dc=us'], runs: ['node-exporter'] },
  ];
  for (const h of hosts) {
    const stateDir = path.join(p.dir, h.dir);
    const r = await p.run(['--state-dir', stateDir, 'reconcile', '--once', '--git', repo.url, ...h.labels.flatMap((l) => ['--label', l])]);
    t.equal(r.code, 0, `${h.dir}: ${r.stderr}`);
  }
  for (const h of hosts) {
    const stateDir = path.join(p.dir, h.dir);
    const status = JSON.parse((await p.run(['--state-dir', stateDir, 'status', '--json'])).stdout) as { program: string; state: string; desired: string; detail: string | null }[];
    t.same(status.filter((r) => r.state === 'RUNNING').map((r) => r.program).sort(), h.runs, `${h.dir} runs ${h.runs.join(', ')}`);
    const skipped = status.filter((r) => r.desired === 'skipped');
    t.ok(skipped.every((r) => /^selector .* does not match this host \(hostname=/.test(r.detail ?? '')), `${h.dir}: status says why it skips ${skipped.map((r) => r.program).join(', ')}`);
    const plan = await p.run(['--state-dir', stateDir, 'plan']);
    t.equal(plan.code, 0, `${h.dir}: nothing to do`);
    for (const s of skipped) t.match(plan.stdout, new RegExp(`this host skips ${s.program}: selector`));
  }
  const byDir = new Map(hosts.map((h) => [h.dir, 0]));
  for (const x of p.processes().filter((x) => x.leader)) {
    const env = readFileSync(`/proc/${x.pid}/environ`, 'latin1');
    const dir = hosts.find((h) => env.includes(`TEND_STATE_DIR=${path.join(p.dir, h.dir)}`))!.dir;
    byDir.set(dir, byDir.get(dir)! + 1);
  }
  t.same(Object.fromEntries(byDir), { 'web-eu': 3, 'db-eu': 2, 'db-us': 1 }, 'the processes on this machine, by state directory');
  for (const h of hosts) await p.run(['--state-dir', path.join(p.dir, h.dir), 'stop', 'all', '--local']);
});
