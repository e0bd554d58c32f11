import t from 'tap';
import { runChaos } from '../helpers/chaos.js';

t.test('SIGKILLs of the daemon mid-action (and again mid-adoption) leave 0 duplicates, 0 orphans, 0 lost, every stop graceful', async (t) => {
  const report = await runChaos(t, 3, 20261130, (line) => t.comment(line));
  t.comment(JSON.stringify({ rounds: report.rounds, daemonKills: report.daemonKills, adoptionKills: report.adoptionKills, actions: report.actions }));
  t.same(report.duplicates, [], 'no instance ever had two processes');
  t.same(report.orphans, [], 'no process outlived its instance');
  t.same(report.lost, [], 'every desired instance ran, once, as status says');
  t.same(report.ungraceful, [], 'every process that was stopped got its stop signal');
});
