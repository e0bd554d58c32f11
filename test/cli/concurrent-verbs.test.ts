import t from 'tap';
import { validateState } from '../../src/state/desired/validate.js';
import { readFileSync } from 'node:fs';
import { Project, sleeper, waitFor } from '../helpers/project.js';

t.test('20 verbs at once on different programs: every edit stays, every printed outcome is true', async (t) => {
  // p0-p6 running (to stop), p7-p13 stopped (to start), p14-p19 running (to restart).
  const programs = Array.from({ length: 20 }, (_, i) => sleeper(`p${i}`, i >= 7 && i < 14 ? '    state: stopped\n' : '')).join('');
  const p = new Project(t, `programs:\n${programs}`);
  const d = p.daemon();
  await waitFor('13 running', async () => (await p.status()).filter((r) => r.state === 'RUNNING').length === 13);
  const before = new Map((await p.status()).map((r) => [r.program, r]));
  const verbOf = (i: number) => (i < 7 ? 'stop' : i < 14 ? 'start' : 'restart');
  const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => p.run([verbOf(i), `p${i}`], 60_000)));

  const text = readFileSync(p.file, 'utf8');
  const v = validateState(text, { file: p.file, stateDir: p.stateDir });
  t.ok(v.ok);
  if (!v.ok) return;
  const rows = new Map((await p.status()).map((r) => [r.program, r]));
  for (let i = 0; i < 20; i++) {
    const name = `p${i}`;
    const spec = v.desired.programs.get(name)!;
    const row = rows.get(name)!;
    const out = runs[i]!;
    const verb = verbOf(i);
    t.equal(out.code, 0, `${verb} ${name} exited 0 (${out.stderr.trim()})`);
    t.equal(out.stdout, `${name}: ${verb === 'stop' ? 'stopped' : verb === 'start' ? 'started' : 'restarted'}\n`);
    if (verb === 'stop') {
      t.equal(spec.state, 'stopped', `${name}: the edit is in the file`);
      t.equal(row.pid, null, `${name}: and it is stopped`);
    } else if (verb === 'start') {
      t.equal(spec.state, 'running', `${name}: the edit is in the file`);
      t.equal(row.state, 'RUNNING', `${name}: and it runs`);
    } else {
      t.equal(spec.generation, 1, `${name}: the generation bump is in the file`);
      t.equal(row.state, 'RUNNING');
      t.not(row.pid, before.get(name)!.pid, `${name}: a new process`);
    }
  }
  t.equal(d.exitCode, null);
});
