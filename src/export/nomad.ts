import { formatDuration } from '../state/desired/duration.js';
import { which } from '../state/desired/load.js';
import { instanceProcess, type DesiredState, type ProgramSpec } from '../state/desired/schema.js';
import { dnsName, NOTE } from './names.js';

const NS = 1_000_000;

/**
 * A Nomad job in the JSON job specification of its HTTP API (`nomad job run -json`, or
 * `POST /v1/jobs`): one task group per program, running it with the raw_exec driver. JSON
 * has no comments: what has no equivalent is said in each group's Meta (`tend_note_*`).
 */
export function nomadJob(desired: DesiredState, source: string, jobName = 'tend'): { Job: Record<string, unknown> } {
  return {
    Job: {
      ID: jobName,
      Name: jobName,
      Type: 'service',
      Datacenters: ['*'],
      Meta: { tend_source: source },
      TaskGroups: [...desired.programs.values()].map(group),
    },
  };
}

function group(p: ProgramSpec): Record<string, unknown> {
  const proc = instanceProcess(p, 0);
  const notes: Record<string, string> = {};
  const note = (key: string, text: string) => (notes[`tend_note_${key}`] = text);
  const exe = which(proc.command[0]!, proc.cwd, proc.env.PATH) ?? proc.command[0]!;
  const task: Record<string, unknown> = {
    Name: dnsName(p.name),
    Driver: 'raw_exec',
    Config: { command: exe, args: proc.command.slice(1) },
    Env: { ...proc.env, ...(p.templated ? { TEND_REPLICA: '${NOMAD_ALLOC_INDEX}' } : {}) },
    KillSignal: p.stop.signal,
    KillTimeout: p.stop.timeout * NS,
    LogConfig: { MaxFiles: Math.max(1, p.logs.keep), MaxFileSizeMB: Math.max(1, Math.ceil(p.logs.maxSize / 2 ** 20)) },
  };
  if (proc.user) task.User = proc.user;
  note('cwd', `cwd ${proc.cwd}: raw_exec runs in the allocation's task directory; change directory in the command if the program needs it`);
  if (p.templated) note('replica', '{replica} placeholders were filled for replica 0; ${NOMAD_ALLOC_INDEX} is each allocation\'s index');
  if (p.limits?.memory) {
    task.Resources = { MemoryMB: Math.ceil(p.limits.memory / 2 ** 20) };
    note('memory', `limits.memory: Nomad's MemoryMB is a hard limit (OOM kill); tend restarts gracefully after ${p.limits.samples} samples over`);
  }
  if (p.limits?.openFiles) note('open_files', 'limits.openFiles: no equivalent');
  if (p.limits?.closeWait) note('close_wait', NOTE.closeWait);
  const out: Record<string, unknown> = {
    Name: dnsName(p.name),
    Count: p.state === 'stopped' ? 0 : p.replicas,
    RestartPolicy: { Attempts: p.restart.maxRetries, Interval: Math.max(5 * 60_000, (p.restart.maxRetries + 1) * (p.restart.backoff.max + p.restart.startSeconds)) * NS, Delay: p.restart.backoff.initial * NS, Mode: 'fail' },
    Tasks: [task],
  };
  note('backoff', NOTE.backoff);
  if (p.restart.policy !== 'always') note('policy', `restart.policy ${p.restart.policy}: a service job always restarts (a batch job runs to completion)`);
  const health = p.health;
  if (health && health.probe.kind !== 'exec') {
    const port = health.probe.kind === 'tcp' ? health.probe.port : Number(new URL(health.probe.url).port || 80);
    out.Networks = [{ ReservedPorts: [{ Label: 'probe', Value: port }] }];
    const check: Record<string, unknown> = { Name: `${dnsName(p.name)}-health`, Type: health.probe.kind, PortLabel: 'probe', Interval: health.interval * NS, Timeout: health.timeout * NS };
    if (health.probe.kind === 'http') check.Path = new URL(health.probe.url).pathname;
    out.Services = [{ Name: dnsName(p.name), Provider: 'nomad', PortLabel: 'probe', Checks: [check] }];
    note('health', `health: a Nomad check marks the service unhealthy; tend restarts after ${health.failures} failures in a row (check_restart is Consul's)`);
  } else if (health) note('health', `${NOTE.health} (script checks need Consul)`);
  if (p.restart.schedule) note('schedule', `restart.schedule '${p.restart.schedule}': no equivalent; a periodic batch job running 'nomad alloc restart' does it`);
  if (p.restart.maxUptime) note('max_uptime', `restart.maxUptime ${formatDuration(p.restart.maxUptime)}: no equivalent`);
  if ((p.dependsOn ?? []).length > 0) note('depends_on', 'dependsOn: task groups start together; a prestart lifecycle task that waits is the usual way');
  if (p.shutdownOn) note('shutdown_on', NOTE.shutdownOn);
  note('start_seconds', NOTE.startSeconds);
  out.Meta = notes;
  return out;
}
