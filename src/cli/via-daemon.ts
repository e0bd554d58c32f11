import { existsSync } from 'node:fs';
import { isTendError, TendError } from '../errors.js';
import { askDaemon } from './control-client.js';
import { controlSocketPath, type ControlReply, type ControlRequest } from './control-protocol.js';
import type { GlobalOptions } from './globals.js';
import type { StatusRow } from './status-render.js';
import type { Verb, VerbOptions } from './verbs.js';

/**
 * The commands a running daemon answers for its client: the client loads no parser and no
 * process table, so it costs little more than starting Node. Each returns null when there
 * is no daemon to ask (or one that serves another file, or cannot do it): the caller then
 * does the work itself, as it would with no daemon at all.
 */

export async function verbViaDaemon(globals: GlobalOptions, verb: Verb, names: string[], options: VerbOptions): Promise<number | null> {
  const request = { op: 'verb', verb, names, file: globals.file, wait: options.wait, timeoutMs: options.timeoutMs, json: options.json, local: options.local ?? false } as const;
  // The daemon waits up to the timeout for the programs; the answer may take a little longer.
  const reply = await ask(globals, request, options.timeoutMs + 30_000);
  if (reply === null) return null;
  if (!reply.ok) throw new TendError('CONTROL', `the daemon refused: ${reply.error}`);
  if (!('exit' in reply)) throw new TendError('CONTROL', 'the daemon sent an unexpected reply');
  process.stdout.write(reply.stdout);
  process.stderr.write(reply.stderr);
  return reply.exit;
}

export async function statusViaDaemon(globals: GlobalOptions, names: string[], json: boolean): Promise<number | null> {
  const reply = await ask(globals, { op: 'status', measure: true, file: globals.file }, 10_000);
  if (reply === null) return null;
  if (!reply.ok) throw new TendError('CONTROL', `the daemon refused: ${reply.error}`);
  if (!('instances' in reply)) throw new TendError('CONTROL', 'the daemon sent an unexpected reply');
  const { showStatus } = await import('./status-render.js');
  return showStatus(globals, { rows: reply.instances as StatusRow[], unreadable: reply.unreadable ?? false, warning: reply.warning ?? null }, names, json);
}

/**
 * The daemon's reply, or null when no request reached one (no socket, a dead daemon's) or it
 * sent the request back: a daemon older than this client does not know the request either.
 */
async function ask(globals: GlobalOptions, request: ControlRequest, timeoutMs: number): Promise<ControlReply | null> {
  if (!existsSync(controlSocketPath(globals.stateDir))) return null;
  let reply: ControlReply;
  try {
    reply = await askDaemon(globals.stateDir, request, timeoutMs);
  } catch (e) {
    if (isTendError(e, 'NO_DAEMON')) return null;
    throw e;
  }
  if (!reply.ok && (reply.fallback === true || reply.error.startsWith('unknown op'))) return null;
  return reply;
}
