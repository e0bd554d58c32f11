import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { importPm2 } from '../../src/cli/import/pm2.js';
import { validateState } from '../../src/state/desired/validate.js';
import { instanceProcess } from '../../src/state/desired/schema.js';
import { CLI } from '../helpers/project.js';

const dir = fileURLToPath(new URL('./fixtures/pm2/', import.meta.url));
const load = (name: string, env: string | null = null) => {
  const { yaml, warnings } = importPm2(path.join(dir, name), env);
  const v = validateState(yaml, { file: path.join(dir, 'state.yaml'), stateDir: path.join(dir, '.tend') });
  if (!v.ok) throw new Error(`does not validate: ${JSON.stringify(v.problems)}\n${yaml}`);
  return { programs: v.desired.programs, yaml, warnings };
};

t.test('an ecosystem.config.js, with pm2\'s defaults and --env production', async (t) => {
  const { programs, yaml, warnings } = load('ecosystem.config.js', 'production');
  const api = programs.get('api')!;
  t.same(instanceProcess(api, 1).command, ['node', '--max-old-space-size=256', './server.js', '--port', '3000'], 'node_args before the script, args after');
  t.equal(api.process.cwd, dir.replace(/\/$/, ''));
  t.same(api.process.env, { NODE_ENV: 'production', PORT: '3000' }, 'env_production over env');
  t.equal(api.replicas, 2);
  t.same([api.stop.signal, api.stop.timeout], ['SIGINT', 1600], 'pm2 stops with SIGINT and kills after 1.6 s');
  t.same([api.restart.policy, api.restart.maxRetries, api.restart.startSeconds, api.restart.backoff.initial], ['always', 16, 1000, 0], 'pm2: 16 restarts, min_uptime 1 s, no delay');
  t.equal(api.limits!.memory, 2 ** 30, '1G is 1 GiB');
  t.equal(api.logs.stdout, path.join(dir, 'logs/api-out-{replica}.log'), 'one log per instance, as pm2 without merge_logs');
  t.match(yaml, /exec_mode: cluster shares one listening port/);
  t.match(warnings.join('\n'), /watch not carried over/);
  const worker = programs.get('worker')!;
  t.same(worker.process.command, ['python3', 'worker.py'], 'the interpreter from the extension');
  t.equal(worker.process.env.PYTHONUNBUFFERED, '1');
  t.same([worker.restart.policy, worker.restart.exitCodes], ['on-failure', [0]], 'stop_exit_codes: do not restart on these');
  t.same(worker.restart.backoff, { initial: 100, max: 15_000, resetAfter: 30_000 }, 'exp_backoff_restart_delay grows to 15 s, resets after 30 s up');
  t.equal(worker.restart.schedule, '0 3 * * *');
  t.equal(worker.stop.timeout, 5000);
  t.equal(worker.logs.stdout, '/var/log/worker.log', 'merge_logs: one file');
});

t.test('JSON with comments and YAML ecosystem files', async (t) => {
  const s = load('ecosystem.json').programs.get('static')!;
  t.same(s.process.command, ['http-server', '-p', '8080'], 'interpreter none: the script runs itself');
  t.same([s.restart.policy, s.restart.maxRetries, s.restart.startSeconds, s.restart.backoff.initial, s.restart.backoff.max], ['never', 3, 5000, 2000, 2000]);
  const q = load('ecosystem.yaml');
  t.same(q.programs.get('queue')!.process.command, ['bash', './queue.sh']);
  t.equal(q.programs.get('queue')!.limits!.memory, 300 * 2 ** 20, '300M is 300 MiB');
  t.match(q.warnings.join('\n'), /wait_ready not carried over: .*healthy/);
});

t.test('a config pm2 would refuse, or one that never returns, is refused with FILE:LINE within the timeout', async (t) => {
  const broken = spawnSync(process.execPath, [CLI, 'import', 'pm2', path.join(dir, 'broken.config.js')], { encoding: 'utf8' });
  t.equal(broken.status, 2);
  t.match(broken.stderr, /broken\.config\.js:1: pm2 would refuse it too: ReferenceError: missingVariable is not defined/);
  const t0 = Date.now();
  const loops = spawnSync(process.execPath, [CLI, 'import', 'pm2', path.join(dir, 'loops.config.js')], { encoding: 'utf8' });
  t.equal(loops.status, 2);
  t.match(loops.stderr, /loops\.config\.js:0: evaluating it took over 5 s/);
  t.ok(Date.now() - t0 < 9000, 'within the timeout');
});
