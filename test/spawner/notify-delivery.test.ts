import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { NotifySinks } from '../../src/spawner/notify-delivery.js';
import { alive, waitFor } from '../helpers/project.js';

const sinks = new NotifySinks('tend/test');

t.test('an exec sink gets the JSON on stdin and the TEND_* variables; its exit code decides', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tend-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'got');
  const ok = await sinks.deliver({ kind: 'exec', command: ['sh', '-c', 'printf "%s|" "$TEND_KIND" > "$0"; cat >> "$0"', out] }, '{"kind":"fatal"}', { TEND_KIND: 'fatal' }, 5000);
  t.same(ok, { ok: true });
  t.equal(readFileSync(out, 'utf8'), 'fatal|{"kind":"fatal"}');
  const failed = await sinks.deliver({ kind: 'exec', command: ['sh', '-c', 'echo "no route to mail host" >&2; exit 75'] }, '{}', {}, 5000);
  t.same(failed, { ok: false, error: 'sh exited with 75: no route to mail host' });
  t.match(await sinks.deliver({ kind: 'exec', command: ['/nonexistent/notify'] }, '{}', {}, 5000), { ok: false, error: /ENOENT/ });
});

t.test('an exec sink that hangs is killed at its timeout, with everything it started', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tend-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'pid');
  const r = await sinks.deliver({ kind: 'exec', command: ['sh', '-c', 'sleep 100 & echo $! > "$0"; wait', pidFile] }, '{}', {}, 300);
  t.same(r, { ok: false, error: 'sh did not finish within 300ms (killed)' });
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  await waitFor('the background sleep killed with its group', () => !alive(grandchild), 5000);
  t.pass('no process left behind');
});

t.test('a webhook that refuses the connection or never answers is a failure, not a hang', async (t) => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => void sockets.add(s.on('data', () => {}))).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const silent = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/x`;
  t.same(await sinks.deliver({ kind: 'webhook', url: silent, headers: {} }, '{}', {}, 300), { ok: false, error: 'no answer from the webhook within 300ms' });
  const closed = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => closed.once('listening', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  t.match(await sinks.deliver({ kind: 'webhook', url: `http://127.0.0.1:${port}/x`, headers: {} }, '{}', {}, 2000), { ok: false, error: /ECONNREFUSED/ });
});

t.test('the last lines of a log file', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tend-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { writeFileSync } = await import('node:fs');
  const file = path.join(dir, 'err.log');
  writeFileSync(file, Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n') + '\n');
  t.same(sinks.tail(file, 3), ['line 4997', 'line 4998', 'line 4999']);
  t.same(sinks.tail(path.join(dir, 'none'), 3), []);
  writeFileSync(file, '');
  t.same(sinks.tail(file, 3), []);
});
