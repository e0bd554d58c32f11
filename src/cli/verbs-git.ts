import { gitManaged, type ManagedBy } from '../gitops/managed.js';
import { fieldLine } from '../state/desired/edit.js';
import { fingerprint } from '../state/desired/host-view.js';
import { instanceName, type DesiredState } from '../state/desired/schema.js';
import { HostFiles } from '../state/records/host-files.js';
import { RestartRequests } from '../state/records/restart-requests.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';
import type { VerbIo } from './verbs.js';

/** What a verb acts on: a program, or one instance of it (`restart web:1`), or a name that matched nothing. */
export interface Target {
  name: string;
  program: string;
  /** Set for `restart web:1`. */
  instance: string | null;
  error: string | null;
}

type Outcome = { exit: number } | { targets: Target[]; instanceRestarts: Map<string, number> };

/**
 * The verbs on a file that git owns never edit it (the next pull would fail, and the host
 * would stop following the repository). `restart` is a one-off request kept in the state
 * directory; `stop` and `start` say what to change in the repository, or with `--local`
 * set a local override that lasts until lifted or until a commit changes the program.
 * Null when the file is not git-managed.
 */
export function gitVerb(globals: GlobalOptions, verb: 'start' | 'stop' | 'restart', targets: Target[], desired: DesiredState, text: string, local: boolean, io: VerbIo): Outcome | null {
  const managed = gitManaged(globals.file, globals.stateDir);
  if (!managed) return null;
  const ok = targets.filter((t) => !t.error);
  const host = new HostFiles(globals.stateDir);
  const overrides = host.overrides();
  if (verb === 'restart') {
    const instances: string[] = [];
    for (const t of ok) {
      const spec = desired.programs.get(t.program)!;
      const state = overrides.get(t.program)?.state ?? spec.state;
      if (state !== 'running') t.error = `${t.program} is stopped; start it first`;
      else instances.push(...(t.instance ? [t.instance] : Array.from({ length: spec.replicas }, (_, i) => instanceName(t.program, i))));
    }
    return { targets, instanceRestarts: instances.length > 0 ? new RestartRequests(globals.stateDir).bump(instances) : new Map() };
  }
  const want = verb === 'stop' ? 'stopped' : 'running';
  if (!local) {
    io.err(refusal(managed, verb, want, ok.map((t) => t.program), text));
    return { exit: EXIT.READ_ONLY };
  }
  for (const t of ok) {
    const spec = desired.programs.get(t.program)!;
    // The file's own state wins again when the override would only repeat it.
    if (spec.state === want) overrides.delete(t.program);
    else overrides.set(t.program, { state: want, fingerprint: fingerprint(spec), at: new Date().toISOString() });
  }
  host.writeOverrides(overrides);
  return { targets, instanceRestarts: new Map() };
}

function refusal(managed: ManagedBy, verb: string, want: string, programs: string[], text: string): string {
  const where = managed.kind === 'sync' ? `${managed.url} (ref ${managed.ref}), pulled by tend reconcile --git` : `a clone of ${managed.url} (branch ${managed.ref})`;
  return (
    `tend: ${managed.path} is managed by git: ${where}. tend does not edit it: the next pull would fail and this host would stop following the repository.\n` +
    `To ${verb} ${programs.join(' ')} everywhere, change it in the repository and push:\n` +
    programs.map((p) => `  ${managed.path}:${fieldLine(text, p, 'state')}: programs.${p}.state: ${want}\n`).join('') +
    `To ${verb} ${programs.length === 1 ? 'it' : 'them'} on this host only, until a commit changes ${programs.length === 1 ? 'that program' : 'those programs'}: tend ${verb} ${programs.join(' ')} --local\n`
  );
}
