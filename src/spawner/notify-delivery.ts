import { spawn } from 'node:child_process';
import { lastLines } from './log-tail.js';
import type { NotifyDelivery } from '../runtime/ports.js';
import type { NotifySink } from '../state/desired/notify.js';

type Outcome = { ok: true } | { ok: false; error: string };

/** Delivers notifications: a command gets the JSON on stdin, a webhook gets it POSTed. */
export class NotifySinks implements NotifyDelivery {
  constructor(private readonly userAgent: string) {}

  deliver(sink: NotifySink, body: string, env: Record<string, string>, timeoutMs: number): Promise<Outcome> {
    return sink.kind === 'exec' ? runCommand(sink.command, body, env, timeoutMs) : post(sink.url, sink.headers, body, timeoutMs, this.userAgent);
  }

  tail(file: string, lines: number): string[] {
    return lastLines(file, lines);
  }
}

/** The command in its own process group; at the timeout it is SIGKILLed, and the rest of its group with it. */
function runCommand(command: string[], body: string, env: Record<string, string>, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'ignore', 'pipe'], detached: true, env: { ...process.env, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-500)));
    child.stdin.on('error', () => {});
    child.stdin.end(body);
    child.once('error', (e) => resolve({ ok: false, error: `${command[0]}: ${e.message}` }));
    child.once('exit', (code, signal) => {
      if (code === 0) return resolve({ ok: true });
      if (signal === 'SIGKILL') {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // The group ended with its leader.
        }
        return resolve({ ok: false, error: `${command[0]} did not finish within ${timeoutMs}ms (killed)` });
      }
      resolve({ ok: false, error: `${command[0]} ${signal ? `was killed by ${signal}` : `exited with ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''}` });
    });
  });
}

async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, userAgent: string): Promise<Outcome> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': userAgent, ...headers }, body, signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok ? { ok: true } : { ok: false, error: `HTTP ${res.status} from the webhook` };
  } catch (e) {
    const err = e as Error & { cause?: Error };
    return { ok: false, error: err.name === 'TimeoutError' ? `no answer from the webhook within ${timeoutMs}ms` : `${err.message}${err.cause ? ` (${err.cause.message})` : ''}` };
  }
}
