import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { leaker, Project, waitFor } from '../helpers/project.js';

interface Received {
  kind: string;
  instance: string;
  reason: string;
  stderr: string[];
  message: string;
}

/** A webhook receiver on 127.0.0.1; `hang` keeps every request open without an answer. */
async function receiver(t: { teardown(fn: () => void): void }, hang = false): Promise<{ url: string; got: Received[]; requests: () => number }> {
  const got: Received[] = [];
  let requests = 0;
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    requests++;
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (hang) return void open.add(res);
      got.push(JSON.parse(body) as Received);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const res of open) res.destroy();
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/SECRET-TOKEN`, got, requests: () => requests };
}

const count = (got: Received[], kind: string, instance: string) => got.filter((a) => a.kind === kind && a.instance === instance).length;

t.test('a FATAL sends one alert, a crash loop of 10 restarts one, and its recovery one; to a webhook and an exec sink alike', async (t) => {
  const hook = await receiver(t);
  const p = new Project(t, '');
  const execLog = path.join(p.dir, 'alerts.exec');
  p.write(`notify:
  - webhook: { url: '${hook.url}' }
  - exec: [sh, -c, 'printf "%s %s " "$TEND_KIND" "$TEND_INSTANCE" >> "$0"; cat >> "$0"; echo >> "$0"', '${execLog}']
programs:
  doomed:
    command: [sh, -c, 'echo "cannot open /etc/doomed.conf" >&2; exit 2']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 1s, maxRetries: 2, backoff: { initial: 10ms, max: 20ms } }
  flaky:
    command: [sh, -c, 'n=$(cat count 2>/dev/null || echo 0); echo $((n + 1)) > count; if [ "$n" -lt 10 ]; then sleep 0.3; echo "crash $n" >&2; exit 1; fi; exec sleep 1000']
    cwd: ${p.dir}
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 100ms, backoff: { initial: 10ms, max: 40ms, resetAfter: 1s } }
`);
  const d = p.daemon();
  await waitFor('fatal, crash-loop and recovered at the webhook', () => count(hook.got, 'fatal', 'doomed:0') && count(hook.got, 'crash-loop', 'flaky:0') && count(hook.got, 'recovered', 'flaky:0'), 30_000, 50);
  const flaky = (await p.status()).find((r) => r.name === 'flaky:0')!;
  t.ok(flaky.restarts >= 10, `flaky restarted ${flaky.restarts} times`);
  t.equal(flaky.state, 'RUNNING');
  t.same(hook.got.map((a) => `${a.kind} ${a.instance}`).sort(), ['crash-loop flaky:0', 'fatal doomed:0', 'recovered flaky:0']);
  const fatal = hook.got.find((a) => a.kind === 'fatal')!;
  t.match(fatal.stderr, ['cannot open /etc/doomed.conf'], 'the last lines of its stderr come with it');
  t.match(hook.got.find((a) => a.kind === 'crash-loop')!.stderr.join('\n'), /crash \d/);
  await waitFor('the same three from the exec sink', () => readFileSync(execLog, 'utf8').trim().split('\n').length >= 3, 10_000);
  const lines = readFileSync(execLog, 'utf8').trim().split('\n');
  t.same(lines.map((l) => l.split(' ').slice(0, 2).join(' ')).sort(), ['crash-loop flaky:0', 'fatal doomed:0', 'recovered flaky:0']);
  t.match(JSON.parse(lines[0]!.split(' ').slice(2).join(' ')), { host: String, at: String });
  t.notMatch(d.log(), /SECRET-TOKEN/, 'the webhook path is never logged');
  t.equal((await p.run(['stop', 'all'])).code, 0);
});

t.test('a webhook that never answers delays nothing: the loop restarts at once, the failure is counted and logged', async (t) => {
  const hook = await receiver(t, true);
  const p = new Project(t, '');
  p.write(`notify:
  - webhook: { url: '${hook.url}' }
    timeout: 300ms
    retries: 1
programs:
${leaker('leaky')}  steady:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@' }
`);
  const d = p.daemon(['--metrics', '127.0.0.1:0']);
  const url = (await waitFor('metrics address', () => /metrics at (http:\S+)/.exec(d.log())?.[1])) as string;
  await waitFor('the first alert reaches the hanging receiver', () => hook.requests() >= 1, 20_000, 50);
  // While it hangs, a kill -9 is answered by a new process (the bench measures how fast).
  const before = (await p.status()).find((r) => r.name === 'steady:0')!.pid!;
  process.kill(before, 'SIGKILL');
  await waitFor('steady:0 replaced', async () => {
    const r = (await p.status()).find((x) => x.name === 'steady:0')!;
    return r.pid !== null && r.pid !== before && r.state !== 'BACKOFF';
  }, 5000, 10);
  await waitFor('the alert counted failed after its retry', async () => /tend_notifications_total\{result="failed"\} [1-9]/.test(await (await fetch(url)).text()), 10_000, 100);
  t.match(d.log(), /notify: could not send a restarted alert for leaky:0 to webhook http:\/\/127\.0\.0\.1:\d+ after 2 attempt\(s\): no answer from the webhook within 300ms/);
  t.equal((await p.run(['stop', 'all'])).code, 0);
});
