import { createHash } from 'node:crypto';
import type { LocalOverride } from '../records/host-files.js';
import type { LoadResult } from './load.js';
import type { DesiredState, ProgramSpec } from './schema.js';

/** A program of the file this host does not run, and why. */
export interface Skipped {
  program: string;
  why: string;
  replicas: number;
}

export interface HostView {
  labels: Record<string, string>;
  overrides: ReadonlyMap<string, LocalOverride>;
}

/** The program as written, positions aside: what a local override is tied to. */
export function fingerprint(spec: ProgramSpec): string {
  const { commandAt: _c, fieldsAt: _f, configError: _e, dependsOn, ...rest } = spec;
  const deps = (dependsOn ?? []).map(({ program, condition, restart }) => ({ program, condition, restart }));
  return createHash('sha256').update(JSON.stringify({ ...rest, dependsOn: deps })).digest('hex').slice(0, 16);
}

/** Whether a program's selector matches these labels: every key, with the value or one of the values. */
export function selects(selector: Record<string, string[]> | null | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, values]) => labels[k] !== undefined && values.includes(labels[k]!));
}

/**
 * What this host runs of the file: programs whose `selector` does not match its labels
 * are skipped (dependencies on them are taken as met elsewhere), and local overrides set
 * a program's state. An override whose program the file has changed since is over.
 */
export function applyHostView(loaded: LoadResult, view: HostView): LoadResult & { expired: string[] } {
  const { desired } = loaded;
  const programs = new Map<string, ProgramSpec>();
  const skipped: Skipped[] = [];
  const overridden = new Map<string, LocalOverride>();
  const expired: string[] = [];
  const shown = Object.entries(view.labels).map(([k, v]) => `${k}=${v}`).join(', ');
  for (const [name, spec] of desired.programs) {
    if (!selects(spec.selector, view.labels)) {
      const wanted = Object.entries(spec.selector!).map(([k, v]) => `${k}=${v.join('|')}`).join(', ');
      skipped.push({ program: name, why: `selector ${wanted} does not match this host (${shown})`, replicas: spec.replicas });
      continue;
    }
    programs.set(name, spec);
  }
  for (const [name, spec] of programs) {
    const deps = spec.dependsOn?.filter((d) => programs.has(d.program));
    let next = deps && deps.length !== spec.dependsOn!.length ? { ...spec, dependsOn: deps } : spec;
    const o = view.overrides.get(name);
    if (o && o.fingerprint !== fingerprint(spec)) expired.push(name);
    else if (o) {
      next = { ...next, state: o.state };
      overridden.set(name, o);
    }
    programs.set(name, next);
  }
  for (const name of view.overrides.keys()) if (!desired.programs.has(name) && !expired.includes(name)) expired.push(name);
  const selected = (p: { program?: string }) => p.program === undefined || programs.has(p.program);
  const state: DesiredState = { ...desired, programs, skipped, overridden };
  return { desired: state, programProblems: loaded.programProblems.filter(selected), expired };
}
