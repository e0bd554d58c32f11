import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { RecordStore, type RecordTable } from '../../../src/state/records/records.js';
import { program, record } from '../../helpers/fixtures.js';

function setup(t: { teardown(fn: () => void): void }, n = 3) {
  const dir = mkdtempSync(path.join(tmpdir(), 'tend-journal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const web = program('web', { replicas: n });
  const table: RecordTable = new Map(Array.from({ length: n }, (_, i) => [`web:${i}`, record(web, i, { pid: 100 + i })]));
  return { dir, table, store: new RecordStore(dir), journal: path.join(dir, 'instances.journal'), file: path.join(dir, 'instances.json') };
}

t.test('a change is appended to the journal; the table is not rewritten; a new reader sees both', async (t) => {
  const { dir, table, store, journal, file } = setup(t);
  t.ok(store.save(table), 'the first save writes the table whole');
  const written = readFileSync(file, 'utf8');
  t.notOk(store.save(table), 'nothing changed: nothing written');
  table.get('web:1')!.pid = 999;
  t.ok(store.save(table));
  t.equal(readFileSync(file, 'utf8'), written, 'the table file is as it was');
  t.equal(readFileSync(journal, 'utf8').trim().split('\n').length, 2, 'a header and one record');
  table.delete('web:2');
  store.save(table);
  const seen = new RecordStore(dir).load();
  t.same([...seen.keys()], ['web:0', 'web:1']);
  t.equal(seen.get('web:1')!.pid, 999);
});

t.test('the table is written whole again once the journal is as long as it is worth', async (t) => {
  const { dir, table, store, journal, file } = setup(t);
  store.save(table);
  const first = statSync(file).ino;
  for (let i = 0; i < 200; i++) {
    table.get('web:0')!.restarts = i + 1;
    store.save(table);
  }
  t.equal(readFileSync(journal, 'utf8').trim().split('\n').length, 201, '200 entries appended');
  table.get('web:0')!.restarts = 1000;
  store.save(table);
  t.not(statSync(file).ino, first, 'then a new table');
  t.equal(readFileSync(journal, 'utf8').trim().split('\n').length, 1, 'and a new, empty journal');
  t.equal(new RecordStore(dir).load().get('web:0')!.restarts, 1000);
});

t.test('a line cut by a crash ends the replay; a journal of another table is never replayed', async (t) => {
  const { dir, table, store, journal, file } = setup(t);
  store.save(table);
  table.get('web:0')!.pid = 555;
  store.save(table);
  appendFileSync(journal, '{"set":{"name":"web:1","pid":7');
  t.equal(new RecordStore(dir).load().get('web:0')!.pid, 555, 'the whole lines are replayed');
  t.equal(new RecordStore(dir).load().get('web:1')!.pid, 101, 'the cut one is not');
  // A table written anew (by hand, or a crash between the table and its journal): the old journal is ignored.
  const text = JSON.parse(readFileSync(file, 'utf8')) as { journal: string };
  writeFileSync(file, JSON.stringify({ ...text, journal: 'another' }));
  t.equal(new RecordStore(dir).load().get('web:0')!.pid, 100);
});

t.test('after a failed append (a full disk) the next save writes the table whole', async (t) => {
  const { dir, table, store, journal } = setup(t);
  store.save(table);
  // An append that fails, even for root: the journal's place taken by a directory.
  rmSync(journal);
  mkdirSync(journal);
  table.get('web:0')!.pid = 1;
  t.throws(() => store.save(table), /EISDIR/);
  rmSync(journal, { recursive: true });
  table.get('web:0')!.pid = 2;
  store.save(table);
  t.equal(readFileSync(journal, 'utf8').trim().split('\n').length, 1, 'a new journal for a table written whole');
  t.equal(new RecordStore(dir).load().get('web:0')!.pid, 2);
});

t.test('a save without the names touched still finds every change: a field set, replaced, added or removed in place, a record replaced', async (t) => {
  const { dir, table, store } = setup(t);
  store.save(table);
  t.notOk(store.save(table), 'nothing changed: nothing written, nothing rendered');
  const cases: [string, () => void, (r: ReturnType<RecordTable['get']>) => boolean][] = [
    ['a field set in place', () => void (table.get('web:0')!.stopSignalSent = true), (r) => r!.stopSignalSent === true],
    ['a nested value replaced', () => void (table.get('web:1')!.stop = { signal: 'SIGINT', timeout: 5000 }), (r) => r!.stop?.signal === 'SIGINT'],
    ['a field added', () => void (table.get('web:2')!.lastDetail = 'memory: 2Gi > 1Gi'), (r) => r!.lastDetail === 'memory: 2Gi > 1Gi'],
    ['a field removed', () => void delete table.get('web:2')!.lastDetail, (r) => r!.lastDetail === undefined],
    ['the record replaced by an equal-looking copy with one change', () => void table.set('web:0', { ...table.get('web:0')!, restarts: 7 }), (r) => r!.restarts === 7],
  ];
  for (const [what, change, check] of cases) {
    change();
    t.ok(store.save(table), `${what}: written`);
    t.notOk(store.save(table), `${what}: and only once`);
    const name = what.startsWith('a nested') ? 'web:1' : what.includes('added') || what.includes('removed') ? 'web:2' : 'web:0';
    t.ok(check(new RecordStore(dir).load().get(name)), `${what}: a new reader sees it`);
  }
});
