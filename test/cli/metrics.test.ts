import { spawnSync } from 'node:child_process';
import t from 'tap';
import { leaker, Project, waitFor } from '../helpers/project.js';

/** Prometheus' own linter and parser (Debian's `prometheus` package, installed by .ci/run). */
function promtool(text: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is needed (apt-get install prometheus): ${r.error.message}`);
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** The value of one series, found by its exact name and labels as tend writes them; null when absent. */
function value(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  if (!res.headers.get('content-type')?.startsWith('text/plain; version=0.0.4')) throw new Error(`content-type ${res.headers.get('content-type')}`);
  return res.text();
}

const restarts = (instance: string, reason: string) => `tend_instance_restarts_total{instance="${instance}",program="${instance.split(':')[0]}",reason="${reason}"}`;

t.test('a scrape while one program crashes and one crosses its memory limit: promtool accepts it, counters move by their reason', async (t) => {
  const p = new Project(t, `programs:
  crasher:
    command: [node, -e, "setTimeout(() => process.exit(3), 150)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 100ms, backoff: { initial: 50ms, max: 200ms } }
${leaker('leaky')}  steady:
    command: [sleep, "1000"]
    env: { TEND_TEST_MARK: '@MARK@' }
    limits: { openFiles: 100 }
`);
  const d = p.daemon(['--metrics', '127.0.0.1:0']);
  const url = (await waitFor('the metrics address in the log', () => /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(d.log())?.[1])) as string;
  const first = await scrape(url);
  const lint = promtool(first);
  t.equal(lint.code, 0, `promtool check metrics: ${lint.output}`);
  t.equal(lint.output, '', 'no lint problems');
  for (const reason of ['crash', 'memory', 'generation', 'schedule', 'health', 'open-files', 'close-wait']) t.ok(value(first, restarts('steady:0', reason)) === 0, `steady:0 ${reason} is present at 0`);

  await waitFor('crasher restarted 3 times and leaky restarted for memory', async () => {
    const rows = await p.status();
    return rows.find((r) => r.name === 'crasher:0')!.restarts >= 3 && rows.find((r) => r.name === 'leaky:0')!.restarts >= 1;
  }, 30_000, 100);
  const later = await scrape(url);
  const again = promtool(later);
  t.equal(again.code, 0, `promtool check metrics: ${again.output}`);
  t.ok(value(later, restarts('crasher:0', 'crash'))! >= 3, 'crasher counts crash restarts');
  t.equal(value(later, restarts('crasher:0', 'memory')), 0);
  t.ok(value(later, restarts('leaky:0', 'memory'))! >= 1, 'leaky counts memory restarts');
  t.equal(value(later, restarts('leaky:0', 'crash')), 0);
  t.equal(value(later, restarts('steady:0', 'crash')), 0);
  t.equal(value(later, 'tend_instance_last_exit_code{instance="crasher:0",program="crasher"}'), 3);
  t.equal(value(later, 'tend_instance_memory_limit_bytes{instance="leaky:0",program="leaky"}'), 150 * 2 ** 20);
  t.equal(value(later, 'tend_instance_open_fds_limit{instance="steady:0",program="steady"}'), 100);
  t.ok(value(later, 'tend_instance_memory_bytes{instance="steady:0",program="steady"}')! > 0, 'memory measured without a limit too');
  t.equal(value(later, 'tend_instance_state{instance="steady:0",program="steady",state="RUNNING"}'), 1);
  t.equal(value(later, 'tend_instance_state{instance="steady:0",program="steady",state="FATAL"}'), 0);
  t.equal(value(later, 'tend_state_file_valid'), 1);
  t.ok(value(later, 'tend_reconcile_passes_total{trigger="exit"}')! >= 3, 'passes asked for by exits');
  t.ok(value(later, 'tend_reconcile_pass_duration_seconds_count')! >= value(first, 'tend_reconcile_pass_duration_seconds_count')!);

  // The same once, through the daemon, for the textfile collector.
  const once = await p.run(['metrics']);
  t.equal(once.code, 0, once.stderr);
  t.equal(promtool(once.stdout).code, 0);
  t.match(once.stdout, /tend_reconcile_passes_total\{trigger="startup"\} 1/);

  // A broken file shows as invalid; the last valid one stays in force.
  p.write('programs: [\n');
  await waitFor('the file counted invalid', async () => value(await scrape(url), 'tend_state_file_valid') === 0, 10_000, 50);
});

t.test('tend metrics without a daemon reads the table, /proc and the events file', async (t) => {
  const p = new Project(t, `programs:
  once:
    command: [sleep, "1000"]
    env: { TEND_TEST_MARK: '@MARK@' }
`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  t.equal((await p.run(['restart', 'once'])).code, 0);
  const r = await p.run(['metrics']);
  t.equal(r.code, 0, r.stderr);
  t.equal(promtool(r.stdout).code, 0, promtool(r.stdout).output);
  t.equal(value(r.stdout, restarts('once:0', 'generation')), 1, 'the restart counted from events.jsonl');
  t.equal(value(r.stdout, 'tend_instance_state{instance="once:0",program="once",state="RUNNING"}'), 1);
  t.notMatch(r.stdout, /tend_reconcile_passes_total/, 'no daemon counters without a daemon');
  t.equal((await p.run(['stop', 'all'])).code, 0);
});

t.test('the metrics address is loopback unless a host is given, and a bad one is refused before anything starts', async (t) => {
  const { parseListen } = await import('../../src/cli/metrics-server.js');
  t.same(parseListen('9464'), { host: '127.0.0.1', port: 9464 });
  t.same(parseListen(':9464'), { host: '127.0.0.1', port: 9464 });
  t.same(parseListen('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
  t.same(parseListen('[::1]:9464'), { host: '::1', port: 9464 });
  for (const bad of ['', 'web', '127.0.0.1:', '127.0.0.1:70000', 'a:b:9']) t.throws(() => parseListen(bad), /--metrics: expected PORT or HOST:PORT/, bad);
  const p = new Project(t, `programs:
  x:
    command: [sleep, "1000"]
    env: { TEND_TEST_MARK: '@MARK@' }
`);
  const r = await p.run(['reconcile', '--metrics', 'nonsense']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--metrics: expected PORT or HOST:PORT/);
  t.same(p.processes(), [], 'nothing started');
});
