import { Document, isMap, type YAMLMap } from 'yaml';
import { lookupUser } from '../state/desired/passwd.js';
import { instanceProcess, type DesiredState, type ProgramSpec } from '../state/desired/schema.js';
import { dnsName, NOTE } from './names.js';

/** One Kubernetes object with the notes that go above it. */
export interface Manifest {
  object: Record<string, unknown>;
  notes: string[];
}

/**
 * A Deployment per program (and a CronJob per schedule). Kubernetes runs images: each
 * container's `image` must be filled in. Settings with no equivalent are comments.
 */
export function kubernetesManifests(desired: DesiredState): Manifest[] {
  const out: Manifest[] = [];
  for (const p of desired.programs.values()) {
    out.push(deployment(p));
    if (p.restart.schedule) out.push(restartJob(p));
  }
  return out;
}

function deployment(p: ProgramSpec): Manifest {
  const name = dnsName(p.name);
  const proc = instanceProcess(p, 0);
  const notes = [`Exported by tend: program ${p.name}.`, `image: Kubernetes runs containers: build an image holding ${proc.command[0]} and set it below.`];
  if (name !== p.name) notes.push(`the program's name became '${name}' (Kubernetes names are lower case, digits and '-')`);
  if (p.templated) notes.push('{replica} placeholders: the pods of a Deployment are alike; they were filled for replica 0 (a StatefulSet gives each pod an index)');
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'tend-export' };
  const container: Record<string, unknown> = { name, image: `REPLACE-WITH-IMAGE/${name}:latest`, command: [proc.command[0]], args: proc.command.slice(1), workingDir: proc.cwd };
  const env = Object.entries(proc.env).map(([k, v]) => ({ name: k, value: v }));
  if (env.length > 0) container.env = env;
  if (p.limits?.memory) {
    container.resources = { limits: { memory: String(p.limits.memory) } };
    notes.push(`limits.memory: a Kubernetes memory limit is a hard OOM kill; tend restarts gracefully after ${p.limits.samples} samples over`);
  }
  if (p.limits?.openFiles) notes.push('limits.openFiles: no per-container equivalent (the runtime sets RLIMIT_NOFILE)');
  if (p.limits?.closeWait) notes.push(NOTE.closeWait);
  if (p.health) container.livenessProbe = probe(p);
  if (p.health?.probe.kind === 'http' && !container.livenessProbe) notes.push('health.http: the URL could not be turned into a httpGet probe');
  const uid = proc.user === null ? null : lookupUser(proc.user)?.uid ?? null;
  if (uid !== null) container.securityContext = { runAsUser: uid };
  else if (proc.user) notes.push(`user: '${proc.user}' is not on this host: set securityContext.runAsUser to its uid`);
  if (p.stop.signal !== 'SIGTERM') notes.push(`stop.signal ${p.stop.signal}: Kubernetes sends SIGTERM (STOPSIGNAL in the image changes it)`);
  if (p.restart.policy !== 'always') notes.push(`restart.policy ${p.restart.policy}: a Deployment always restarts its pods (a Job runs to completion)`);
  notes.push(NOTE.startSeconds.replace('a process counts as started at once', 'a readinessProbe or minReadySeconds is the nearest'));
  if (p.restart.maxUptime) notes.push('restart.maxUptime: no equivalent');
  if ((p.dependsOn ?? []).length > 0) notes.push('dependsOn: Kubernetes has no start order between Deployments (an initContainer that waits is the usual way)');
  if (p.shutdownOn) notes.push(NOTE.shutdownOn);
  notes.push('logs: Kubernetes keeps the containers\' stdout and stderr (kubectl logs); logs.* do not apply');
  const object = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas: p.state === 'stopped' ? 0 : p.replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: Math.ceil(p.stop.timeout / 1000), containers: [container] } },
    },
  };
  return { object, notes };
}

function probe(p: ProgramSpec): Record<string, unknown> | undefined {
  const h = p.health!;
  const timing = { periodSeconds: Math.max(1, Math.round(h.interval / 1000)), timeoutSeconds: Math.max(1, Math.round(h.timeout / 1000)), failureThreshold: h.failures, initialDelaySeconds: Math.round(h.initialDelay / 1000) };
  if (h.probe.kind === 'tcp') return { tcpSocket: { port: h.probe.port }, ...timing };
  if (h.probe.kind === 'exec') return { exec: { command: h.probe.command }, ...timing };
  try {
    const url = new URL(h.probe.url);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    return { httpGet: { path: `${url.pathname}${url.search}`, port, scheme: url.protocol === 'https:' ? 'HTTPS' : 'HTTP' }, ...timing };
  } catch {
    return undefined;
  }
}

function restartJob(p: ProgramSpec): Manifest {
  const name = dnsName(p.name);
  const notes = [`Exported by tend: restart.schedule of ${p.name}.`, 'It needs a ServiceAccount allowed to patch the Deployment (Role: apps/deployments, verbs get and patch).', 'kubectl rollout restart replaces the pods one at a time, as tend does.'];
  if (p.restart.schedule!.trim().split(/\s+/).length === 6) notes.push('a 6-field cron (with seconds) is not accepted by Kubernetes: write it with 5 fields');
  const spec: Record<string, unknown> = {
    schedule: p.restart.schedule,
    concurrencyPolicy: 'Forbid',
    jobTemplate: { spec: { template: { spec: { serviceAccountName: `${name}-restarter`, restartPolicy: 'Never', containers: [{ name: 'restart', image: 'bitnami/kubectl:latest', command: ['kubectl', 'rollout', 'restart', `deployment/${name}`] }] } } } },
  };
  if (p.restart.timezone) spec.timeZone = p.restart.timezone;
  return { object: { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: `${name}-restart` }, spec }, notes };
}

/** The manifests as one YAML stream, each with its notes as comments. */
export function renderManifests(manifests: Manifest[]): string {
  return manifests
    .map((m) => {
      const doc = new Document(m.object);
      doc.commentBefore = m.notes.map((n) => ` ${n}`).join('\n');
      if (isMap(doc.contents)) (doc.contents as YAMLMap).flow = false;
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}
