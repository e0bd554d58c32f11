import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { readSupervisorConf, type IniSection, type IniValue } from './ini.js';
import { keyValuePairs, pyFormat, shlexSplit, type Expansion } from './python-text.js';

export interface Imported {
  /** state.yaml text, with comments beside what changed meaning or was left out. */
  yaml: string;
  /** `FILE:LINE: what` for everything not carried over as it was. */
  warnings: string[];
}

const NOT_IMPORTED: Record<string, string> = {
  'unix_http_server': 'tend has no XML-RPC server: its control socket is in the state directory, mode 0600',
  'inet_http_server': 'tend serves no HTTP control interface',
  supervisorctl: 'tend is its own CLI: tend status, start, stop, restart, logs',
  'fcgi-program': 'tend does not open listening sockets for programs; run the FastCGI server itself with its own socket',
  rpcinterface: 'tend has no XML-RPC interface to extend',
  ctlplugin: 'tend has no supervisorctl plugins',
};

const bool = (v: string) => ['true', 'yes', 'on', '1'].includes(v.trim().toLowerCase());

/** supervisord's byte_size: KB/MB/GB are powers of 1024. Written with tend's binary units, never MB. */
function size(v: string): string {
  const m = /^\s*(\d+)\s*(kb|mb|gb)?\s*$/i.exec(v);
  if (!m) throw new Error(`not a size: ${v}`);
  const unit = { kb: 'Ki', mb: 'Mi', gb: 'Gi' }[m[2]?.toLowerCase() as 'kb'] ?? '';
  return `${m[1]}${unit}`;
}

/**
 * `tend import supervisord FILE`: a state.yaml that means what supervisord makes of the
 * file, program by program (its defaults included, which differ from tend's).
 */
export function importSupervisord(file: string): Imported {
  const sections = readSupervisorConf(file);
  const warnings: string[] = [];
  const warn = (at: { file: string; line: number }, what: string) => warnings.push(`${at.file}:${at.line}: ${what}`);
  const main = sections.find((s) => s.name === 'supervisord');
  const env = Object.fromEntries(Object.entries(process.env).map(([k, v]) => [`ENV_${k}`, v ?? '']));
  const globalEnv = main?.values.get('environment') ? keyValuePairs(pyFormat(main.values.get('environment')!.value, env)) : {};
  const globalUser = main?.values.get('user')?.value ?? null;
  const groups = new Map<string, string>();
  for (const s of sections.filter((x) => x.name.startsWith('group:'))) {
    for (const p of (s.values.get('programs')?.value ?? '').split(',').map((x) => x.trim()).filter(Boolean)) groups.set(p, s.name.slice(6));
  }
  const programs: Record<string, unknown> = {};
  const notes: string[] = [];
  const priorities: { name: string; priority: number }[] = [];
  for (const s of sections) {
    const kind = s.name.split(':')[0]!;
    if (kind === 'program') {
      const name = s.name.slice(8);
      const { spec, priority, comments } = programFrom(s, name, groups.get(name) ?? name, globalEnv, globalUser, env, (at, w) => warn(at, `[${s.name}] ${w}`));
      programs[name] = spec;
      priorities.push({ name, priority });
      notes.push(...comments.map((c) => `${name}: ${c}`));
      if (groups.has(name)) (spec as { group?: string }).group = groups.get(name)!;
    } else if (kind === 'eventlistener') {
      const events = s.values.get('events')?.value ?? '';
      const fatal = /PROCESS_STATE_(FATAL|EXITED)/.test(events);
      warn(s, `[${s.name}] not imported: tend has no event listeners${fatal ? "; if it stops supervisord when a program fails, give those programs `shutdownOn: fatal` (tend then stops everything and exits 6)" : '; tend events -f --json streams the same events'}`);
    } else if (NOT_IMPORTED[kind]) {
      warn(s, `[${s.name}] not imported: ${NOT_IMPORTED[kind]}`);
    } else if (kind === 'supervisord') {
      for (const [key, why] of [['minfds', 'tend does not raise the open-file limit: set LimitNOFILE= in its systemd unit'], ['childlogdir', 'tend keeps AUTO logs in .tend/logs beside state.yaml'], ['logfile', "tend logs to its stderr (journald, or docker's log)"], ['nodaemon', 'tend reconcile always runs in the foreground'], ['minprocs', 'tend does not raise the process limit']] as const) {
        const v = s.values.get(key);
        if (v) warn(v, `[supervisord] ${key}=${v.value} not carried over: ${why}`);
      }
    }
  }
  // supervisord starts lower priorities first and never waits; `started` keeps that order.
  const levels = [...new Set(priorities.map((p) => p.priority))].sort((a, b) => a - b);
  for (const p of priorities) {
    const below = levels.filter((l) => l < p.priority).at(-1);
    if (below === undefined) continue;
    const deps = priorities.filter((q) => q.priority === below).map((q) => q.name);
    (programs[p.name] as Record<string, unknown>).dependsOn = Object.fromEntries(deps.map((d) => [d, { condition: 'started' }]));
  }
  const header = [
    `# Imported by \`tend import supervisord\` from ${path.resolve(file)}`,
    '# supervisord\'s defaults are written out where they differ from tend\'s (autorestart=unexpected',
    '# is restart.policy: on-failure; stopasgroup/killasgroup are always on in tend).',
    ...(levels.length > 1 ? ["# priority= became dependsOn (condition: started): supervisord only orders the starts; tend can also wait for", '# `running` or `healthy`: change the condition where a program needs its dependency up.'] : []),
    ...notes.map((n) => `# ${n}`),
    ...warnings.map((w) => `# not carried over: ${w}`),
  ];
  return { yaml: `${header.join('\n')}\n${stringify({ programs }, { lineWidth: 0 })}`, warnings };
}

function programFrom(
  s: IniSection,
  name: string,
  groupName: string,
  globalEnv: Record<string, string>,
  globalUser: string | null,
  osEnv: Record<string, string>,
  warn: (at: IniValue | IniSection, what: string) => void,
): { spec: Record<string, unknown>; priority: number; comments: string[] } {
  const v = (key: string) => s.values.get(key);
  const comments: string[] = [];
  const numprocs = Number(v('numprocs')?.value ?? 1);
  const start = Number(v('numprocs_start')?.value ?? 0);
  // %(process_num) becomes tend's {replica}, which counts from 0; a numprocs_start is an offset tend cannot add.
  const replica: Expansion = {
    placeholder: ({ flags, width }) => {
      if (start !== 0) comments.push(`numprocs_start=${start}: tend numbers replicas from 0, so {replica} is ${start} less than %(process_num)`);
      return width && flags.includes('0') ? `{replica:0${Number(width)}}` : '{replica}';
    },
  };
  const expansions: Record<string, Expansion> = { ...osEnv, here: path.dirname(path.resolve(s.file)), program_name: name, group_name: groupName, host_node_name: os.hostname(), process_num: replica, numprocs };
  const get = (key: string, fallback: string) => pyFormat(v(key)?.value ?? fallback, expansions);
  const spec: Record<string, unknown> = {};

  const envText = v('environment')?.value;
  const env = { ...globalEnv, ...(envText ? keyValuePairs(pyFormat(envText, expansions)) : {}) };
  for (const [k, val] of Object.entries(env)) expansions[`ENV_${k}`] = val;

  const command = v('command');
  if (!command) throw new Error(`${s.file}:${s.line}: [${s.name}] has no command (supervisord refuses it too)`);
  spec.command = shlexSplit(pyFormat(command.value, expansions));
  if (numprocs !== 1) spec.replicas = numprocs;
  spec.cwd = v('directory') ? get('directory', '') : '/';
  if (!v('directory')) comments.push('no directory=: supervisord runs it in its own working directory (/ as a service), written as cwd: /');
  const user = v('user') ? get('user', '') : globalUser;
  if (user) spec.user = user;
  if (Object.keys(env).length > 0) spec.env = env;
  if (!bool(get('autostart', 'true'))) spec.state = 'stopped';

  const policy = { true: 'always', unexpected: 'on-failure', false: 'never' }[get('autorestart', 'unexpected').toLowerCase()] ?? 'on-failure';
  const restart: Record<string, unknown> = { policy };
  const codes = get('exitcodes', '0').split(',').map((c) => Number(c.trim()));
  if (codes.join(',') !== '0') restart.exitCodes = codes;
  restart.startSeconds = `${get('startsecs', '1')}s`;
  restart.maxRetries = Number(get('startretries', '3'));
  spec.restart = restart;
  spec.stop = { signal: get('stopsignal', 'TERM').toUpperCase().replace(/^SIG/, ''), timeout: `${get('stopwaitsecs', '10')}s` };
  if (v('killasgroup') && !bool(get('killasgroup', 'false'))) comments.push('killasgroup=false: tend always signals the whole process group');

  const logs: Record<string, unknown> = {};
  const target = (key: string): string | null => {
    const raw = v(key)?.value;
    if (raw === undefined || raw.toLowerCase() === 'auto') return null;
    if (['none', 'off'].includes(raw.toLowerCase())) return '/dev/null';
    return pyFormat(raw, expansions);
  };
  const out = target('stdout_logfile');
  if (out) logs.stdout = ['/dev/stdout', '/dev/fd/1'].includes(out) ? 'inherit' : out;
  if (bool(get('redirect_stderr', 'false'))) logs.stderr = 'stdout';
  else {
    const err = target('stderr_logfile');
    if (err) logs.stderr = ['/dev/stderr', '/dev/fd/2'].includes(err) ? 'inherit' : ['/dev/stdout', '/dev/fd/1'].includes(err) ? '/dev/stdout' : err;
  }
  logs.maxSize = size(get('stdout_logfile_maxbytes', '50MB'));
  logs.keep = Number(get('stdout_logfile_backups', '10'));
  if (v('stderr_logfile_maxbytes') && size(get('stderr_logfile_maxbytes', '50MB')) !== logs.maxSize) comments.push('stderr_logfile_maxbytes differs from stdout\'s: tend has one maxSize per program (stdout\'s is used)');
  spec.logs = logs;
  for (const key of ['umask', 'serverurl', 'stdout_capture_maxbytes', 'stderr_capture_maxbytes', 'stdout_events_enabled', 'stderr_events_enabled', 'stdout_syslog', 'stderr_syslog']) {
    const val = v(key);
    if (val) warn(val, `${key}=${val.value} not carried over: tend has no equivalent`);
  }
  return { spec, priority: Number(get('priority', '999')), comments };
}
