import http from 'node:http';
import { CONTENT_TYPE } from '../reconciler/exposition.js';
import { UsageError } from './usage-error.js';

/**
 * `--metrics ADDRESS`: `9464` or `:9464` is 127.0.0.1:9464; any other host only when given
 * (`0.0.0.0:9464`, `[::1]:9464`). Metrics name every program: they stay on loopback unless asked.
 * Port 0 takes a free port; the daemon's log says which.
 */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+)?:)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--metrics: expected PORT or HOST:PORT (e.g. 127.0.0.1:9464), got '${text}'`);
  return { host: m[1] ? m[1].replace(/^\[|\]$/g, '') : '127.0.0.1', port };
}

/** Serves GET /metrics; everything else is 404 (or 405 for another method). */
export async function serveMetrics(listen: { host: string; port: number }, render: () => string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('tend serves /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    let body: string;
    try {
      body = render();
    } catch (e) {
      return void res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  server.unref();
  return server;
}

