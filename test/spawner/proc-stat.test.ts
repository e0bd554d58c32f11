import t from 'tap';
import { spawn } from 'node:child_process';
import { verify } from '../../src/spawner/identity.js';
import { parseProcStat, readBootId, readProcStat } from '../../src/spawner/proc-stat.js';
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
