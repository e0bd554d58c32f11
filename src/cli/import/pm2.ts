import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import type { Imported } from './supervisord.js';

/** How long the user's ecosystem.config.js may run in its own `node` before it is refused. */
export const PM2_EVAL_TIMEOUT_MS = 5000;

type App = Record<string, unknown>;

/** pm2 picks the interpreter from the script's extension (its own table). */
const INTERPRETERS: Record<string, string> = { '.js': 'node', '.cjs': 'node', '.mjs': 'node', '.py': 'python3', '.rb': 'ruby', '.php': 'php', '.sh': 'bash', '.bash': 'bash', '.pl': 'perl', '.coffee': 'coffee', '.ts': 'ts-node', '.ls': 'lsc' };

/** Options pm2 has and tend has not, each with why. */
const LEFT_OUT: Record<string, string> = {
  watch: 'tend does not restart on file changes (a `generation` bump after a deploy does the same on purpose)',
  ignore_watch: 'goes with watch',
  watch_options: 'goes with watch',
  wait_ready: "tend has no process.send('ready'); give the program a health probe and make its dependents wait for `healthy`",
  listen_timeout: 'goes with wait_ready',
  shutdown_with_message: 'tend stops with a signal only',
  log_date_format: 'tend writes program output as it comes; the program can print its own timestamps',
  vizion: 'pm2 metadata',
  post_update: 'pm2 deploy',
  source_map_support: 'a node flag: add --enable-source-maps to node_args',
  increment_var: 'tend sets TEND_REPLICA in every instance',
  instance_var: 'tend sets TEND_REPLICA in every instance',
  combine_logs: 'see merge_logs',
  time: 'tend writes program output as it comes',
  force: 'pm2 CLI behaviour',
  namespace: 'use group:',
  treekill: 'tend always stops the whole process group',
};

/** pm2's sizes are binary: `1G` is 1 GiB. */
function pm2Size(v: unknown): string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG])?B?\s*$/i.exec(String(v));
  if (!m) throw new Error(`not a size: ${String(v)}`);
  return `${m[1]}${m[2] ? `${m[2].toUpperCase()}i` : ''}`;
}

function ms(v: unknown): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(String(v));
  if (!m) throw new Error(`not a duration: ${String(v)}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!;
}

/** The apps of an ecosystem file: JSON (with comments), YAML, or JS evaluated in a child `node`. */
export function loadEcosystem(file: string): App[] {
  const ext = path.extname(file).toLowerCase();
  let config: unknown;
  if (ext === '.js' || ext === '.cjs' || ext === '.mjs') {
    // As pm2 loads it: require() (CommonJS), or import() where the file is an ES module.
    const target = JSON.stringify(path.resolve(file));
    const loader = `const out = (c) => process.stdout.write(JSON.stringify(c)); const fail = (e) => { process.stderr.write(String((e && e.stack) || e)); process.exit(3); };
      try { out(require(${target})); } catch (e) { if (e && e.code === 'ERR_REQUIRE_ESM') import(require('url').pathToFileURL(${target})).then((m) => out(m.default ?? m), fail); else fail(e); }`;
    // A plain node (no inherited NODE_OPTIONS hooks), killed outright at the deadline: a busy loop runs no handler.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, ['-e', loader], { encoding: 'utf8', timeout: PM2_EVAL_TIMEOUT_MS, killSignal: 'SIGKILL', env, cwd: path.dirname(path.resolve(file)) });
    if (r.error || r.signal) throw new Error(`${file}:0: evaluating it took over ${PM2_EVAL_TIMEOUT_MS / 1000} s (an endless loop?); refused`);
    if (r.status !== 0) {
      const at = new RegExp(`${path.basename(file).replace(/\./g, '\\.')}:(\\d+)`).exec(r.stderr);
      throw new Error(`${file}:${at?.[1] ?? 0}: pm2 would refuse it too: ${r.stderr.split('\n').find((l) => /Error/.test(l))?.trim() ?? r.stderr.trim()}`);
    }
    config = JSON.parse(r.stdout);
  } else {
    const text = readFileSync(file, 'utf8');
    // YAML reads JSON, and JSON with comments too (as pm2's own JSON5-ish reader does).
    config = parseYaml(text.replace(/^\s*\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, ''));
  }
  const apps = (config as { apps?: unknown }).apps ?? config;
  return (Array.isArray(apps) ? apps : [apps]) as App[];
}

/**
 * `tend import pm2 FILE [--env NAME]`: a state.yaml that runs each app as pm2 would, pm2's
 * defaults included (SIGINT and 1.6 s to stop, 16 restarts, no restart delay).
 */
export function importPm2(file: string, envName: string | null): Imported {
  const apps = loadEcosystem(file);
  const warnings: string[] = [];
  const comments: string[] = [];
  const programs: Record<string, unknown> = {};
  const base = path.dirname(path.resolve(file));
  apps.forEach((app, i) => {
    const name = String(app.name ?? path.basename(String(app.script ?? `app${i}`), path.extname(String(app.script ?? ''))));
    const note = (what: string) => comments.push(`${name}: ${what}`);
    const left = (key: string, why: string) => warnings.push(`${file}:0: apps[${i}] (${name}): ${key} not carried over: ${why}`);
    const script = String(app.script ?? '');
    const cwd = app.cwd ? path.resolve(base, String(app.cwd)) : base;
    const args = Array.isArray(app.args) ? app.args.map(String) : app.args ? String(app.args).split(/\s+/).filter(Boolean) : [];
    const interpreter = app.interpreter && app.interpreter !== 'none' ? String(app.interpreter) : app.interpreter === 'none' ? null : (INTERPRETERS[path.extname(script)] ?? null);
    const interpreterArgs = [app.interpreter_args, app.node_args].flatMap((a) => (Array.isArray(a) ? a.map(String) : a ? String(a).split(/\s+/).filter(Boolean) : []));
    const command = interpreter ? [interpreter, ...interpreterArgs, script, ...args] : [script, ...args];
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries((app.env as App) ?? {})) env[k] = String(v);
    if (envName !== null) for (const [k, v] of Object.entries((app[`env_${envName}`] as App) ?? {})) env[k] = String(v);
    if (interpreter?.startsWith('python')) env.PYTHONUNBUFFERED ??= '1';
    const spec: Record<string, unknown> = { command, cwd };
    if (Object.keys(env).length > 0) spec.env = env;
    const instances = app.instances ?? 1;
    const replicas = instances === 'max' || instances === 0 || instances === -1 || Number(instances) <= 0 ? Math.max(1, os.cpus().length + (Number(instances) < 0 ? Number(instances) : 0)) : Number(instances);
    if (instances === 'max' || Number(instances) <= 0) note(`instances: ${String(instances)} was resolved on this machine to ${replicas} (its CPU count)`);
    if (replicas !== 1) spec.replicas = replicas;
    if (app.exec_mode === 'cluster' || String(app.exec_mode ?? '').includes('cluster')) {
      note('exec_mode: cluster shares one listening port among workers; tend replicas are separate processes that would each bind it: use {replica} or TEND_REPLICA to give each its own port');
    }
    const restart: Record<string, unknown> = {};
    const stopCodes = app.stop_exit_codes === undefined ? null : ([] as unknown[]).concat(app.stop_exit_codes).map(Number);
    restart.policy = app.autorestart === false ? 'never' : stopCodes ? 'on-failure' : 'always';
    if (stopCodes) restart.exitCodes = stopCodes;
    restart.startSeconds = `${ms(app.min_uptime ?? 1000)}ms`;
    restart.maxRetries = Number(app.max_restarts ?? 16);
    if (app.exp_backoff_restart_delay !== undefined) {
      restart.backoff = { initial: `${ms(app.exp_backoff_restart_delay)}ms`, max: '15s', resetAfter: '30s' };
    } else {
      const delay = ms(app.restart_delay ?? 0);
      restart.backoff = { initial: `${delay}ms`, max: `${delay}ms` };
      if (delay > 0) note(`restart_delay: ${delay} ms before each restart; tend restarts the first crash after a stable run at once`);
    }
    if (app.cron_restart) restart.schedule = String(app.cron_restart);
    spec.restart = restart;
    spec.stop = { signal: 'INT', timeout: `${ms(app.kill_timeout ?? 1600)}ms` };
    if (app.max_memory_restart !== undefined) {
      spec.limits = { memory: pm2Size(app.max_memory_restart) };
      note('max_memory_restart: tend measures the whole process tree (PSS) and restarts after 3 samples over the limit');
    }
    const logs: Record<string, unknown> = {};
    const merged = app.merge_logs === true || app.combine_logs === true;
    // pm2 writes one file per instance (NAME-ID.log) unless merge_logs.
    const perInstance = (p: string) => (merged || replicas === 1 ? p : p.replace(/(\.[^./]+)?$/, '-{replica}$1'));
    if (app.out_file) logs.stdout = app.out_file === '/dev/null' ? '/dev/null' : perInstance(path.resolve(cwd, String(app.out_file)));
    if (app.error_file) logs.stderr = app.error_file === '/dev/null' ? '/dev/null' : perInstance(path.resolve(cwd, String(app.error_file)));
    if (Object.keys(logs).length > 0) spec.logs = logs;
    for (const key of Object.keys(app)) if (LEFT_OUT[key]) left(key, LEFT_OUT[key]!);
    programs[name.replace(/[^A-Za-z0-9_.-]/g, '-')] = spec;
  });
  const header = [
    `# Imported by \`tend import pm2\` from ${path.resolve(file)}${envName ? ` (--env ${envName})` : ''}`,
    "# pm2's defaults are written out: SIGINT and kill_timeout 1.6 s to stop, max_restarts 16 early",
    '# exits (min_uptime 1 s), and no delay between restarts.',
    ...comments.map((c) => `# ${c}`),
    ...warnings.map((w) => `# not carried over: ${w}`),
  ];
  return { yaml: `${header.join('\n')}\n${stringify({ programs }, { lineWidth: 0 })}`, warnings };
}
