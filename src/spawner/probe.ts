import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ProbeSpec } from '../state/desired/schema.js';

export type ProbeResult = { ok: true } | { ok: false; error: string };

/** Runs one liveness probe with a timeout; never throws. */
export function runProbe(probe: ProbeSpec, timeoutMs: number, cwd: string): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'http':
      return httpProbe(probe.url, timeoutMs);
    case 'tcp':
      return tcpProbe(probe.host, probe.port, timeoutMs);
    case 'exec':
      return execProbe(probe.command, timeoutMs, cwd);
  }
}

function httpProbe(url: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, error: `HTTP ${code}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', (e) => resolve({ ok: false, error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, error: `no connection within ${timeoutMs}ms` });
    });
    socket.once('error', (e) => resolve({ ok: false, error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

function execProbe(command: string[], timeoutMs: number, cwd: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { cwd, stdio: 'ignore', timeout: timeoutMs, killSignal: 'SIGKILL' });
    child.once('error', (e) => resolve({ ok: false, error: e.message }));
    child.once('exit', (code, signal) => resolve(code === 0 ? { ok: true } : { ok: false, error: signal ? `killed by ${signal}` : `exit code ${code}` }));
  });
}
