/**
 * `npm run chaos`: the long fault suite (60 rounds by default; `--rounds=N --seed=S`).
 * Prints the figures the README's reliability section reports, exits 1 on any failure.
 */
import { runChaos } from '../test/helpers/chaos.js';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const rounds = arg('rounds', 60);
const seed = arg('seed', Date.now() % 2147483647);
const cleanups: (() => void | Promise<void>)[] = [];
const started = Date.now();
process.stderr.write(`chaos: ${rounds} rounds, seed ${seed}\n`);
try {
  const r = await runChaos({ teardown: (fn) => cleanups.push(fn) }, rounds, seed, (line) => process.stderr.write(`${line}\n`));
  const summary = {
    seed,
    seconds: Math.round((Date.now() - started) / 1000),
    rounds: r.rounds,
    daemonKills: r.daemonKills,
    adoptionKills: r.adoptionKills,
    actions: r.actions,
    duplicates: r.duplicates.length,
    orphans: r.orphans.length,
    lost: r.lost.length,
    ungraceful: r.ungraceful.length,
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  if (r.duplicates.length + r.orphans.length + r.lost.length + r.ungraceful.length > 0) {
    process.stderr.write(`FAILED: ${JSON.stringify({ duplicates: r.duplicates, orphans: r.orphans, lost: r.lost, ungraceful: r.ungraceful })}\n`);
    process.exitCode = 1;
  }
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
