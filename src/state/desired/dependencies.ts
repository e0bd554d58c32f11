import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { Problem } from '../../errors.js';
import { closest } from './did-you-mean.js';
import { DEPENDENCY_CONDITIONS, type Dependency, type DependencyCondition, type ProgramSpec } from './schema.js';
import { keyOf, type YamlReader } from './yaml-reader.js';

/**
 * Reads `dependsOn`: a list of program names (each meaning `running`), or a map of name to
 * a condition (`db: healthy`) or to `{condition, restart}`.
 */
export function readDependsOn(read: YamlReader, node: unknown, where: string): Dependency[] | null {
  const out: Dependency[] = [];
  const add = (name: string | null, at: Node | null | undefined, condition: DependencyCondition, restart: boolean) => {
    if (name !== null) out.push({ program: name, condition, restart, at: read.position(at?.range?.[0] ?? 0) });
  };
  const before = read.problems.length;
  if (isSeq(node)) {
    node.items.forEach((item, i) => add(read.str(item, `${where}[${i}]`), item as Node, 'running', false));
  } else if (isMap(node)) {
    read.unique(node, where);
    for (const pair of node.items) {
      const name = keyOf(pair);
      const edge = `${where}.${name}`;
      const value = pair.value as Node | null;
      if (value === null || (isScalar(value) && value.value === null)) add(name, pair.key as Node, 'running', false);
      else if (isScalar(value)) add(name, pair.key as Node, read.oneOf(value, edge, DEPENDENCY_CONDITIONS) ?? 'running', false);
      else {
        const map = read.map(value, edge);
        if (!map) continue;
        read.keys(map, edge, ['condition', 'restart']);
        const c = map.get('condition', true);
        const r = map.get('restart', true) as Node | undefined;
        const restart = r === undefined ? false : isScalar(r) && typeof r.value === 'boolean' ? r.value : (read.problem(r, `${edge}.restart`, 'expected true or false'), false);
        add(name, pair.key as Node, c === undefined ? 'running' : (read.oneOf(c, `${edge}.condition`, DEPENDENCY_CONDITIONS) ?? 'running'), restart);
      }
    }
  } else {
    read.problem(node as Node, where, 'expected a list of program names, or a map of name to condition');
  }
  return read.problems.length > before ? null : out;
}

/**
 * What can only be checked across programs: every name exists, nothing depends on itself
 * or (through others) on itself, `healthy` has a probe to wait for, and `completed` or
 * `succeeded` waits for a program that can end.
 */
export function dependencyProblems(programs: ReadonlyMap<string, ProgramSpec>, file: string): Problem[] {
  const problems: Problem[] = [];
  const problem = (p: ProgramSpec, d: Dependency, message: string) => problems.push({ file, ...d.at, path: `programs.${p.name}.dependsOn.${d.program}`, message });
  for (const p of programs.values()) {
    for (const d of p.dependsOn ?? []) {
      const target = programs.get(d.program);
      if (d.program === p.name) problem(p, d, 'a program cannot depend on itself');
      else if (!target) {
        const hint = closest(d.program, [...programs.keys()]);
        problem(p, d, `no program '${d.program}' in the file${hint ? `; did you mean '${hint}'?` : ''}`);
      } else if (d.condition === 'healthy' && !target.health) problem(p, d, `condition healthy needs a health probe on '${d.program}' (programs.${d.program}.health), which it has not`);
      else if ((d.condition === 'completed' || d.condition === 'succeeded') && target.restart.policy === 'always') {
        problem(p, d, `condition ${d.condition} waits for '${d.program}' to end, but its restart.policy is always (it never ends): use never or on-failure`);
      }
    }
  }
  if (problems.length > 0) return problems;
  const cycle = findCycle(programs);
  if (cycle) {
    const [first, second] = cycle;
    const edge = programs.get(first!)!.dependsOn!.find((d) => d.program === second)!;
    problem(programs.get(first!)!, edge, `a dependency cycle: ${cycle.join(' -> ')}`);
  }
  return problems;
}

/** A cycle of dependencies as the names along it (`web -> api -> web`), or null. */
function findCycle(programs: ReadonlyMap<string, ProgramSpec>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    for (const d of programs.get(name)?.dependsOn ?? []) {
      const found = visit(d.program);
      if (found) return found;
    }
    path.pop();
    state.set(name, 'done');
    return null;
  };
  for (const name of programs.keys()) {
    const found = visit(name);
    if (found) return found;
  }
  return null;
}
