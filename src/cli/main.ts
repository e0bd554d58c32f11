#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseDuration } from '../state/duration.js';
import { isTendError } from '../state/errors.js';
import { resolveGlobals } from './context.js';
import { EXIT } from './exit-codes.js';
import { reconcileDaemon, reconcileOnce } from './reconcile.js';
import { statusCommand } from './status.js';
import { validateCommand } from './validate.js';

const USAGE = `usage: tend [-f FILE] [--state-dir DIR] COMMAND [ARGS]

commands:
  reconcile [--once] [--timeout 60s] [--stop-on-exit]
                          converge state.yaml (as a daemon, or once and exit)
  status [NAME...] [--json]
                          instances, their state, pid, uptime, restarts, last reason
  validate                check the file; every error with its line and column

global options:
  -f, -c, --file PATH     the desired state (default ./state.yaml, or $TEND_FILE)
  --state-dir DIR         process table, logs, lock (default .tend beside the file, or $TEND_STATE_DIR)
  -h, --help              this text
  --version               tend's version

exit codes: 0 ok, 1 not converged, 2 invalid file or usage, 3 locked by another tend
            (status: 3 when an instance is not in its desired state)
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      file: { type: 'string', short: 'f' },
      config: { type: 'string', short: 'c' },
      'state-dir': { type: 'string' },
      once: { type: 'boolean' },
      timeout: { type: 'string' },
      'stop-on-exit': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`tend ${pkg.version}\n`);
    return EXIT.OK;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? EXIT.OK : EXIT.INVALID;
  }
  const globals = resolveGlobals(values.file ?? values.config, values['state-dir'], process.env, process.cwd());
  const timeoutMs = values.timeout === undefined ? 60_000 : parseDuration(values.timeout);
  if (timeoutMs === null) throw usage(`--timeout: expected a duration like 30s, got '${values.timeout}'`);
  switch (command) {
    case 'reconcile': {
      const options = { timeoutMs, stopOnExit: values['stop-on-exit'] ?? false };
      return values.once ? reconcileOnce(globals, options) : reconcileDaemon(globals, options);
    }
    case 'status':
      return statusCommand(globals, rest, values.json ?? false);
    case 'validate':
      return validateCommand(globals);
    default:
      throw usage(`unknown command '${command}'`);
  }
}

class UsageError extends Error {}
function usage(message: string): UsageError {
  return new UsageError(message);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const usageProblem = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`tend: ${(e as Error).message}${usageProblem ? "\nrun 'tend --help' for usage" : ''}\n`);
    process.exitCode = usageProblem ? EXIT.INVALID : isTendError(e, 'INVALID_STATE_FILE') ? EXIT.INVALID : EXIT.FAILURE;
  },
);
