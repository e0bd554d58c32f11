/**
 * What operating tend costs: the daemon idle with Prometheus metrics served and scraped
 * every 15 s (Prometheus' default) against the same daemon without them, and a kill -9
 * answered while a notification webhook hangs for 30 s.
 */
import http from 'node:http';
import { allRunning, type Bench, cpuMs, exists, exit, killToReplacement, memoryMb, pids, sleepers, waitFor } from './harness.js';

type RecordFigure = (f: { name: string; unit: 'ms' | 'MB' | 'ms/min'; samples: number[]; goal?: { max: number; text: string }; floorRatio?: boolean }) => void;

const N = 100;

export async function operateFigures(bench: Bench, record: RecordFigure, quick: boolean): Promise<void> {
  const runs = quick ? 1 : 2;
  const quietMs = quick ? 2000 : 20_000;
  const idleMs = quick ? 5000 : 30_000;
  const idle: Record<'on' | 'off', number[]> = { on: [], off: [] };
  const rss: Record<'on' | 'off', number[]> = { on: [], off: [] };
  for (let run = 0; run < runs * 2; run++) {
    // Alternate, so drift in the machine's load falls on both alike.
    const mode = run % 2 === 0 ? 'off' : 'on';
    const p = bench.project(sleepers(N));
    const d = p.daemon(mode === 'on' ? ['--metrics', '127.0.0.1:0'] : []);
    await waitFor('100 pids', () => allRunning(p, N), 30_000, 5);
    let scrape: NodeJS.Timeout | null = null;
    if (mode === 'on') {
      const url = (await waitFor('metrics address', () => /metrics at (http:\S+)/.exec(d.log())?.[1])) as string;
      const get = () => void fetch(url).then((r) => r.text());
      get();
      scrape = setInterval(get, 15_000);
    }
    await new Promise((r) => setTimeout(r, quietMs)); // measuring a duration, not synchronising
    const c1 = cpuMs(d.pid!);
    await new Promise((r) => setTimeout(r, idleMs)); // measuring a duration, not synchronising
    idle[mode].push(((cpuMs(d.pid!) - c1) * 60_000) / idleMs);
    rss[mode].push(memoryMb(d.pid!).rss);
    if (scrape) clearInterval(scrape);
    d.kill('SIGTERM');
    await exit(d);
    await bench.cleanup();
  }
  record({ name: `daemon CPU while idle, ${N} programs, metrics off, per minute`, unit: 'ms/min', samples: idle.off });
  record({ name: `daemon CPU while idle, ${N} programs, metrics on and scraped every 15 s, per minute`, unit: 'ms/min', samples: idle.on });
  record({ name: `daemon RSS, ${N} programs, metrics off`, unit: 'MB', samples: rss.off });
  record({ name: `daemon RSS, ${N} programs, metrics on (after scrapes)`, unit: 'MB', samples: rss.on });

  // A webhook that never answers: the alert waits in its queue; the loop goes on.
  const open = new Set<http.ServerResponse>();
  let requests = 0;
  const hook = http.createServer((req, res) => {
    requests++;
    req.resume();
    open.add(res);
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  try {
    const port = (hook.address() as { port: number }).port;
    const p = bench.project(`notify:
  - webhook: { url: 'http://127.0.0.1:${port}/hook' }
    timeout: 30s
    retries: 0
${sleepers(N).replace('programs:\n', "programs:\n  doomed:\n    command: [sh, -c, 'exit 1']\n    env: { TEND_TEST_MARK: '@MARK@' }\n    restart: { maxRetries: 0 }\n")}`);
    const d = p.daemon();
    await waitFor('100 sleepers', () => [...pids(p)].filter(([name, pid]) => name.startsWith('s') && pid !== null && exists(pid)).length === N, 30_000, 5);
    await waitFor('the FATAL alert reaches the hanging webhook', () => requests >= 1, 30_000, 10);
    const kills: number[] = [];
    for (let k = 0; k < 20; k++) kills.push(await killToReplacement(() => pids(p), `s${(k * 7) % N}:0`));
    record({ name: 'kill -9 -> replacement pid while a notification webhook hangs (30 s timeout)', unit: 'ms', samples: kills, goal: { max: 20, text: '<= 20 ms' } });
    d.kill('SIGTERM');
    await exit(d);
    await bench.cleanup();
  } finally {
    for (const res of open) res.destroy();
    hook.closeAllConnections();
    hook.close();
  }
}
