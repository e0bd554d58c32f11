import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { CronJob } from 'kubernetes-models/batch/v1';
import { Project } from '../helpers/project.js';

/** Every kind of setting the exports must carry or comment on. */
const STATE = `programs:
  db:
    command: [sleep, '1000']
    restart: { policy: on-failure, exitCodes: [0, 3], maxRetries: 5 }
    limits: { memory: 256Mi, openFiles: 1024, closeWait: 10 }
    health: { tcp: { port: 6379 } }
    stop: { signal: INT, timeout: 30s }
  web:
    command: [sh, -c, 'echo "100% $HOME" && exec sleep 1000']
    env: { GREETING: 'say "hi" 50%', PORT: '80{replica:02}' }
    replicas: 2
    user: www-data
    dependsOn: { db: { condition: running, restart: true } }
    restart: { schedule: '0 4 * * 1-5', timezone: Europe/Paris, maxUptime: 24h, jitter: 10m }
    health: { http: { url: 'http://127.0.0.1:8080/health?full=1' } }
    logs: { stdout: inherit }
  Batch_Job:
    command: ['true']
    restart: { policy: never, schedule: '*/30 * * * * *' }
    dependsOn: { db: healthy }
`;

t.test('tend export systemd: units that systemd-analyze verify accepts, every setting carried or commented', async (t) => {
  const p = new Project(t, STATE);
  const out = path.join(p.dir, 'units');
  const r = await p.run(['export', 'systemd', '-o', out]);
  t.equal(r.code, 0, r.stderr);
  const files = readdirSync(out).sort();
  t.same(files, ['Batch_Job-restart.service', 'Batch_Job-restart.timer', 'Batch_Job.service', 'db.service', 'web-0.service', 'web-1.service', 'web-restart.service', 'web-restart.timer', 'web.target']);
  const verify = spawnSync('systemd-analyze', ['verify', '--man=no', ...files.map((f) => path.join(out, f))], { encoding: 'utf8', env: { ...process.env, SYSTEMD_UNIT_PATH: `${out}:` } });
  t.equal(verify.stderr, '', 'systemd-analyze verify prints nothing');
  t.equal(verify.status, 0);
  const read = (f: string) => readFileSync(path.join(out, f), 'utf8');
  t.match(read('web-0.service'), /^ExecStart=\/\S+\/sh -c "echo \\"100%% \$\$HOME\\" && exec sleep 1000"$/m, 'quotes, % and $ escaped');
  t.match(read('web-0.service'), /^Environment="GREETING=say \\"hi\\" 50%%"$/m);
  t.match(read('web-0.service'), /^Environment="PORT=8000"$/m);
  t.match(read('web-1.service'), /^Environment="PORT=8001"$/m, '{replica:02} filled per replica');
  t.match(read('web-0.service'), /^User=www-data$/m);
  t.match(read('web-0.service'), /^After=db\.service$/m);
  t.match(read('web-0.service'), /^PartOf=db\.service$/m);
  t.match(read('web-0.service'), /^RuntimeMaxSec=86400s$/m);
  t.match(read('web-0.service'), /^RuntimeRandomizedExtraSec=600s$/m);
  t.notMatch(read('web-0.service'), /^StandardOutput=/m, 'inherit: the journal');
  t.match(read('db.service'), /^MemoryMax=268435456$/m);
  t.match(read('db.service'), /^# limits\.memory: MemoryMax= is a hard limit/m);
  t.match(read('db.service'), /^LimitNOFILE=1024$/m);
  t.match(read('db.service'), /^# limits\.closeWait: no equivalent/m);
  t.match(read('db.service'), /^# health: no equivalent here/m);
  t.match(read('db.service'), /^Restart=on-failure$/m);
  t.match(read('db.service'), /^SuccessExitStatus=0 3$/m);
  t.match(read('db.service'), /^KillSignal=SIGINT$/m);
  t.match(read('db.service'), /^TimeoutStopSec=30s$/m);
  t.match(read('web-restart.timer'), /^OnCalendar=Mon\.\.Fri \*-\*-\* 04:00:00 Europe\/Paris$/m, 'the cron schedule as a timer');
  t.match(read('Batch_Job-restart.timer'), /^OnCalendar=\*-\*-\* \*:\*:0\/30$/m);
  t.match(read('Batch_Job.service'), /^Restart=no$/m);
  t.match(read('Batch_Job.service'), /# dependsOn\.db: healthy: systemd orders by start/);
});

t.test('tend export kubernetes: objects that the Kubernetes schemas accept, with an image to fill in and notes', async (t) => {
  const p = new Project(t, STATE);
  const r = await p.run(['export', 'kubernetes']);
  t.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout);
  const objects = docs.map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, any> });
  t.same(objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Deployment/db', 'Deployment/web', 'CronJob/web-restart', 'Deployment/batch-job', 'CronJob/batch-job-restart']);
  for (const o of objects) {
    const model = o.kind === 'Deployment' ? new Deployment(o as never) : new CronJob(o as never);
    t.doesNotThrow(() => model.validate(), `${o.kind}/${o.metadata.name} validates against the official schema`);
  }
  const web = objects[1]!.spec;
  t.equal(web.replicas, 2);
  t.match(web.template.spec.containers[0], { image: /REPLACE-WITH-IMAGE/, livenessProbe: { httpGet: { path: '/health?full=1', port: 8080 } } });
  t.equal(objects[0]!.spec.template.spec.containers[0].resources.limits.memory, '268435456');
  t.equal(objects[0]!.spec.template.spec.terminationGracePeriodSeconds, 30);
  t.match(objects[2]!.spec, { schedule: '0 4 * * 1-5', timeZone: 'Europe/Paris' });
  t.match(r.stdout, /# image: Kubernetes runs containers/);
  t.match(r.stdout, /# limits\.memory: a Kubernetes memory limit is a hard OOM kill/);
  t.match(r.stdout, /# limits\.closeWait: no equivalent/);
  t.match(r.stdout, /# the program's name became 'batch-job'/);
  t.match(r.stdout, /# a 6-field cron \(with seconds\) is not accepted by Kubernetes/);
  // The check can fail: a Deployment without its selector is refused.
  t.throws(() => new Deployment({ ...objects[0], spec: { ...objects[0]!.spec, selector: undefined } } as never).validate());
});

/** The fields of Nomad's JSON job specification (api/jobs.go, api/tasks.go, api/services.go, api/resources.go) that the export may use. */
const NOMAD_FIELDS: Record<string, string[]> = {
  Job: ['ID', 'Name', 'Type', 'Datacenters', 'Meta', 'TaskGroups'],
  TaskGroup: ['Name', 'Count', 'RestartPolicy', 'Tasks', 'Networks', 'Services', 'Meta'],
  RestartPolicy: ['Attempts', 'Interval', 'Delay', 'Mode'],
  Task: ['Name', 'Driver', 'Config', 'Env', 'User', 'KillSignal', 'KillTimeout', 'LogConfig', 'Resources'],
  LogConfig: ['MaxFiles', 'MaxFileSizeMB'],
  Resources: ['MemoryMB'],
  NetworkResource: ['ReservedPorts'],
  Port: ['Label', 'Value'],
  Service: ['Name', 'Provider', 'PortLabel', 'Checks'],
  ServiceCheck: ['Name', 'Type', 'PortLabel', 'Interval', 'Timeout', 'Path'],
};

function checkNomad(kind: string, value: Record<string, unknown>, where: string, problems: string[]): void {
  for (const key of Object.keys(value)) if (!NOMAD_FIELDS[kind]!.includes(key)) problems.push(`${where}.${key}: not a field of ${kind}`);
  const each = (key: string, child: string) => ((value[key] as Record<string, unknown>[] | undefined) ?? []).forEach((v, i) => checkNomad(child, v, `${where}.${key}[${i}]`, problems));
  const one = (key: string, child: string) => value[key] !== undefined && checkNomad(child, value[key] as Record<string, unknown>, `${where}.${key}`, problems);
  if (kind === 'Job') each('TaskGroups', 'TaskGroup');
  if (kind === 'TaskGroup') (one('RestartPolicy', 'RestartPolicy'), each('Tasks', 'Task'), each('Networks', 'NetworkResource'), each('Services', 'Service'));
  if (kind === 'Task') (one('LogConfig', 'LogConfig'), one('Resources', 'Resources'));
  if (kind === 'NetworkResource') each('ReservedPorts', 'Port');
  if (kind === 'Service') each('Checks', 'ServiceCheck');
  for (const key of ['KillTimeout', 'Interval', 'Delay', 'Timeout']) if (key in value && !Number.isInteger(value[key])) problems.push(`${where}.${key}: a duration is whole nanoseconds`);
}

t.test('tend export nomad: a JSON job whose every field is one Nomad documents, notes in Meta', async (t) => {
  const p = new Project(t, STATE);
  const r = await p.run(['export', 'nomad']);
  t.equal(r.code, 0, r.stderr);
  const { Job } = JSON.parse(r.stdout) as { Job: Record<string, any> };
  const problems: string[] = [];
  checkNomad('Job', Job, 'Job', problems);
  t.same(problems, []);
  t.same(Job.TaskGroups.map((g: { Name: string; Count: number }) => `${g.Name}:${g.Count}`), ['db:1', 'web:2', 'batch-job:1']);
  const db = Job.TaskGroups[0];
  t.match(db.Tasks[0], { Driver: 'raw_exec', Config: { command: /^\/.*sleep$/, args: ['1000'] }, KillSignal: 'SIGINT', KillTimeout: 30e9, Resources: { MemoryMB: 256 } });
  t.match(db.Services[0].Checks[0], { Type: 'tcp', PortLabel: 'probe' });
  t.match(db.Meta, { tend_note_close_wait: /no equivalent/, tend_note_memory: /hard limit/ });
  t.match(Job.TaskGroups[1].Services[0].Checks[0], { Type: 'http', Path: '/health' });
  t.match(Job.TaskGroups[1].Meta, { tend_note_schedule: /no equivalent/ });
  // The check can fail.
  const bad: string[] = [];
  checkNomad('Job', { ...Job, Periodc: {} }, 'Job', bad);
  t.same(bad, ['Job.Periodc: not a field of Job']);
});
