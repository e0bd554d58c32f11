import type { ProcessSpec } from './schema.js';

/**
 * `{program}`, `{replica}` and `{replica:02}` (zero-padded to 2 digits) in a command, its
 * arguments, environment values, cwd and log paths, filled per instance: what Supervisor
 * writes `%(program_name)s` and `%(process_num)02d`. Other braces are left as they are (an
 * awk script's `{print $1}` needs no escaping); `{{replica}}` is the literal `{replica}`.
 */
const PLACEHOLDER = /\{(\{?)(program|replica)(?::(0\d+))?\}(\}?)/g;

export function fillPlaceholders(text: string, program: string, replica: number): string {
  if (!text.includes('{')) return text;
  return text.replace(PLACEHOLDER, (match, open: string, name: string, width: string | undefined, close: string) => {
    if (open && close) return match.slice(1, -1);
    const value = name === 'program' ? program : width ? String(replica).padStart(Number(width), '0') : String(replica);
    return `${open}${value}${close}`;
  });
}

export function hasPlaceholders(spec: ProcessSpec): boolean {
  const test = (s: string) => s.includes('{') && new RegExp(PLACEHOLDER.source).test(s);
  return spec.command.some(test) || Object.values(spec.env).some(test) || test(spec.cwd);
}

/** The process of one instance: the program's, with its placeholders filled. */
export function fillProcess(spec: ProcessSpec, program: string, replica: number): ProcessSpec {
  const fill = (s: string) => fillPlaceholders(s, program, replica);
  return {
    command: spec.command.map(fill),
    env: Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, fill(v)])),
    cwd: fill(spec.cwd),
    user: spec.user,
  };
}
