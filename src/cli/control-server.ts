import { chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ReconcileLoop } from '../runtime/loop.js';
import type { TendEvent } from '../state/records/events.js';
import { controlSocketPath, MAX_REQUEST_BYTES, parseRequest, REQUEST_TIMEOUT_MS, type ControlReply, type ControlRequest, type VerbRequest } from './control-protocol.js';

/**
 * The daemon's control socket: a Unix socket in the state directory, mode 0600, so only
 * its owner (and root) can connect. Only the lock holder creates it, so removing a stale
 * one left by a killed daemon is safe.
 */
export interface ControlSources {
  loop: ReconcileLoop;
  /** The state file this daemon serves: a request about another is sent back to be done by its asker. */
  file: string;
  /** The status rows, as `tend status --json` prints them (with `measure`, what each tree uses too). */
  status: (measure: boolean) => { instances: unknown[]; unreadable?: boolean; warning?: string | null };
  /** A client's verb, made here; absent where the daemon cannot make verbs (the client then makes it). */
  verb?: (request: VerbRequest) => Promise<ControlReply>;
  /** Subscribes to events; returns the unsubscribe function. */
  subscribe: (listener: (event: TendEvent) => void) => () => void;
  /** The metrics in the text exposition format. */
  metrics: () => string;
}

/** The control socket being served; `close` also ends the connections still open (an events stream, a waiting verb). */
export interface ControlServer {
  close(): Promise<void>;
}

export async function serveControl(stateDir: string, sources: ControlSources): Promise<ControlServer> {
  const file = controlSocketPath(stateDir);
  try {
    unlinkSync(file);
  } catch {
    // No stale socket.
  }
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
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
      const request = parseRequest(buffer.slice(0, end));
      if (typeof request !== 'string' && request.op === 'events') return stream(socket, sources);
      void handle(request, sources).then(
        (r) => reply(socket, r),
        (e: Error) => reply(socket, { ok: false, error: e.message }),
      );
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
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}

async function handle(request: ControlRequest | string, sources: ControlSources): Promise<ControlReply> {
  if (typeof request === 'string') return { ok: false, error: request };
  if ('file' in request && request.file !== undefined && path.resolve(request.file) !== sources.file) {
    return { ok: false, error: `this daemon serves ${sources.file}, not ${request.file}`, fallback: true };
  }
  switch (request.op) {
    case 'ping':
      return { ok: true, pid: process.pid };
    case 'status': {
      const { instances, unreadable, warning } = sources.status(request.measure === true);
      return { ok: true, instances, ...(unreadable ? { unreadable } : {}), ...(warning ? { warning } : {}) };
    }
    case 'verb':
      return sources.verb ? sources.verb(request) : { ok: false, error: 'this daemon does not make verbs', fallback: true };
    case 'metrics':
      return { ok: true, text: sources.metrics() };
    case 'pass': {
      if (request.written) sources.loop.trustFile();
      const r = await sources.loop.settle(request.timeoutMs);
      return { ok: true, converged: r.converged, problems: r.problems, fileProblems: r.fileProblems };
    }
    case 'events':
      return { ok: false, error: 'events is a stream' };
  }
}

/** The event stream: one JSON line per event until the client hangs up. A slow reader is cut off, never waited for. */
function stream(socket: net.Socket, sources: ControlSources): void {
  const unsubscribe = sources.subscribe((event) => {
    if (socket.writableLength > MAX_REQUEST_BYTES * 16) return void socket.destroy();
    socket.write(JSON.stringify(event) + '\n');
  });
  socket.on('close', unsubscribe);
  socket.write(JSON.stringify({ ok: true, streaming: 'events' }) + '\n');
}

function reply(socket: net.Socket, message: ControlReply): void {
  if (!socket.destroyed) socket.end(JSON.stringify(message) + '\n');
}
