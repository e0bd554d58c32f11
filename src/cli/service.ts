import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';

/**
 * A systemd unit that runs `tend reconcile` at boot. KillMode=process is the point: when
 * systemd stops or restarts tend (an upgrade, `systemctl restart tend`), only tend ends and
 * its programs keep running, to be adopted by the next tend.
 */
export function serviceUnit(globals: GlobalOptions, user: boolean): string {
  const cli = fileURLToPath(new URL('./main.js', import.meta.url));
  const quote = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, '\\$1')}"`);
  return `[Unit]
Description=tend: keeps ${globals.file} true
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${[process.execPath, cli, '--file', globals.file, '--state-dir', globals.stateDir, 'reconcile'].map(quote).join(' ')}
WorkingDirectory=${path.dirname(globals.file)}
# Stopping or restarting tend must not stop the programs it supervises: only tend ends.
KillMode=process
Restart=always
RestartSec=1
TimeoutStopSec=15

[Install]
WantedBy=${user ? 'default.target' : 'multi-user.target'}
`;
}

/** `tend service install [--user] [-o FILE]`: writes the unit and says how to start it. */
export function serviceCommand(globals: GlobalOptions, args: string[], user: boolean, output: string | undefined): number {
  if (args[0] !== 'install') {
    process.stderr.write('usage: tend service install [--user] [-o FILE]\n');
    return EXIT.INVALID;
  }
  const file = output ?? (user ? path.join(os.homedir(), '.config/systemd/user/tend.service') : '/etc/systemd/system/tend.service');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, serviceUnit(globals, user));
  const ctl = user ? 'systemctl --user' : 'systemctl';
  process.stdout.write(`wrote ${file}\nthen: ${ctl} daemon-reload && ${ctl} enable --now ${path.basename(file)}\n`);
  return EXIT.OK;
}
