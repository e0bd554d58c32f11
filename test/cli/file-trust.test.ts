import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, readFileSync, renameSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { validateState } from '../../src/state/desired/validate.js';
import { malformedFiles } from '../helpers/malformed.js';
import { alive, Project, sleeper, waitFor } from '../helpers/project.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function events(p: Project): { event: string; instance: string; reason: string }[] {
  try {
    return readFileSync(path.join(p.stateDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

async function runningAll(p: Project, n: number): Promise<Map<string, number>> {
  const rows = await waitFor(`${n} instances RUNNING`, async () => {
    const rows = await p.status();
    return rows.length === n && rows.every((r) => r.state === 'RUNNING') ? rows : null;
  });
  return new Map(rows.map((r) => [r.name, r.pid!]));
}

const twenty = (mark: string) => `programs:\n${Array.from({ length: 20 }, (_, i) => sleeper(`p${i}`)).join('')}`.replaceAll('@MARK@', mark);

t.test('in-place saves of the same content, 100 of them in five writer styles, stop and restart nothing', async (t) => {
  const p = new Project(t);
  const text = twenty(p.mark);
  p.write(text);
  const source = path.join(p.dir, 'source.yaml');
  writeFileSync(source, text);
  const d = p.daemon();
  const before = await runningAll(p, 20);
  const eventsBefore = events(p).length;
  const random = (() => {
    let s = 7;
    return () => ((s = (s * 48271) % 2147483647) / 2147483647);
  })();
  const styles: Record<string, () => Promise<void>> = {
    // Truncate, pause, then the text in several chunks with pauses: a slow writer.
    chunks: async () => {
      const fd = openSync(p.file, 'r+');
      ftruncateSync(fd, 0);
      await pause(2 + random() * 12);
      const bytes = Buffer.from(text);
      let at = 0;
      while (at < bytes.length) {
        const n = Math.min(bytes.length - at, 1 + Math.floor(random() * 600));
        writeSync(fd, bytes, at, n, at);
        at += n;
        await pause(random() * 8);
      }
      closeSync(fd);
    },
    shell: async () => void execFileSync('sh', ['-c', `cat '${source}' > '${p.file}'`]),
    cp: async () => void execFileSync('cp', [source, p.file]),
    // Node's fs.writeFile (VS Code saves this way): open with O_TRUNC, then write.
    writeFile: () => writeFile(p.file, text),
    // vim with backupcopy=yes: the same inode, truncated and rewritten.
    vim: async () => {
      const fd = openSync(p.file, 'r+');
      ftruncateSync(fd, 0);
      writeSync(fd, text, 0);
      closeSync(fd);
    },
  };
  const names = Object.keys(styles);
  for (let i = 0; i < 100; i++) {
    await styles[names[i % names.length]!]!();
    await pause(random() * 40);
  }
  // Let the last save be acted on, then look at what happened.
  await waitFor('the daemon to settle on the last save', async () => (await p.run(['reconcile', '--once'])).code === 0);
  const after = events(p).slice(eventsBefore);
  t.same(after.filter((e) => e.event === 'stop' || e.event === 'started' || e.event === 'kill'), [], 'no stop, start or kill events');
  t.same(new Map((await p.status()).map((r) => [r.name, r.pid!])), before, 'every program kept its pid');
  t.ok([...before.values()].every(alive), 'and is alive');
  t.equal(d.exitCode, null, 'the daemon is alive');
  t.notMatch(d.log(), /stopping|scale-down|removed/, 'the daemon never acted on a half-written file');
});

t.test('an atomic rename is still applied at once, and a truncated file is refused even when it stays', async (t) => {
  const p = new Project(t, `programs:\n${sleeper('a')}${sleeper('b')}`);
  const d = p.daemon();
  const before = await runningAll(p, 2);
  // A file cut after a valid prefix that lacks its final newline waits longer; cut in the middle of a line, it is invalid.
  const text = readFileSync(p.file, 'utf8');
  writeFileSync(p.file, text.slice(0, text.indexOf('  b:') + 3));
  await waitFor('the cut file reported', () => /state\.yaml:\d+:\d+/.test(d.log()), 5000);
  t.same(new Map((await p.status()).map((r) => [r.name, r.pid!])), before, 'nothing was stopped');
  p.write(`programs:\n${sleeper('a')}${sleeper('b')}${sleeper('c')}`);
  await runningAll(p, 3);
});

t.test('a running daemon survives every malformed file and touches no program', async (t) => {
  const p = new Project(t);
  const base = `programs:\n${sleeper('web', '    replicas: 2\n')}${sleeper('worker')}`;
  p.write(base);
  const d = p.daemon();
  const before = await runningAll(p, 3);
  const opts = { file: p.file, stateDir: p.stateDir };
  // Files with a per-program problem only are valid for the others: those are tested on their own.
  const invalid = malformedFiles().filter((f) => !validateState(f.bytes, opts).ok);
  t.ok(invalid.length >= 190, `${invalid.length} invalid files`);
  const past = new Date(Date.now() - 5000);
  for (const f of invalid) {
    const seen = events(p).filter((e) => e.event === 'file-invalid').length;
    // Written whole and dated in the past, as a finished save is: the daemon takes it at once.
    const temp = `${p.file}.tmp`;
    writeFileSync(temp, f.bytes);
    utimesSync(temp, past, past);
    renameSync(temp, p.file);
    await waitFor(`the daemon to refuse ${f.name}`, () => events(p).filter((e) => e.event === 'file-invalid').length > seen || d.exitCode !== null, 5000, 2);
    if (d.exitCode !== null) break;
  }
  t.equal(d.exitCode, null, 'the daemon is alive');
  t.same(new Map((await p.status()).map((r) => [r.name, r.pid!])), before, 'every program kept its pid');
  t.same(events(p).filter((e) => ['stop', 'kill', 'started'].includes(e.event) && before.has(e.instance)).length, 3, 'only the three first starts happened');
  p.write(base);
  await waitFor('the valid file taken again', async () => (await p.run(['reconcile', '--once'])).code === 0);
  t.same(new Map((await p.status()).map((r) => [r.name, r.pid!])), before, 'and the valid file restarted nothing');
});
