import { chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { ReconcileLoop } from '../reconciler/loop.js';
import { controlSocketPath, MAX_REQUEST_BYTES, parseRequest, REQUEST_TIMEOUT_MS, type ControlReply } from './control-protocol.js';

/**
 * The daemon's control socket: a Unix socket in the state directory, mode 0600, so only
 * its owner (and root) can connect. Only the lock holder creates it, so removing a stale
 * one left by a killed daemon is safe.
 */
export async function serveControl(stateDir: string, loop: ReconcileLoop): Promise<net.Server> {
  const file = controlSocketPath(stateDir);
  try {
    unlinkSync(file);
  } catch {
    // No stale socket.
  }
  const server = net.createServer((socket) => {
    let buffer = '';
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST_BYTES) return reply(socket, { ok: false, error: `request larger than ${MAX_REQUEST_BYTES} bytes` });
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      socket.removeAllListeners('data');
      socket.setTimeout(0);
      void handle(buffer.slice(0, end), loop).then((r) => reply(socket, r));
    });
  });
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => resolve());
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(file, 0o600);
  server.unref();
  return server;
}

async function handle(line: string, loop: ReconcileLoop): Promise<ControlReply> {
  const request = parseRequest(line);
  if (typeof request === 'string') return { ok: false, error: request };
  switch (request.op) {
    case 'ping':
      return { ok: true, pid: process.pid };
    case 'pass': {
      const r = await loop.settle(request.timeoutMs);
      return { ok: true, converged: r.converged, problems: r.problems, fileProblems: r.fileProblems };
    }
  }
}

function reply(socket: net.Socket, message: ControlReply): void {
  if (!socket.destroyed) socket.end(JSON.stringify(message) + '\n');
}
