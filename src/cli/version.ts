import { readFileSync } from 'node:fs';

/** tend's version, from its package.json (read when asked: `--version`, build info). */
export function tendVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
