#!/usr/bin/env node
import { parseArgs } from 'node:util';
import path from 'node:path';
import { parseDuration } from '../state/desired/duration.js';
import { isTendError } from '../errors.js';
import { closest } from '../state/desired/did-you-mean.js';
import { resolveGlobals } from './globals.js';
import { EXIT } from './exit-codes.js';
import { UsageError } from './usage-error.js';

const USAGE = `usage: tend [-f FILE] [--state-dir DIR] COMMAND [ARGS]

commands:
  reconcile [--once] [--timeout 60s] [--stop-on-exit] [--console] [--metrics [HOST:]PORT]
            [--git URL [--ref main] [--path state.yaml] [--interval 60s] [--allow-empty]
             [--ssh-key FILE] [--known-hosts FILE] [--git-token-file FILE]] [--label NAME=VALUE...]
                          converge state.yaml (as a daemon, or once and exit);
                          --console: every instance's output on tend's own, prefixed;
                          --metrics: Prometheus /metrics (127.0.0.1 unless a host is given);
                          --git: pull state.yaml from a repository, validate, then apply;
                          --label: this host's labels, for programs' selector
  metrics                 the same metrics printed once (node_exporter's textfile collector)
  status [NAME...] [--json] [--watch]
                          instances: state, pid, uptime, CPU%, memory (beside its limit),
                          fds (beside a limit), restarts, last reason; --watch redraws every 1s
  start NAME...|all       set state: running in the file, wait until up
                          (a git-managed file is never edited: --local overrides it here)
  stop NAME...|all        set state: stopped in the file, wait until down
  restart NAME...|all     bump generation (or restart one instance, web:1), wait
                          (a git-managed file: a one-off request in the state directory)
                          (start/stop/restart: --no-wait only edits; --timeout 60s)
  logs NAME [-n 20] [-f] [--stderr]   (here -f is --follow; use -c for the file)
                          an instance's output; replicas are shown with a prefix
  events [NAME] [-n 20] [-f] [--json]
                          starts, stops, exits, restarts and their reasons
  pid [NAME...]           the daemon's pid, or the instances'
  signal SIG NAME... [--group]
                          send a signal to instances' main processes (--group: their process groups)
  validate [--json]       check the file; every error with its line and column
  schema                  state.yaml's JSON Schema (draft-07), for editors' completion
  plan [--json]           what the next pass would do (exit 0: nothing, 2: changes, 1: invalid)
  service install [--user] [-o FILE]
                          a systemd unit for tend reconcile (KillMode=process: programs outlive it)
  export systemd|nomad|kubernetes [-o DIR]
                          the programs as systemd units, a Nomad job (JSON) or Kubernetes
                          manifests; what has no equivalent is a comment in them
  import supervisord FILE [-o state.yaml]
                          a state.yaml from a supervisord.conf (what it could not carry on stderr)
  import pm2 FILE [--env NAME] [-o state.yaml]
                          the same from a pm2 ecosystem file (.json, .yaml, .js: a .js file is
                          your own code, evaluated in a separate node process, 5 s at most)

global options:
  -f, -c, --file PATH     the desired state (default ./state.yaml, or $TEND_FILE)
  --state-dir DIR         process table, logs, lock (default .tend beside the file, or $TEND_STATE_DIR)
  -h, --help              this text
  --version               tend's version

exit codes: 0 ok, 1 not converged (or a verb failed), 2 invalid file, usage or name,
            3 locked by another tend (status: an instance not in its desired state),
            4 state.yaml is managed by git or read-only (the message says what to change
              in its repository; --local overrides it on this host)
`;

/** After `logs` or `events`, `-f` means follow (as `tail -f`); the file is then given with -c or --file. */
function followFlag(argv: string[]): string[] {
  const at = argv.findIndex((a) => a === 'logs' || a === 'events');
  return at < 0 ? argv : argv.map((a, i) => (i > at && a === '-f' ? '--follow' : a));
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: followFlag(argv),
    allowPositionals: true,
    options: {
      file: { type: 'string', short: 'f' },
      config: { type: 'string', short: 'c' },
      'state-dir': { type: 'string' },
      once: { type: 'boolean' },
      timeout: { type: 'string' },
      'stop-on-exit': { type: 'boolean' },
      json: { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      lines: { type: 'string', short: 'n' },
      follow: { type: 'boolean' },
      stderr: { type: 'boolean' },
      group: { type: 'boolean' },
      console: { type: 'boolean' },
      watch: { type: 'boolean' },
      metrics: { type: 'string' },
      git: { type: 'string' },
      ref: { type: 'string' },
      path: { type: 'string' },
      interval: { type: 'string' },
      'allow-empty': { type: 'boolean' },
      'ssh-key': { type: 'string' },
      'known-hosts': { type: 'string' },
      'git-token-file': { type: 'string' },
      label: { type: 'string', multiple: true },
      local: { type: 'boolean' },
      output: { type: 'string', short: 'o' },
      env: { type: 'string' },
      user: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (values.version) {
    process.stdout.write(`tend ${(await import('./version.js')).tendVersion()}\n`);
    return EXIT.OK;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? EXIT.OK : EXIT.INVALID;
  }
  if (values.git !== undefined && (values.file ?? values.config) !== undefined) throw usage('--git pulls state.yaml from a repository: give --path for its place there, not -f');
  const globals = resolveGlobals(values.file ?? values.config, values['state-dir'], process.env, process.cwd(), values.git === undefined ? undefined : (values.path ?? 'state.yaml'));
  const timeoutMs = values.timeout === undefined ? 60_000 : parseDuration(values.timeout);
  if (timeoutMs === null) throw usage(`--timeout: expected a duration like 30s, got '${values.timeout}'`);
  switch (command) {
    // Each command loads only its own modules: a CLI call should not pay for the daemon's.
    case 'reconcile': {
      const { reconcileDaemon, reconcileOnce } = await import('./reconcile.js');
      const metrics = values.metrics === undefined ? null : (await import('./metrics-server.js')).parseListen(values.metrics);
      if (metrics && values.once) throw usage('--metrics serves a running daemon; with --once, use tend metrics');
      const git = values.git === undefined ? null : gitOptions(values);
      const options = { timeoutMs, stopOnExit: values['stop-on-exit'] ?? false, console: values.console ?? false, metrics, git, labels: parseLabels(values.label ?? []) };
      if (values.once) return reconcileOnce(globals, options);
      // Everything is saved and closed when the daemon returns; a watcher's handles can hold
      // the event loop for another second (seen with chokidar), which a container's stop pays.
      process.exit(await reconcileDaemon(globals, options));
    }
    case 'status': {
      // A running daemon answers: the file's parser and the process table stay unloaded here.
      const viaDaemon = values.watch ? null : await (await import('./via-daemon.js')).statusViaDaemon(globals, rest, values.json ?? false);
      return viaDaemon ?? (await import('./status.js')).statusCommand(globals, rest, values.json ?? false, values.watch ?? false);
    }
    case 'service':
      return (await import('./service.js')).serviceCommand(globals, rest, values.user ?? false, values.output);
    case 'metrics':
      return (await import('./metrics.js')).metricsCommand(globals);
    case 'export':
      return (await import('./export.js')).exportCommand(globals, rest, values.output);
    case 'plan':
      return (await import('./plan.js')).planCommand(globals, values.json ?? false);
    case 'import':
      return (await import('./import/command.js')).importCommand(rest, values.output, values.env ?? null);
    case 'schema': {
      const { stateJsonSchema } = await import('../state/desired/json-schema.js');
      process.stdout.write(JSON.stringify(stateJsonSchema(), null, 2) + '\n');
      return EXIT.OK;
    }
    case 'validate':
      return (await import('./validate.js')).validateCommand(globals, values.json ?? false);
    case 'start':
    case 'stop':
    case 'restart': {
      if (rest.length === 0) throw usage(`tend ${command} needs a NAME (a program, an instance such as web:1, or all)`);
      const options = { wait: !values['no-wait'], timeoutMs, json: values.json ?? false, local: values.local ?? false };
      // A running daemon makes the edit and acts on it at once; without one, this process does.
      const viaDaemon = await (await import('./via-daemon.js')).verbViaDaemon(globals, command, rest, options);
      return viaDaemon ?? (await import('./verbs.js')).verbCommand(globals, command, rest, options);
    }
    case 'logs':
      return (await import('./logs.js')).logsCommand(globals, rest, { lines: count(values.lines), follow: values.follow ?? false, stderr: values.stderr ?? false });
    case 'events':
      return (await import('./logs.js')).eventsCommand(globals, rest, { lines: count(values.lines), follow: values.follow ?? false, json: values.json ?? false });
    case 'pid':
      return (await import('./inspect.js')).pidCommand(globals, rest, values.json ?? false);
    case 'signal':
      return (await import('./inspect.js')).signalCommand(globals, rest, values.json ?? false, values.group ?? false);
    default: {
      const hint = closest(command, COMMANDS);
      throw usage(`unknown command '${command}'${hint ? `; did you mean '${hint}'?` : ''}`);
    }
  }
}

const COMMANDS = ['reconcile', 'metrics', 'schema', 'export', 'status', 'validate', 'import', 'plan', 'service', 'start', 'stop', 'restart', 'logs', 'events', 'pid', 'signal'];

function usage(message: string): UsageError {
  return new UsageError(message);
}

function gitOptions(values: { git?: string; ref?: string; path?: string; interval?: string; 'allow-empty'?: boolean; 'ssh-key'?: string; 'known-hosts'?: string; 'git-token-file'?: string }) {
  const intervalMs = parseDuration(values.interval ?? '60s');
  if (intervalMs === null || intervalMs < 1000) throw usage(`--interval: expected a duration of at least 1s, like 60s, got '${values.interval}'`);
  const file = (f: string | undefined) => (f === undefined ? null : path.resolve(f));
  return { url: values.git!, ref: values.ref ?? 'main', path: values.path ?? 'state.yaml', intervalMs, allowEmpty: values['allow-empty'] ?? false, sshKey: file(values['ssh-key']), knownHosts: file(values['known-hosts']), tokenFile: file(values['git-token-file']), timeoutMs: 60_000 };
}

/** `--label role=web`: a name (letters, digits, _ . / -) and a value. */
function parseLabels(given: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of given) {
    const m = /^([A-Za-z0-9_./-]+)=(.*)$/.exec(l);
    if (!m) throw usage(`--label: expected NAME=VALUE, like role=web, got '${l}'`);
    if (m[1] === 'hostname') throw usage('--label: hostname is always the host\'s own name; use another label');
    out[m[1]!] = m[2]!;
  }
  return out;
}

function count(text: string | undefined): number {
  if (text === undefined) return 20;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw usage(`-n: expected a whole number of lines, got '${text}'`);
  return n;
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
