import equal from 'fast-deep-equal';
import type { DesiredState, ProgramSpec } from './schema.js';

/**
 * The settings a running process takes without a restart: restart policy and schedule,
 * stop, logs, limits, health, dependencies, shutdownOn, group. What changes the process
 * (command, env, cwd, user) restarts it; replicas, state and generation are actions.
 */
const SECTIONS = ['restart', 'stop', 'logs', 'limits', 'health'] as const;

/** The in-place settings that differ, as `limits.memory`, `restart.schedule`, `dependsOn`... */
export function inPlaceChanges(before: ProgramSpec, after: ProgramSpec): string[] {
  const out: string[] = [];
  for (const section of SECTIONS) {
    const a = before[section] as Record<string, unknown> | null;
    const b = after[section] as Record<string, unknown> | null;
    if (equal(a, b)) continue;
    if (a === null || b === null) out.push(section);
    else for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) if (!equal(a[key], b[key])) out.push(`${section}.${key}`);
  }
  // Where a dependency is written is not a change.
  const deps = (p: ProgramSpec) => (p.dependsOn ?? []).map(({ program, condition, restart }) => ({ program, condition, restart }));
  if (!equal(deps(before), deps(after))) out.push('dependsOn');
  if ((before.shutdownOn ?? null) !== (after.shutdownOn ?? null)) out.push('shutdownOn');
  if ((before.group ?? null) !== (after.group ?? null)) out.push('group');
  return out;
}

/** Per program in both states, what changes in place. */
export function updatesInPlace(before: DesiredState, after: DesiredState): { program: string; fields: string[] }[] {
  const out: { program: string; fields: string[] }[] = [];
  for (const [name, p] of after.programs) {
    const old = before.programs.get(name);
    const fields = old ? inPlaceChanges(old, p) : [];
    if (fields.length > 0) out.push({ program: name, fields });
  }
  return out;
}
