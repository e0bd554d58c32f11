import t from 'tap';
import { formatUptime, isSettled, statusRows } from '../../src/reconciler/status.js';
import { renderTable } from '../../src/cli/status.js';
import { desired, program, record } from '../helpers/fixtures.js';

const web = program('web', { replicas: 2 });

t.test('lists every desired instance and every recorded one', async (t) => {
  const records = new Map([
    ['web:0', record(web, 0, { startedAt: 1000, restarts: 2, lastReason: 'crash' })],
    ['old:0', record(program('old'), 0, { state: 'STOPPED', pid: null })],
  ]);
  const rows = statusRows(desired(web), records, new Map([['web:0', true]]), 61_000);
  t.same(rows.map((r) => [r.name, r.state, r.desired]), [['old:0', 'STOPPED', 'removed'], ['web:0', 'RUNNING', 'running'], ['web:1', 'STOPPED', 'running']]);
  t.match(rows[1], { program: 'web', replica: 0, uptimeMs: 60_000, restarts: 2, reason: 'crash', lastExit: null, generation: 0 });
  t.equal(rows[2]!.pid, null);
  t.same(rows.map(isSettled), [true, true, false]);
});

t.test('shows a process that died unobserved as EXITED with an unknown exit', async (t) => {
  const rows = statusRows(desired(program('web')), new Map([['web:0', record(web, 0)]]), new Map([['web:0', false]]), 5000);
  t.match(rows[0], { state: 'EXITED', pid: null, uptimeMs: null, lastExit: { code: null, signal: null } });
});

t.test('formats uptime like supervisorctl', async (t) => {
  t.equal(formatUptime(62_000), '0:01:02');
  t.equal(formatUptime(3 * 86_400_000 + 3_723_000), '3 days, 1:02:03');
});

t.test('renders an aligned table', async (t) => {
  const rows = statusRows(desired(web), new Map([['web:0', record(web, 0, { pid: 77, startedAt: 0 })]]), new Map([['web:0', true]]), 1000);
  t.equal(renderTable(rows), 'NAME   STATE    PID  UPTIME   RESTARTS  REASON\nweb:0  RUNNING  77   0:00:01  0         start\nweb:1  STOPPED  -    -        0         -\n');
});

t.test('usage cells: CPU%, memory alone or beside its limit, fds only beside a limit', async (t) => {
  const { usageCells, usageShown, cpuPercent } = await import('../../src/reconciler/usage-columns.js');
  const cases: [Parameters<typeof usageShown>, ReturnType<typeof usageCells>][] = [
    [[{ memory: 21 * 2 ** 20, openFiles: 9 }, 1.25, null], { cpu: '1.3', mem: '21Mi', fds: '-' }],
    [[{ memory: 180 * 2 ** 20, openFiles: 12 }, 0, { memory: 200 * 2 ** 20, openFiles: 100 } as never], { cpu: '0.0', mem: '180Mi/200Mi', fds: '12/100' }],
    [[{ memory: 512, openFiles: 3 }, null, { memory: null, openFiles: 5 } as never], { cpu: '-', mem: '512B', fds: '3/5' }],
  ];
  for (const [args, cells] of cases) t.same(usageCells(usageShown(...args)), cells);
  t.same(usageCells(null), { cpu: '-', mem: '-', fds: '-' });
  t.equal(cpuPercent(0.5, 1000), 50);
  t.equal(cpuPercent(2, 1000), 200, 'a tree on two cores');
  t.equal(cpuPercent(1, 10), null, 'too short a span to say');
});
