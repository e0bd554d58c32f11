import { writeFileSync } from 'node:fs';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';
import { importPm2 } from './pm2.js';
import { importSupervisord } from './supervisord.js';

/**
 * `tend import supervisord FILE [-o state.yaml]`: prints (or writes) a state.yaml that
 * `tend validate` accepts, with a comment beside anything that changed meaning or was left
 * out; those are also on stderr as FILE:LINE. Exit 0 (with warnings or not); 2 when the file
 * cannot be read or parsed.
 */
export function importCommand(args: string[], output: string | undefined, envName: string | null = null): number {
  const [kind, file] = args;
  if ((kind !== 'supervisord' && kind !== 'pm2') || !file) throw new UsageError('usage: tend import supervisord FILE [-o state.yaml] | tend import pm2 FILE [--env NAME] [-o state.yaml]');
  let result;
  try {
    result = kind === 'pm2' ? importPm2(file, envName) : importSupervisord(file);
  } catch (e) {
    const message = (e as Error).message;
    process.stderr.write(`tend: ${/^\S+:\d+: /.test(message) ? message : `${file}:0: ${message}`}\n`);
    return EXIT.INVALID;
  }
  for (const w of result.warnings) process.stderr.write(`${w}\n`);
  if (output) writeFileSync(output, result.yaml);
  else process.stdout.write(result.yaml);
  return EXIT.OK;
}
