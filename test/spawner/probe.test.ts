import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { runProbe } from '../../src/spawner/probe.js';

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as net.AddressInfo).port;
}

t.test('http: 2xx and 3xx pass, other statuses and silence fail', async (t) => {
  const server = http.createServer((req, res) => {
    if (req.url === '/ok') return void res.end('ok');
    if (req.url === '/moved') return void res.writeHead(302, { location: '/ok' }).end();
    if (req.url === '/broken') return void res.writeHead(500).end();
    // /silent: never answers
  });
  const port = await listen(server);
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  t.same(await runProbe({ kind: 'http', url: `http://127.0.0.1:${port}/ok` }, 500, '/'), { ok: true });
  t.same(await runProbe({ kind: 'http', url: `http://127.0.0.1:${port}/moved` }, 500, '/'), { ok: true });
  t.same(await runProbe({ kind: 'http', url: `http://127.0.0.1:${port}/broken` }, 500, '/'), { ok: false, error: 'HTTP 500' });
  t.same(await runProbe({ kind: 'http', url: `http://127.0.0.1:${port}/silent` }, 200, '/'), { ok: false, error: 'no answer within 200ms' });
});

t.test('tcp: a listening port passes, a closed one fails', async (t) => {
  const server = net.createServer((s) => s.end());
  const port = await listen(server);
  t.same(await runProbe({ kind: 'tcp', host: '127.0.0.1', port }, 500, '/'), { ok: true });
  await new Promise((r) => server.close(r));
  t.same(await runProbe({ kind: 'tcp', host: '127.0.0.1', port }, 500, '/'), { ok: false, error: 'ECONNREFUSED' });
});

t.test('exec: exit 0 passes, anything else fails, a slow command is killed at the timeout', async (t) => {
  t.same(await runProbe({ kind: 'exec', command: ['true'] }, 1000, '/'), { ok: true });
  t.same(await runProbe({ kind: 'exec', command: ['sh', '-c', 'exit 4'] }, 1000, '/'), { ok: false, error: 'exit code 4' });
  const started = Date.now();
  t.same(await runProbe({ kind: 'exec', command: ['sleep', '30'] }, 200, '/'), { ok: false, error: 'killed by SIGKILL' });
  t.ok(Date.now() - started < 5000, 'did not wait for the command');
});
