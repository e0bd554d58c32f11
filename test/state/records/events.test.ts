import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { EventLog, type TendEvent } from '../../../src/state/records/events.js';

const event = (i: number): TendEvent => ({ at: new Date(i).toISOString(), instance: 'web:0', event: 'started', reason: 'start', pid: i, message: `web:0: started pid ${i}` });

t.test('rotates the events file by size and keeps only `keep` old files, losing no event of the kept ones', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tend-events-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new EventLog(dir, 2000, 2);
  for (let i = 0; i < 100; i++) log.append(event(i));
  t.same(readdirSync(dir).sort(), ['events.jsonl', 'events.jsonl.1', 'events.jsonl.2']);
  const pids = ['events.jsonl.2', 'events.jsonl.1', 'events.jsonl'].flatMap((f) =>
    readFileSync(path.join(dir, f), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as TendEvent).pid),
  );
  t.same(pids, Array.from({ length: pids.length }, (_, k) => 100 - pids.length + k), 'the newest events, in order, none missing');
  t.ok(readFileSync(path.join(dir, 'events.jsonl'), 'utf8').length <= 2000);
  const again = new EventLog(dir, 2000, 2);
  again.append(event(100));
  t.match(readFileSync(path.join(dir, 'events.jsonl'), 'utf8'), /"pid":100/, 'a new EventLog picks up the current size');
});
