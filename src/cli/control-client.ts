import net from 'node:net';
import { TendError } from '../errors.js';
import { controlSocketPath, type ControlReply, type ControlRequest } from './control-protocol.js';

/**
 * Sends one request to the daemon and waits for its one-line reply. A socket nobody listens
 * on (no daemon, or a killed one's) rejects with NO_DAEMON: the request reached no one, so
 * the caller may do the work itself; any later failure is CONTROL (it may have been acted on).
 */
export function askDaemon(stateDir: string, request: ControlRequest, timeoutMs: number): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(controlSocketPath(stateDir));
    let data = '';
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TendError('CONTROL', `the daemon did not answer within ${timeoutMs}ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(JSON.stringify(request) + '\n');
    });
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (e) => {
      clearTimeout(timer);
      const code = (e as NodeJS.ErrnoException).code ?? e.message;
      if (!connected) reject(new TendError('NO_DAEMON', `cannot reach the daemon's control socket (${code})`, { cause: e }));
      else reject(new TendError('CONTROL', `the daemon's control socket failed (${code})`, { cause: e }));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data) as ControlReply);
      } catch (e) {
        reject(new TendError('CONTROL', 'the daemon sent a reply that is not JSON', { cause: e }));
      }
    });
  });
}
