import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { validateState } from '../../../src/state/desired/validate.js';
import { malformedFiles } from '../../helpers/malformed.js';
import { CLI } from '../../helpers/project.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tend-malformed-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const opts = { file: path.join(dir, 'state.yaml'), stateDir: path.join(dir, '.tend') };

// Truncations that happen to end on a whole program are valid files, not malformed ones.
const files = malformedFiles().filter((f) => !f.name.startsWith('truncated') || !validateState(f.bytes, opts).ok);
for (const f of files) writeFileSync(path.join(dir, `${f.name}.yaml`), f.bytes);

interface Measured {
  name: string;
  ms: number;
  problems: { line: number; col: number; message: string }[];
  error?: string;
}

t.test(`every one of ${files.length} malformed files is refused with a position, within 1 s, and no file takes 200 MB`, async (t) => {
  t.ok(files.length >= 200, `at least 200 files (${files.length})`);
  // One process loads every file the way validate does, timing each and reporting its peak memory.
  const script = `
    import { loadState } from ${JSON.stringify(new URL('../../../dist/lib/state/desired/load.js', import.meta.url).href)};
    const out = [];
    for (const name of JSON.parse(process.argv[1])) {
      const file = ${JSON.stringify(dir)} + '/' + name + '.yaml';
      const t0 = performance.now();
      let problems = [], error;
      try { problems = loadState(file, ${JSON.stringify(opts.stateDir)}).programProblems; }
      catch (e) { if (e.code === 'INVALID_STATE_FILE') problems = e.problems; else error = String(e && e.stack || e); }
      out.push({ name, ms: performance.now() - t0, problems: problems.map((p) => ({ line: p.line, col: p.col, message: p.message })), error });
    }
    process.stdout.write(JSON.stringify({ out, maxRssKb: process.resourceUsage().maxRSS }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(files.map((f) => f.name))], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  t.equal(run.status, 0, run.stderr);
  const { out, maxRssKb } = JSON.parse(run.stdout) as { out: Measured[]; maxRssKb: number };
  for (const m of out) {
    const shortfalls = [
      m.error && `crashed: ${m.error}`,
      m.problems.length === 0 && 'accepted',
      !m.problems.every((p) => p.line >= 1 && p.col >= 1) && 'a problem without line and column',
      m.ms >= 1000 && `took ${m.ms.toFixed(0)} ms`,
    ].filter(Boolean);
    t.same(shortfalls, [], `${m.name}: refused at ${m.problems[0]?.line}:${m.problems[0]?.col} in ${m.ms.toFixed(1)} ms (${m.problems[0]?.message.slice(0, 80)})`);
  }
  t.ok(maxRssKb < 200 * 1024, `peak memory over all files ${(maxRssKb / 1024).toFixed(0)} MB`);
});

t.test('tend validate exits 2 and prints file:line:col for the worst of them', async (t) => {
  for (const name of ['huge-5mb', 'deep-compact', 'binary-0', 'utf8-0', 'nul-escaped', 'empty-0', 'many-replicas', 'wrong-schedule-1', 'no-such-user']) {
    const r = spawnSync(process.execPath, [CLI, '-f', path.join(dir, `${name}.yaml`), 'validate'], { encoding: 'utf8' });
    t.equal(r.status, 2, `${name}: exit 2`);
    t.match(r.stderr, new RegExp(`^${name}\\.yaml:\\d+:\\d+: `, 'm'), `${name}: ${r.stderr.split('\n')[0]}`);
  }
});
