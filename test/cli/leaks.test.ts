import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Project, waitFor } from '../helpers/project.js';


/** Waits until web:0 was restarted for `reason`; returns its status row. */
async function restartedFor(p: Project, reason: string, timeoutMs = 15_000) {
  return waitFor(`a restart for ${reason}`, async () => (await p.status()).find((r) => r.restarts >= 1 && r.reason === reason), timeoutMs, 100);
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

t.test('restarts a program that leaks memory, with the measured value', async (t) => {
  const p = new Project(t, `programs:
  leaky:
    command: [node, -e, "const a = []; setInterval(() => a.push(Buffer.alloc(8e6, 1)), 50)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    limits: { memory: 200Mi, interval: 200ms, samples: 3 }
`);
  const d = p.daemon();
  const row = await restartedFor(p, 'memory');
  t.match(row.detail, /^memory: \d+(\.\d)?Mi > 200Mi for 3 samples$/);
  t.match(d.log(), /leaky:0: stopping pid \d+ with SIGTERM \(memory: [\d.]+Mi > 200Mi for 3 samples\)/);
  const events = readFileSync(path.join(p.stateDir, 'events.jsonl'), 'utf8');
  t.match(events, /"event":"stop","reason":"memory"/);
});

t.test('restarts a program that leaks file descriptors', async (t) => {
  const p = new Project(t, `programs:
  fds:
    command: [node, -e, "const fs = require('fs'); setInterval(() => fs.openSync('/dev/null', 'r'), 10)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    limits: { openFiles: 80, interval: 200ms, samples: 3 }
`);
  p.daemon();
  const row = await restartedFor(p, 'open-files');
  t.match(row.detail, /^openFiles: \d+ > 80 for 3 samples$/);
});

t.test('restarts a program that leaks CLOSE_WAIT connections on 127.0.0.1', async (t) => {
  const p = new Project(t, `programs:
  holder:
    command: [node, -e, "const held = []; require('net').createServer({ allowHalfOpen: true }, (s) => held.push(s)).listen(0, '127.0.0.1', function () { console.log('port', this.address().port) })"]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    limits: { closeWait: 3, interval: 200ms, samples: 2 }
`);
  p.daemon();
  const log = path.join(p.stateDir, 'logs', 'holder.0.out.log');
  const port = Number(
    (await waitFor('the port', () => {
      try {
        return /port (\d+)/.exec(readFileSync(log, 'utf8'))?.[1];
      } catch {
        return undefined;
      }
    }))!,
  );
  // The peer hangs up five times; the program never closes its side.
  for (let i = 0; i < 5; i++) {
    const c = net.connect(port, '127.0.0.1');
    await new Promise((r) => c.once('connect', r));
    c.destroy(); // close() sends FIN; the server side is left in CLOSE_WAIT
  }
  const row = await restartedFor(p, 'close-wait');
  t.match(row.detail, /^closeWait: 5 > 3 for 2 samples$/);
});

t.test('restarts a program that stops answering its HTTP probe', async (t) => {
  const port = await freePort();
  const p = new Project(t, `programs:
  web:
    command: [node, -e, "let n = 0; require('http').createServer((q, s) => { if (++n <= 3) s.end('ok') }).listen(${port}, '127.0.0.1')"]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 200ms }
    health: { http: { url: 'http://127.0.0.1:${port}/health' }, interval: 200ms, timeout: 200ms, failures: 2 }
`);
  p.daemon();
  const row = await restartedFor(p, 'health');
  t.match(row.detail, /^health: 2 failed probes in a row \(no answer within 200ms\)$/);
});

t.test('restarts on a seconds-level schedule', async (t) => {
  const p = new Project(t, `programs:
  ticker:
    command: [sleep, '1000']
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 100ms, schedule: '*/2 * * * * *' }
`);
  const d = p.daemon();
  const row = await restartedFor(p, 'schedule', 8000);
  t.match(row.detail, /^schedule '\*\/2 \* \* \* \* \*': tick at \d{4}-\d\d-\d\dT\d\d:\d\d:\d[02468]\.000Z$/);
  // Within a second of the tick: the stop is logged in the same second as the tick it names.
  const m = /(\d\d:\d\d:\d\d)\.(\d{3})Z ticker:0: stopping pid \d+ with SIGTERM \(schedule '[^']+': tick at [^T]+T(\d\d:\d\d:\d\d)\.000Z\)/.exec(d.log());
  t.ok(m, 'the stop names its tick');
  if (m) t.equal(m[1], m[3], `stopped at ${m[1]}.${m[2]}, within a second of the tick at ${m[3]}`);
});

t.test('reconcile --once applies limits from one sample', async (t) => {
  const p = new Project(t, `programs:
  fds:
    command: [node, -e, "const fs = require('fs'); for (let i = 0; i < 100; i++) fs.openSync('/dev/null', 'r'); setInterval(() => {}, 1000)"]
    env: { TEND_TEST_MARK: '@MARK@' }
    restart: { startSeconds: 300ms }
    limits: { openFiles: 50, samples: 3 }
`);
  t.equal((await p.run(['reconcile', '--once'])).code, 0);
  const r = await p.run(['reconcile', '--once']);
  t.match(r.stderr, /fds:0: stopping pid \d+ with SIGTERM \(openFiles: \d+ > 50 for 3 samples\)/);
  const [row] = await p.status();
  t.equal(row!.reason, 'open-files');
});
