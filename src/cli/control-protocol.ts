import type { Shortfall } from '../reconciler/convergence.js';

/** Requests and replies on the daemon's control socket: one JSON object per line each way. */
/** `written`: the asker has just replaced state.yaml whole (a verb, under the edit lock): take it without waiting for it to be still. */
/**
 * `verb`: a client's `tend start|stop|restart`, made by the daemon (which has the file's parser
 * loaded and acts at once); `file` is the client's, and a daemon that serves another file, or
 * cannot write this one, says `fallback` so that the client does the edit itself.
 * `status` with `measure`: the rows as `tend status` shows them, usage included (and with
 * `file`, only from a daemon that serves that file).
 */
export type ControlRequest =
  | { op: 'ping' }
  | { op: 'pass'; timeoutMs: number; written?: boolean }
  | { op: 'status'; measure?: boolean; file?: string }
  | { op: 'events' }
  | { op: 'metrics' }
  | VerbRequest;

export interface VerbRequest {
  op: 'verb';
  verb: 'start' | 'stop' | 'restart';
  names: string[];
  file: string;
  wait: boolean;
  timeoutMs: number;
  json: boolean;
  local: boolean;
}

export type ControlReply =
  | { ok: true; pid: number }
  | { ok: true; converged: boolean; problems: Shortfall[]; fileProblems: string[] }
  | { ok: true; instances: unknown[]; unreadable?: boolean; warning?: string }
  | { ok: true; text: string }
  | { ok: true; exit: number; stdout: string; stderr: string }
  | { ok: false; error: string; fallback?: boolean };

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
  if (op === 'ping' || op === 'events' || op === 'metrics') return { op };
  if (op === 'status') {
    const { measure, file } = value as { measure?: unknown; file?: unknown };
    return { op, measure: measure === true, ...(typeof file === 'string' ? { file } : {}) };
  }
  if (op === 'verb') return parseVerb(value as Record<string, unknown>);
  if (op === 'pass') {
    const t = (value as { timeoutMs?: unknown }).timeoutMs;
    const timeoutMs = typeof t === 'number' && t > 0 && t <= 600_000 ? t : 60_000;
    return { op, timeoutMs, written: (value as { written?: unknown }).written === true };
  }
  return `unknown op ${JSON.stringify(op)}; known: ping, pass, status, events, metrics, verb`;
}

function parseVerb(v: Record<string, unknown>): VerbRequest | string {
  const { verb, names, file, timeoutMs } = v;
  if (verb !== 'start' && verb !== 'stop' && verb !== 'restart') return 'malformed verb: verb must be start, stop or restart';
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) return 'malformed verb: names must be a list of names';
  if (typeof file !== 'string' || !file.startsWith('/')) return 'malformed verb: file must be an absolute path';
  const timeout = typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= 86_400_000 ? timeoutMs : 60_000;
  return { op: 'verb', verb, names: names as string[], file, wait: v.wait !== false, timeoutMs: timeout, json: v.json === true, local: v.local === true };
}
