import net from 'node:net';
import { TendError } from '../errors.js';
import { controlSocketPath, type ControlReply, type ControlRequest } from './control-protocol.js';

/** Sends one request to the daemon and waits for its one-line reply. */
export function askDaemon(stateDir: string, request: ControlRequest, timeoutMs: number): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(controlSocketPath(stateDir));
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TendError('CONTROL', `the daemon did not answer within ${timeoutMs}ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(new TendError('CONTROL', `cannot reach the daemon's control socket (${(e as NodeJS.ErrnoException).code ?? e.message})`, { cause: e }));
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
