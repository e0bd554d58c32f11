import t from 'tap';
import { spawn } from 'node:child_process';
import { verify } from '../../src/spawner/identity.js';
import { parseProcStat, readBootId, readProcStat, statSession } from '../../src/spawner/proc-stat.js';
import { waitFor } from '../helpers/project.js';

t.test('parses a stat line whose command name holds spaces and parentheses', async (t) => {
  const line = '4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000000 100 18446744073709551615';
  t.same(parseProcStat(4242, line), { pid: 4242, state: 'S', ppid: 1, pgrp: 4242, session: 4242, startTime: 987654 });
});

t.test('rejects a truncated stat line', async (t) => {
  t.equal(parseProcStat(1, '1 (x) S 0'), null);
});

t.test('names a live process by pid, start time and boot id, and only that process', async (t) => {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  t.teardown(() => void child.kill('SIGKILL'));
  const stat = readProcStat(child.pid!)!;
  const bootId = readBootId();
  const id = { pid: child.pid!, startTime: stat.startTime, bootId };
  t.ok(verify(id, bootId), 'itself');
  t.equal(verify({ ...id, startTime: stat.startTime + 1 }, bootId), null, 'same pid, other start time: a stranger');
  t.equal(verify(id, 'another-boot'), null, 'another boot: a stranger');
  child.kill('SIGKILL');
  await waitFor('the child to be reaped', () => child.exitCode !== null || child.signalCode !== null);
  t.equal(verify(id, bootId), null, 'dead');
});

t.test('reads the session field from the bytes, whatever the command name holds', async (t) => {
  const cases: [string, number][] = [
    ['4242 (my (odd) name) S 1 4242 4243 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654', 4243],
    ['7 (a) b c) R 1 2 3 4 5', 3],
    ['1 (systemd) S 0 1 1 0 -1', 1],
    ['9 (x) S 1 2', -1],
    ['9 (x) S 1 2 ', -1],
    ['no parenthesis here', -1],
    ['9 (x) S 1 2 abc 4', -1],
  ];
  for (const [line, session] of cases) {
    const bytes = Buffer.from(`${line}\n`, 'latin1');
    t.equal(statSession(bytes, bytes.length), session, line);
    const full = parseProcStat(9, line.padEnd(line.length) + ' 0'.repeat(20));
    if (session >= 0 && full) t.equal(full.session, session, `agrees with the full parse: ${line}`);
  }
  // Only the bytes before `length` count: a reused buffer holds an older, longer line after them.
  const reused = Buffer.from('5 (x) S 1 5 77 0 -1\n4 (old) S 1 4 999999 0', 'latin1');
  t.equal(statSession(reused, '5 (x) S 1 5 77 0 -1\n'.length), 77);
});

t.test('finds the instance token in an environment, first, in the middle or absent', async (t) => {
  const { processesByToken } = await import('../../src/spawner/process-table.js');
  const spawnWith = (env: Record<string, string>) => {
    const child = spawn('sleep', ['1000'], { stdio: 'ignore', env });
    t.teardown(() => void child.kill('SIGKILL'));
    return child;
  };
  const first = spawnWith({ TEND_INSTANCE_ID: 'tok-first', PATH: process.env.PATH! });
  const middle = spawnWith({ PATH: process.env.PATH!, TEND_INSTANCE_ID: 'tok-middle', HOME: '/' });
  const lookalike = spawnWith({ PATH: process.env.PATH!, XTEND_INSTANCE_ID: 'tok-lookalike' });
  await waitFor('children to exec', () => [first, middle, lookalike].every((c) => readProcStat(c.pid!) !== null));
  const found = processesByToken(new Set(['tok-first', 'tok-middle', 'tok-lookalike']));
  t.same(found.get('tok-first')?.map((s) => s.pid), [first.pid]);
  t.same(found.get('tok-middle')?.map((s) => s.pid), [middle.pid]);
  t.notOk(found.has('tok-lookalike'), 'a variable that only ends in the name is not ours');
});
