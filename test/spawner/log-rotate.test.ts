import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { rotateIfLarge } from '../../src/spawner/log-rotate.js';
import { Project, waitFor } from '../helpers/project.js';

// 500 numbered lines every 10 ms (~50,000 lines/s, ~1 MB/s) until TOTAL, then idle.
const TOTAL = 150_000;
const writer = `const fs = require('fs'); let i = 0;
const t = setInterval(() => { let s = ''; for (let k = 0; k < 500 && i < ${TOTAL}; k++) s += 'line ' + (i++) + ' ' + 'x'.repeat(12) + '\\n';
  fs.writeSync(1, s); if (i >= ${TOTAL}) { clearInterval(t); fs.writeSync(2, 'done\\n'); setInterval(() => {}, 1000); } }, 10);`;

t.test('copy-then-truncate rotation under a fast writer: lines lost per rotation', async (t) => {
  const p = new Project(t, `programs:
  chatty:
    command: [node, -e, ${JSON.stringify(writer)}]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    logs: { maxSize: 256Ki, keep: 100 }
`);
  const d = p.daemon();
  const logs = path.join(p.stateDir, 'logs');
  await waitFor('the writer to finish', () => {
    try {
      return readFileSync(path.join(logs, 'chatty.0.err.log'), 'utf8').includes('done');
    } catch {
      return false;
    }
  }, 30_000, 50);
  // Once the live file is under maxSize nothing rotates any more: only then is reading stable.
  await waitFor('the last rotation', () => statSync(path.join(logs, 'chatty.0.out.log')).size <= 256 * 1024, 10_000, 50);
  const files = readdirSync(logs).filter((f) => f.startsWith('chatty.0.out.log'));
  const rotations = files.length - 1;
  t.ok(rotations >= 2, `rotated ${rotations} times`);
  t.match(d.log(), /chatty:0: rotated .*chatty\.0\.out\.log/);
  const seen = new Uint8Array(TOTAL);
  let broken = 0;
  for (const f of files) {
    for (const line of readFileSync(path.join(logs, f), 'utf8').split('\n')) {
      const m = /^line (\d+) x{12}$/.exec(line);
      if (m) seen[Number(m[1])] = 1;
      else if (line !== '') broken++;
    }
  }
  const lost = TOTAL - seen.reduce((a, b) => a + b, 0);
  const perRotation = lost / rotations;
  t.comment(`${TOTAL} lines at ~50,000 lines/s, ${rotations} rotations: ${lost} lines lost (${perRotation.toFixed(1)} per rotation), ${broken} split lines`);
  t.ok(perRotation <= 50, `at most 50 lines lost per rotation (lost ${perRotation.toFixed(1)})`);
  t.equal((await p.status())[0]!.state, 'RUNNING', 'the writer was never blocked or stopped');
});

t.test('rotates captured output by copy: the program goes on writing to FILE, tend logs shows its newest lines', async (t) => {
  const p = new Project(t, `programs:
  ticker:
    command: [node, -e, "let i = 0; setInterval(() => console.log('tick ' + (i++) + ' ' + 'y'.repeat(200)), 2)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    logs: { maxSize: 20Ki, keep: 2 }
`);
  p.daemon();
  const file = path.join(p.stateDir, 'logs', 'ticker.0.out.log');
  await waitFor('a rotation', () => existsSync(`${file}.1`), 10_000);
  const tick = (text: string) => Math.max(...[...text.matchAll(/^tick (\d+)/gm)].map((m) => Number(m[1])));
  const rotatedLast = tick(readFileSync(`${file}.1`, 'utf8'));
  await waitFor('newer lines in FILE itself', () => tick(readFileSync(file, 'utf8')) > rotatedLast + 5, 10_000);
  const shown = await p.run(['logs', 'ticker', '-n', '3']);
  t.equal(shown.code, 0);
  t.ok(tick(shown.stdout) > rotatedLast, 'tend logs shows lines written after the rotation');
  t.ok(statSync(`${file}.1`).size < 200 * 1024, 'FILE.1 does not grow without limit');
});

t.test('never rotates what is not a regular file', async (t) => {
  t.notOk(rotateIfLarge('/dev/null', { maxSize: 1, keep: 3 }), '/dev/null');
  const p = new Project(t);
  const file = path.join(p.dir, 'app.log');
  writeFileSync(file, 'x'.repeat(2000));
  symlinkSync(file, path.join(p.dir, 'link.log'));
  t.notOk(rotateIfLarge(path.join(p.dir, 'link.log'), { maxSize: 1000, keep: 3 }), 'a symlink (/dev/stdout is one)');
  t.notOk(existsSync('/dev/null.1'));
  t.notOk(rotateIfLarge(`${file}.2`, { maxSize: 1000, keep: 3 }), 'a missing file is left alone');
});

t.test('keeps only `keep` rotated files', async (t) => {
  const p = new Project(t);
  const file = path.join(p.dir, 'app.log');
  for (let i = 0; i < 5; i++) {
    writeFileSync(file, `round ${i} `.repeat(200));
    rotateIfLarge(file, { maxSize: 100, keep: 2 });
  }
  t.same(readdirSync(p.dir).filter((f) => f.startsWith('app.log')).sort(), ['app.log', 'app.log.1', 'app.log.2']);
  t.match(readFileSync(`${file}.1`, 'utf8'), /^round 4/);
  t.equal(readFileSync(file, 'utf8'), '', 'the live file was truncated');
});
