import type { Shortfall } from '../reconciler/convergence.js';

/** Requests and replies on the daemon's control socket: one JSON object per line each way. */
/** `written`: the asker has just replaced state.yaml whole (a verb, under the edit lock): take it without waiting for it to be still. */
export type ControlRequest = { op: 'ping' } | { op: 'pass'; timeoutMs: number; written?: boolean } | { op: 'status' } | { op: 'events' } | { op: 'metrics' };

export type ControlReply =
  | { ok: true; pid: number }
  | { ok: true; converged: boolean; problems: Shortfall[]; fileProblems: string[] }
  | { ok: true; instances: unknown[] }
  | { ok: true; text: string }
  | { ok: false; error: string };

/** Largest request accepted; anything longer is refused without being parsed. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A client that sends no full request within this time is cut off. */
export const REQUEST_TIMEOUT_MS = 5000;

export function controlSocketPath(stateDir: string): string {
  return `${stateDir}/control.sock`;
}

export function parseRequest(line: string): ControlRequest | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'malformed request: not JSON';
  }
  if (typeof value !== 'object' || value === null) return 'malformed request: expected an object';
  const op = (value as { op?: unknown }).op;
  if (op === 'ping' || op === 'status' || op === 'events' || op === 'metrics') return { op };
  if (op === 'pass') {
    const t = (value as { timeoutMs?: unknown }).timeoutMs;
    const timeoutMs = typeof t === 'number' && t > 0 && t <= 600_000 ? t : 60_000;
    return { op, timeoutMs, written: (value as { written?: unknown }).written === true };
  }
  return `unknown op ${JSON.stringify(op)}; known: ping, pass, status, events, metrics`;
}
