import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadHostState } from '../state/desired/load.js';
import { instanceName, isInherited, logPath } from '../state/desired/schema.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';
import { Follower } from './tail.js';
import { lastLines } from '../spawner/log-tail.js';
import { UsageError } from './usage-error.js';

export interface LogsOptions {
  /** Default 20. */
  lines: number;
  follow: boolean;
  stderr: boolean;
}

/** `tend logs NAME [-n N] [-f] [--stderr]`; several replicas are shown with an instance prefix. */
export async function logsCommand(globals: GlobalOptions, names: string[], options: LogsOptions): Promise<number> {
  if (names.length !== 1) throw new UsageError('usage: tend logs NAME [-n N] [-f] [--stderr]');
  const name = names[0]!;
  const { desired } = loadHostState(globals.file, globals.stateDir);
  const [programName, replicaText] = name.split(':');
  const program = desired.programs.get(programName!);
  if (!program) {
    process.stderr.write(`${name}: ERROR (no such program)\n`);
    return EXIT.INVALID;
  }
  const replicas = replicaText === undefined ? [...Array(program.replicas).keys()] : [Number(replicaText)];
  const template = options.stderr && program.logs.stderr !== 'stdout' ? program.logs.stderr : program.logs.stdout;
  if (isInherited(template)) {
    process.stderr.write(`tend: ${name} writes to tend's own ${template === '/dev/stdout' ? 'stdout' : 'stderr'} (logs: inherit): see tend's output (docker logs, journalctl) instead\n`);
    return EXIT.FAILURE;
  }
  const files = replicas.map((r) => ({ instance: instanceName(program.name, r), file: logPath(template, program.name, r) }));
  const prefix = (instance: string) => (files.length > 1 ? `${instance} | ` : '');
  let missing = 0;
  for (const { instance, file } of files) {
    if (!canRead(file)) {
      missing++;
      process.stderr.write(`tend: ${instance}: cannot read its log ${file} (${readError(file)})\n`);
      continue;
    }
    for (const line of lastLines(file, options.lines)) process.stdout.write(prefix(instance) + line + '\n');
  }
  if (missing === files.length && !options.follow) return EXIT.FAILURE;
  if (!options.follow) return EXIT.OK;
  const followers = files.map(({ instance, file }) => new Follower(file, (line) => process.stdout.write(prefix(instance) + line + '\n')));
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => followers.forEach((f) => f.poll()), 200);
    const stop = () => {
      clearInterval(timer);
      resolve();
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
  });
  return EXIT.OK;
}

/** `tend events [NAME] [-n N] [-f] [--json]`: what tend did and saw, from the events file. */
export async function eventsCommand(globals: GlobalOptions, names: string[], options: { lines: number; follow: boolean; json: boolean }): Promise<number> {
  const file = path.join(globals.stateDir, 'events.jsonl');
  const wanted = (line: string) => {
    if (names.length === 0) return true;
    try {
      const instance = (JSON.parse(line) as { instance: string }).instance;
      return names.some((n) => instance === n || instance.startsWith(`${n}:`));
    } catch {
      return false;
    }
  };
  const show = (line: string) => {
    if (!line || !wanted(line)) return;
    if (options.json) return void process.stdout.write(line + '\n');
    const e = JSON.parse(line) as { at: string; message: string };
    process.stdout.write(`${e.at} ${e.message}\n`);
  };
  let all: string[] = [];
  try {
    all = readFileSync(file, 'utf8').split('\n').filter(wanted);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // No events file in a state directory that exists: nothing happened yet. Anything else is an error.
    if (code !== 'ENOENT' || !existsSync(globals.stateDir)) {
      process.stderr.write(`tend: cannot read ${file} (${code ?? e})${code === 'ENOENT' ? `: no state directory; is ${globals.file} the right file?` : ''}\n`);
      if (!options.follow) return EXIT.FAILURE;
    }
  }
  for (const line of all.slice(-options.lines)) show(line);
  if (!options.follow) return EXIT.OK;
  const follower = new Follower(file, show);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => follower.poll(), 200);
    process.once('SIGINT', () => (clearInterval(timer), resolve()));
    process.once('SIGTERM', () => (clearInterval(timer), resolve()));
  });
  return EXIT.OK;
}

function canRead(file: string): boolean {
  return readError(file) === null;
}

function readError(file: string): string | null {
  try {
    accessSync(file, constants.R_OK);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}
