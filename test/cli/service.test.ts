import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Project } from '../helpers/project.js';

const canVerify = spawnSync('systemd-analyze', ['--version']).status === 0;

t.test('tend service install writes a unit that systemd-analyze verify accepts, with KillMode=process', { skip: canVerify ? false : 'systemd-analyze is not installed' }, async (t) => {
  const p = new Project(t, 'programs: {}\n');
  const unit = path.join(p.dir, 'tend.service');
  const r = await p.run(['service', 'install', '-o', unit]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /systemctl daemon-reload && systemctl enable --now tend\.service/);
  const text = readFileSync(unit, 'utf8');
  t.match(text, /^KillMode=process$/m, 'a restart of tend leaves its programs running');
  t.match(text, new RegExp(`^ExecStart=${process.execPath.replaceAll('/', '\\/')} \\S+main\\.js --file ${p.file.replaceAll('/', '\\/')} --state-dir \\S+ reconcile$`, 'm'));
  const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  t.equal(verify.stderr, '', 'systemd-analyze verify prints nothing');
  t.equal(verify.status, 0);
  // The check can fail: a broken unit makes systemd-analyze speak.
  writeFileSync(unit, text.replace('KillMode=process', 'KillMode=bogus'));
  t.not(spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' }).stderr, '', 'a broken unit is reported');
});
