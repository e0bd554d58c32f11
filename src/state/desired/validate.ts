import path from 'node:path';
import { isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { splitCommand } from './command-line.js';
import type { Problem } from '../../errors.js';
import { DEFAULTS, type DesiredState, type ProgramSpec } from './schema.js';
import { optional, readHealth, readLimits, readLogs, readRestart, readStop } from './sections.js';
import { checkStateBytes, INPUT_LIMITS } from './input-check.js';
import { keyOf, YamlReader } from './yaml-reader.js';
import { hasPlaceholders } from './placeholders.js';
import { dependencyProblems, readDependsOn } from './dependencies.js';
import { readNotify, type NotifySpec } from './notify.js';
import { TOP_FIELDS } from './top-fields.js';

export interface ValidateOptions {
  /** Absolute path of the file, used for messages and to resolve relative paths. */
  file: string;
  /** Absolute state directory; default log files live under it. */
  stateDir: string;
}

export type Validation =
  | { ok: true; desired: DesiredState; /** Problems of single programs: each is left as it is (configError). */ programProblems: Problem[] }
  | { ok: false; problems: Problem[]; /** The programs that did validate, for checks that need the host. */ partial?: Map<string, ProgramSpec> };

export const PROGRAM_FIELDS = ['command', 'args', 'cwd', 'env', 'user', 'group', 'selector', 'replicas', 'state', 'generation', 'dependsOn', 'shutdownOn', 'restart', 'stop', 'logs', 'limits', 'health'] as const;
export const PROGRAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Validates state.yaml (its bytes or its text) and fills every default; reports all
 * problems at once. A file with nothing in it, or with no `programs:` key, is an error:
 * a half-written file must never read as "run nothing" (that takes `programs: {}`).
 */
export function validateState(input: string | Uint8Array, options: ValidateOptions): Validation {
  const display = path.basename(options.file);
  const checked = checkStateBytes(typeof input === 'string' ? Buffer.from(input) : input, display);
  if (!checked.ok) return checked;
  const text = checked.text;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const read = new YamlReader(display, lines);
  for (const error of doc.errors) read.problemAt(error.pos[0], '', error.message.split('\n')[0]!);
  if (read.problems.length > 0) return { ok: false, problems: read.problems };

  const programs = new Map<string, ProgramSpec>();
  const programProblems: Problem[] = [];
  let notify: NotifySpec[] = [];
  const root = doc.contents;
  if (root === null) {
    read.problemAt(0, '', 'the file is empty (or only comments); to run nothing, write `programs: {}`');
    return { ok: false, problems: read.problems };
  }
  const top = read.map(root, '');
  if (top) {
    read.keys(top, '', TOP_FIELDS);
    notify = optional(top, 'notify', (n) => readNotify(read, n)) ?? [];
    const programsNode = top.get('programs', true);
    if (programsNode === undefined) read.problem(root as Node, 'programs', 'is required: the programs to run (to run nothing, write `programs: {}`)');
    else if (isScalar(programsNode) && programsNode.value === null) {
      const key = top.items.find((p) => keyOf(p) === 'programs')?.key as Node | undefined;
      read.problem(key, 'programs', 'is empty; to run nothing, write `programs: {}`');
    } else {
      const list = read.map(programsNode, 'programs');
      if (list) read.unique(list, 'programs');
      let instances = 0;
      for (const pair of list?.items ?? []) {
        const name = keyOf(pair);
        if (name === null) continue;
        const where = `programs.${name}`;
        if (!PROGRAM_NAME.test(name)) {
          read.problem(pair.key as Node, where, 'a program name may use letters, digits, _ . and - (and may not start with . or -)');
          continue;
        }
        if (programs.size === INPUT_LIMITS.programs) {
          read.problem(pair.key as Node, where, `more than ${INPUT_LIMITS.programs} programs in one file`);
          break;
        }
        const spec = readProgram(read, name, pair.value, (pair.key as Node).range?.[0] ?? 0, options, programProblems);
        if (!spec) continue;
        programs.set(name, spec);
        instances += spec.replicas;
        if (instances > INPUT_LIMITS.instances) read.problem(pair.key as Node, where, `more than ${INPUT_LIMITS.instances} instances in all (replicas summed over every program)`);
      }
    }
  }
  if (read.problems.length === 0) read.problems.push(...dependencyProblems(programs, display));
  if (read.problems.length > 0) return { ok: false, problems: [...read.problems, ...programProblems], partial: programs };
  return { ok: true, desired: { file: options.file, programs, instanceRestarts: new Map(), notify }, programProblems };
}

function readProgram(read: YamlReader, name: string, node: unknown, keyOffset: number, options: ValidateOptions, programProblems: Problem[]): ProgramSpec | null {
  const where = `programs.${name}`;
  const map = read.map(node, where, keyOffset);
  if (!map) return null;
  read.keys(map, where, PROGRAM_FIELDS);
  const before = read.problems.length;
  const baseDir = path.dirname(options.file);

  let command: string[] | null = null;
  const commandNode = map.get('command', true);
  if (commandNode === undefined) read.problemAt(keyOffset, `${where}.command`, 'is required: the program to run, as a list or a string');
  else if (isSeq(commandNode)) command = read.strList(commandNode, `${where}.command`);
  else if (!isScalar(commandNode)) read.problem(commandNode as Node, `${where}.command`, 'expected a list or a string');
  else {
    const text = read.str(commandNode, `${where}.command`);
    if (text !== null) {
      const split = splitCommand(text);
      if (split.ok) command = split.argv;
      else read.problem(commandNode as Node, `${where}.command`, split.error);
    }
  }
  if (command && command.length === 0) read.problem(commandNode as Node, `${where}.command`, 'the command is empty');
  const args = optional(map, 'args', (n) => read.strList(n, `${where}.args`)) ?? [];
  const cwdText = optional(map, 'cwd', (n) => read.str(n, `${where}.cwd`));
  const env = optional(map, 'env', (n) => read.strMap(n, `${where}.env`)) ?? {};
  const user = optional(map, 'user', (n) => read.str(n, `${where}.user`));
  const dependsOnNode = map.get('dependsOn', true);
  const dependsOn = dependsOnNode === undefined ? [] : (readDependsOn(read, dependsOnNode, `${where}.dependsOn`) ?? []);
  const group = optional(map, 'group', (n) => {
    const text = read.str(n, `${where}.group`);
    if (text !== null && !PROGRAM_NAME.test(text)) read.problem(n as Node, `${where}.group`, 'a group name may use letters, digits, _ . and - (and may not start with . or -)');
    return text;
  });
  const selector = optional(map, 'selector', (n) => readSelector(read, n, `${where}.selector`));
  const replicas = optional(map, 'replicas', (n) => read.int(n, `${where}.replicas`, 0, INPUT_LIMITS.replicas)) ?? DEFAULTS.replicas;
  const state = optional(map, 'state', (n) => read.oneOf(n, `${where}.state`, ['running', 'stopped'] as const)) ?? DEFAULTS.state;
  const generation = optional(map, 'generation', (n) => read.int(n, `${where}.generation`, 0)) ?? DEFAULTS.generation;
  const ownProblems = programProblems.length;
  const restart = readRestart(read, map.get('restart', true), `${where}.restart`, name, programProblems);
  const stop = readStop(read, map.get('stop', true), `${where}.stop`);
  const logs = readLogs(read, map.get('logs', true), `${where}.logs`, name, baseDir, options.stateDir);
  const limitsNode = map.get('limits', true);
  const limits = limitsNode === undefined ? null : readLimits(read, limitsNode, `${where}.limits`);
  const healthNode = map.get('health', true);
  const health = healthNode === undefined ? null : readHealth(read, healthNode, `${where}.health`);
  if (read.problems.length > before || !command || !restart || !stop || !logs) return null;
  const argv = [...command, ...args];
  const tooBig = execProblem(argv, env);
  if (tooBig) read.problem(map.get(tooBig.field, true) as Node, `${where}.${tooBig.field}`, tooBig.message, keyOffset);
  if (read.problems.length > before) return null;

  const process = { command: argv, env, cwd: cwdText === null ? baseDir : path.resolve(baseDir, cwdText), user: user ?? null };
  return {
    name,
    process,
    templated: hasPlaceholders(process),
    group: group ?? null,
    selector,
    dependsOn,
    shutdownOn: optional(map, 'shutdownOn', (n) => read.oneOf(n, `${where}.shutdownOn`, ['fatal', 'exit'] as const)),
    commandAt: read.position((commandNode as Node).range?.[0] ?? keyOffset),
    fieldsAt: positions(read, map, ['cwd', 'user']),
    replicas,
    state,
    generation,
    restart,
    stop,
    logs,
    limits,
    health,
    configError: programProblems[ownProblems]?.message ?? null,
  };
}

/** `selector: { role: web, dc: [eu, us] }`: label to one value or a list of values. */
function readSelector(read: YamlReader, node: unknown, where: string): Record<string, string[]> | null {
  const map = read.map(node, where);
  if (!map) return null;
  read.unique(map, where);
  const out: Record<string, string[]> = {};
  for (const pair of map.items) {
    const key = keyOf(pair);
    if (key === null) continue;
    const values = isSeq(pair.value) ? read.strList(pair.value, `${where}.${key}`) : [read.str(pair.value, `${where}.${key}`)].filter((v): v is string => v !== null);
    if (values && values.length > 0) out[key] = values;
    else if (values) read.problem(pair.value as Node, `${where}.${key}`, 'expected a label value or a list of them');
  }
  return out;
}

/** What the kernel would refuse to exec: an argument, a variable or the whole too long. */
function execProblem(argv: string[], env: Record<string, string>): { field: 'command' | 'args' | 'env'; message: string } | null {
  const limit = INPUT_LIMITS.argBytes;
  let total = 0;
  for (const [i, arg] of argv.entries()) {
    const bytes = Buffer.byteLength(arg);
    total += bytes + 1;
    if (bytes > limit) return { field: 'command', message: `argument ${i} is ${bytes} bytes; Linux takes at most ${limit} bytes per argument` };
  }
  for (const [key, value] of Object.entries(env)) {
    if (key === '' || key.includes('=')) return { field: 'env', message: `'${key}' cannot be an environment variable's name (empty or containing '=')` };
    const bytes = Buffer.byteLength(key) + 1 + Buffer.byteLength(value);
    total += bytes + 1;
    if (bytes > limit) return { field: 'env', message: `${key} is ${bytes} bytes; Linux takes at most ${limit} bytes per variable` };
  }
  if (total > INPUT_LIMITS.execBytes) return { field: 'command', message: `the command and its environment take ${total} bytes; at most ${INPUT_LIMITS.execBytes} are allowed` };
  return null;
}

function positions<K extends string>(read: YamlReader, map: YAMLMap, keys: K[]): Partial<Record<K, { line: number; col: number }>> {
  const out: Partial<Record<K, { line: number; col: number }>> = {};
  for (const key of keys) {
    const node = map.get(key, true) as Node | undefined;
    if (node?.range) out[key] = read.position(node.range[0]);
  }
  return out;
}

