import { constants } from 'node:os';

/** `TERM`, `sigterm` or `SIGTERM` -> `SIGTERM`; null when the system has no such signal. */
export function parseSignalName(text: string): NodeJS.Signals | null {
  const upper = text.trim().toUpperCase();
  const name = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as NodeJS.Signals;
  return name in constants.signals ? name : null;
}
