import { which } from '../state/desired/load.js';
import { INHERIT_STDERR, INHERIT_STDOUT, instanceName, instanceProcess, logPath, type DesiredState, type ProgramSpec } from '../state/desired/schema.js';
import { cronToCalendar } from './cron-calendar.js';
import { NOTE } from './names.js';

/**
 * systemd units for the programs of a desired state: `NAME.service` for one replica;
 * `NAME-0.service`... and a `NAME.target` that wants them all for several; a schedule is
 * a `NAME-restart.timer`. Every setting with no equivalent is a comment in the unit.
 */
export function systemdUnits(desired: DesiredState, source: string): Map<string, string> {
  const files = new Map<string, string>();
  const unitOf = (program: string) => {
    const p = desired.programs.get(program);
    return p && p.replicas > 1 ? `${program}.target` : `${program}.service`;
  };
  for (const p of desired.programs.values()) {
    const names = p.replicas === 1 ? [`${p.name}.service`] : Array.from({ length: p.replicas }, (_, i) => `${p.name}-${i}.service`);
    names.forEach((file, i) => files.set(file, service(p, i, source, unitOf)));
    if (p.replicas !== 1) files.set(`${p.name}.target`, `# Exported by tend from ${source}: the ${p.replicas} replicas of ${p.name}.\n[Unit]\nDescription=${p.name} (${p.replicas} replicas, exported from tend)\nWants=${names.join(' ')}\n\n[Install]\nWantedBy=multi-user.target\n`);
    if (p.restart.schedule) {
      const calendar = cronToCalendar(p.restart.schedule, p.restart.timezone);
      files.set(`${p.name}-restart.service`, `# Exported by tend from ${source}: the scheduled restart of ${p.name}.\n[Unit]\nDescription=Restart ${p.name} on its schedule\n\n[Service]\nType=oneshot\nExecStart=${which('systemctl', '/', undefined) ?? '/usr/bin/systemctl'} try-restart ${names.join(' ')}\n`);
      files.set(
        `${p.name}-restart.timer`,
        `# Exported by tend from ${source}: restart.schedule '${p.restart.schedule}'${p.restart.timezone ? ` (${p.restart.timezone})` : ''}.\n` +
          `# tend restarts replicas one at a time; this timer restarts them together.\n` +
          (calendar ? '' : `# The cron expression has no OnCalendar= form: write it by hand (man systemd.time).\n`) +
          `[Unit]\nDescription=Scheduled restart of ${p.name}\n\n[Timer]\n${calendar ? '' : '# '}OnCalendar=${calendar ?? p.restart.schedule}\n\n[Install]\nWantedBy=timers.target\n`,
      );
    }
  }
  return files;
}

function service(p: ProgramSpec, replica: number, source: string, unitOf: (program: string) => string): string {
  const proc = instanceProcess(p, replica);
  const notes: string[] = [];
  const unit: string[] = [`Description=${p.replicas > 1 ? instanceName(p.name, replica) : p.name} (exported from tend)`];
  const svc: string[] = ['Type=simple'];
  const exe = which(proc.command[0]!, proc.cwd, proc.env.PATH);
  if (!exe) notes.push(`command: '${proc.command[0]}' was not found on this host's PATH; systemd needs its absolute path`);
  svc.push(`ExecStart=${[exe ?? proc.command[0]!, ...proc.command.slice(1)].map(execWord).join(' ')}`);
  svc.push(`WorkingDirectory=${proc.cwd}`);
  for (const [k, v] of Object.entries(proc.env)) svc.push(`Environment=${quote(`${k}=${v}`)}`);
  if (proc.user) svc.push(`User=${proc.user}`);
  svc.push(`Restart=${{ always: 'always', 'on-failure': 'on-failure', never: 'no' }[p.restart.policy]}`);
  if (p.restart.exitCodes.some((c) => c !== 0)) svc.push(`SuccessExitStatus=${p.restart.exitCodes.join(' ')}`);
  svc.push(`RestartSec=${seconds(p.restart.backoff.initial)}`);
  notes.push(NOTE.backoff, NOTE.startSeconds);
  // tend gives up after maxRetries + 1 early exits in a row; systemd after a burst of starts in an interval.
  unit.push(`StartLimitBurst=${p.restart.maxRetries + 1}`, `StartLimitIntervalSec=${Math.max(10, Math.ceil(((p.restart.maxRetries + 1) * (p.restart.startSeconds + p.restart.backoff.max)) / 1000))}`);
  svc.push(`KillSignal=${p.stop.signal}`, `TimeoutStopSec=${seconds(p.stop.timeout)}`);
  const out = logPath(p.logs.stdout, p.name, replica);
  if (out !== INHERIT_STDOUT) svc.push(`StandardOutput=append:${out}`);
  if (p.logs.stderr === 'stdout') svc.push(out === INHERIT_STDOUT ? 'StandardError=inherit' : `StandardError=append:${out}`);
  else if (p.logs.stderr !== INHERIT_STDERR) svc.push(`StandardError=append:${logPath(p.logs.stderr, p.name, replica)}`);
  notes.push(`logs.maxSize, logs.keep: systemd does not rotate append: files; use logrotate (copytruncate), or drop StandardOutput= and let the journal keep them`);
  if (p.limits?.memory) {
    svc.push(`MemoryMax=${p.limits.memory}`);
    notes.push(`limits.memory: MemoryMax= is a hard limit: the kernel OOM-kills the service at this size. tend restarts it gracefully (stop signal, then stop timeout) after ${p.limits.samples} samples over`);
  }
  if (p.limits?.openFiles) {
    svc.push(`LimitNOFILE=${p.limits.openFiles}`);
    notes.push('limits.openFiles: LimitNOFILE= makes opens fail beyond it; tend restarts the program instead');
  }
  if (p.limits?.closeWait) notes.push(NOTE.closeWait);
  if (p.restart.maxUptime) {
    svc.push(`RuntimeMaxSec=${seconds(p.restart.maxUptime)}`);
    if (p.restart.jitter) svc.push(`RuntimeRandomizedExtraSec=${seconds(p.restart.jitter)}`);
    notes.push('restart.maxUptime: RuntimeMaxSec= stops the service as failed (result timeout); Restart= then starts it again');
  }
  if (p.health) notes.push(`${NOTE.health} (a Type=notify service with WatchdogSec= is systemd's way, if the program supports sd_notify)`);
  for (const d of p.dependsOn ?? []) {
    unit.push(`After=${unitOf(d.program)}`, `${d.condition === 'started' || d.condition === 'running' ? 'Requires' : 'Wants'}=${unitOf(d.program)}`);
    if (d.restart) unit.push(`PartOf=${unitOf(d.program)}`);
    if (d.condition === 'healthy' || d.condition === 'completed' || d.condition === 'succeeded') notes.push(`dependsOn.${d.program}: ${d.condition}: systemd orders by start, not by health or completion (a Type=oneshot ${d.program} gives 'completed')`);
  }
  if (p.shutdownOn) notes.push(NOTE.shutdownOn);
  if (p.state === 'stopped') notes.push('state: stopped: do not enable or start this unit');
  return (
    `# Exported by tend from ${source}: program ${p.name}${p.replicas > 1 ? `, replica ${replica} of ${p.replicas}` : ''}.\n` +
    notes.map((n) => `# ${n}\n`).join('') +
    `[Unit]\n${unit.join('\n')}\n\n[Service]\n${svc.join('\n')}\n\n[Install]\nWantedBy=${p.replicas > 1 ? `${p.name}.target` : 'multi-user.target'}\n`
  );
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** One word of ExecStart=: quoted, with systemd's specifiers (%) and variables ($) escaped. */
function execWord(w: string): string {
  const escaped = w.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[\w@+=:,./-]+$/.test(escaped) ? escaped : quote(escaped, false);
}

function quote(text: string, specifiers = true): string {
  const t = specifiers ? text.replace(/%/g, '%%') : text;
  return `"${t.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

