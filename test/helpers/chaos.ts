/**
 * The fault suite: SIGKILL the daemon at random moments during scale-ups, scale-downs,
 * generation bumps, stops and crashes of its programs (and, in half the rounds, SIGKILL
 * the next daemon again while it adopts), then check the world: 0 duplicates, 0 orphans,
 * 0 lost instances, and every stop graceful (the program got its stop signal, not only a
 * SIGKILL at the timeout). `npm test` runs a short form, `npm run chaos` the long one.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exited, Project, waitFor } from './project.js';

export interface ChaosReport {
  rounds: number;
  daemonKills: number;
  adoptionKills: number;
  actions: Record<string, number>;
  duplicates: string[];
  orphans: number[];
  lost: string[];
  ungraceful: number[];
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

const PROGRAM = `#!/bin/sh
echo "start $$ $TEND_PROGRAM:$TEND_REPLICA" >> "$CHAOS_LOG"
trap 'echo "term $$" >> "$CHAOS_LOG"; kill $child 2>/dev/null; exit 0' TERM
sleep 1000 &
child=$!
wait $child
`;

type Action = 'scale-up' | 'scale-down' | 'generation' | 'stop' | 'start' | 'crash';

export async function runChaos(t: Teardown, rounds: number, seed: number, say: (line: string) => void = () => {}): Promise<ChaosReport> {
  let s = seed >>> 0 || 1;
  const random = () => ((s = (s * 48271) % 2147483647) / 2147483647);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const p = new Project(t);
  const script = path.join(p.dir, 'prog.sh');
  writeFileSync(script, PROGRAM);
  chmodSync(script, 0o755);
  const log = path.join(p.dir, 'chaos.log');
  writeFileSync(log, '');
  let desired = { webReplicas: 2, webGeneration: 0, workerState: 'running' as 'running' | 'stopped' };
  const file = () => `programs:
  web:
    command: [${script}]
    env: { TEND_TEST_MARK: '${p.mark}', CHAOS_LOG: '${log}' }
    replicas: ${desired.webReplicas}
    generation: ${desired.webGeneration}
    restart: { startSeconds: 100ms, backoff: { initial: 100ms, max: 200ms } }
    stop: { timeout: 3s }
  worker:
    command: [${script}]
    env: { TEND_TEST_MARK: '${p.mark}', CHAOS_LOG: '${log}' }
    state: ${desired.workerState}
    restart: { startSeconds: 100ms, backoff: { initial: 100ms, max: 200ms } }
    stop: { timeout: 3s }
`;
  const report: ChaosReport = { rounds, daemonKills: 0, adoptionKills: 0, actions: {}, duplicates: [], orphans: [], lost: [], ungraceful: [] };
  const crashed = new Set<number>();
  const leaders = () => p.processes().filter((x) => x.leader && x.instance !== '?:?');
  // Watch for duplicates the whole time, not only at checkpoints.
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const seen = new Map<string, number[]>();
      for (const l of leaders()) seen.set(l.instance, [...(seen.get(l.instance) ?? []), l.pid]);
      for (const [instance, pids] of seen) if (pids.length > 1) report.duplicates.push(`${instance}: ${pids.join(', ')}`);
      await new Promise((r) => setTimeout(r, 15));
    }
  })();

  const converged = async (what: string) => {
    await waitFor(`convergence ${what}`, async () => (await p.run(['reconcile', '--once', '--timeout', '20s'], 40_000)).code === 0, 60_000, 50);
    const expected = new Set([...Array(desired.webReplicas).keys()].map((i) => `web:${i}`));
    if (desired.workerState === 'running') expected.add('worker:0');
    const live = leaders();
    const rows = await p.status();
    for (const name of expected) {
      const l = live.filter((x) => x.instance === name);
      const row = rows.find((r) => r.name === name);
      if (l.length !== 1 || row?.state !== 'RUNNING' || row.pid !== l[0]!.pid) report.lost.push(`${what}: ${name} (leaders ${l.map((x) => x.pid).join(',') || 'none'}, status ${row?.state} ${row?.pid})`);
    }
    for (const l of live) if (!expected.has(l.instance)) report.orphans.push(l.pid);
  };

  p.write(file());
  for (let round = 0; round < rounds; round++) {
    let d = p.daemon();
    await converged(`before round ${round}`);
    // Only actions that change something: no scale-down at 0, no stop of what is stopped.
    const possible: Action[] = ['generation', 'crash', desired.webReplicas < 4 ? 'scale-up' : 'scale-down', desired.webReplicas > 0 ? 'scale-down' : 'scale-up', desired.workerState === 'running' ? 'stop' : 'start'];
    if (desired.webReplicas === 0) possible[0] = 'scale-up';
    const action: Action = pick(possible);
    report.actions[action] = (report.actions[action] ?? 0) + 1;
    if (action === 'scale-up') desired = { ...desired, webReplicas: Math.min(4, desired.webReplicas + 1 + Math.floor(random() * 2)) };
    if (action === 'scale-down') desired = { ...desired, webReplicas: Math.max(0, desired.webReplicas - 1 - Math.floor(random() * 2)) };
    if (action === 'generation') desired = { ...desired, webGeneration: desired.webGeneration + 1 };
    if (action === 'stop') desired = { ...desired, workerState: 'stopped' };
    if (action === 'start') desired = { ...desired, workerState: 'running' };
    if (action === 'crash') {
      const victims = leaders();
      if (victims.length > 0) {
        const v = pick(victims);
        crashed.add(v.pid);
        process.kill(v.pid, 'SIGKILL');
      }
    } else {
      p.write(file());
    }
    // SIGKILL the daemon somewhere in the middle of acting on it.
    await new Promise((r) => setTimeout(r, random() * 120));
    d.kill('SIGKILL');
    await exited(d);
    report.daemonKills++;
    if (round % 2 === 1) {
      // A second SIGKILL, this time while the next daemon adopts what the first left.
      d = p.daemon();
      await new Promise((r) => setTimeout(r, 20 + random() * 80));
      d.kill('SIGKILL');
      await exited(d);
      report.adoptionKills++;
    }
    d = p.daemon();
    await converged(`after round ${round} (${action})`);
    d.kill('SIGTERM');
    await exited(d);
    say(`round ${round + 1}/${rounds}: ${action}${round % 2 === 1 ? ', killed again during adoption' : ''}; web x${desired.webReplicas} gen ${desired.webGeneration}, worker ${desired.workerState}`);
  }
  // Stop everything, gracefully, and look for anything left.
  desired = { ...desired, webReplicas: 0, workerState: 'stopped' };
  p.write(file());
  await converged('at the end');
  watching = false;
  await watcher;
  await waitFor('nothing of ours left', () => p.processes().length === 0, 10_000).catch(() => {
    for (const x of p.processes()) report.orphans.push(x.pid);
  });
  const lines = existsSync(log) ? readFileSync(log, 'utf8').split('\n') : [];
  const started = lines.filter((l) => l.startsWith('start ')).map((l) => Number(l.split(' ')[1]));
  const termed = new Set(lines.filter((l) => l.startsWith('term ')).map((l) => Number(l.split(' ')[1])));
  report.ungraceful = started.filter((pid) => !termed.has(pid) && !crashed.has(pid));
  report.duplicates = [...new Set(report.duplicates)];
  return report;
}
