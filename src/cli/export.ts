import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { kubernetesManifests, renderManifests } from '../export/kubernetes.js';
import { nomadJob } from '../export/nomad.js';
import { systemdUnits } from '../export/systemd.js';
import { loadHostState } from '../state/desired/load.js';
import type { GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';
import { UsageError } from './usage-error.js';

const TARGETS = ['systemd', 'nomad', 'kubernetes'] as const;

/**
 * `tend export systemd|nomad|kubernetes [-o DIR]`: what this host runs of state.yaml, for
 * another engine. Without -o, every file is printed, each under a `# FILE` line.
 */
export function exportCommand(globals: GlobalOptions, args: string[], outDir: string | undefined): number {
  const target = args[0];
  if (!TARGETS.includes(target as (typeof TARGETS)[number])) throw new UsageError(`tend export needs a target: ${TARGETS.join(', ')}`);
  const { desired } = loadHostState(globals.file, globals.stateDir);
  const source = path.basename(globals.file);
  const files =
    target === 'systemd' ? systemdUnits(desired, source)
    : target === 'nomad' ? new Map([['tend.nomad.json', JSON.stringify(nomadJob(desired, source), null, 2) + '\n']])
    : new Map([['tend.k8s.yaml', renderManifests(kubernetesManifests(desired))]]);
  if (outDir === undefined) {
    for (const [name, text] of files) process.stdout.write(files.size > 1 ? `# ${name}\n${text}\n` : text);
    return EXIT.OK;
  }
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of files) writeFileSync(path.join(outDir, name), text);
  process.stderr.write(`wrote ${[...files.keys()].join(', ')} to ${outDir}\n`);
  return EXIT.OK;
}
