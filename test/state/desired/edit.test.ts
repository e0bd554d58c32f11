import { readFileSync } from 'node:fs';
import t from 'tap';
import { readProgramNumber, setProgramField } from '../../../src/state/desired/edit.js';
import { validateState } from '../../../src/state/desired/validate.js';

const before = readFileSync(new URL('./golden/before.yaml', import.meta.url), 'utf8');

/** Lines of `after` that differ from `before`, as a diff would show them. */
function changed(a: string, b: string): { removed: string[]; added: string[] } {
  const left = a.split('\n');
  const right = b.split('\n');
  return { removed: left.filter((l) => !right.includes(l)), added: right.filter((l) => !left.includes(l)) };
}

t.test('stop changes only the state value of that program', async (t) => {
  const after = setProgramField(before, 'web', 'state', 'stopped');
  t.same(changed(before, after), { removed: ["    state: 'running'     # single-quoted"], added: ['    state: stopped     # single-quoted'] });
});

t.test('start adds a missing state line at the program indentation, touching nothing else', async (t) => {
  const after = setProgramField(before, 'worker', 'state', 'running');
  t.same(changed(before, after), { removed: [], added: ['    state: running'] });
  t.equal(after.split('\n').length, before.split('\n').length + 1);
  t.match(after, /worker:   # no state: line yet\n    state: running\n    command: \[python3/);
});

t.test('restart bumps generation in place', async (t) => {
  const generation = readProgramNumber(before, 'web', 'generation', 0);
  const after = setProgramField(before, 'web', 'generation', generation + 1);
  t.same(changed(before, after), { removed: ['    generation: 4'], added: ['    generation: 5'] });
  t.equal(readProgramNumber(setProgramField(before, 'worker', 'generation', 1), 'worker', 'generation', 0), 1);
});

t.test('edits a value inside a flow-style map in place', async (t) => {
  const after = setProgramField(before, 'flowy', 'state', 'stopped');
  t.same(changed(before, after), { removed: ['  flowy: {command: sleep 1000, state: running}'], added: ['  flowy: {command: sleep 1000, state: stopped}'] });
});

t.test('adding a field to a flow-style map still keeps every comment', async (t) => {
  const after = setProgramField(before, 'flowy', 'generation', 1);
  for (const line of before.split('\n').filter((l) => l.includes('#'))) t.ok(after.includes(line.trim().slice(line.trim().indexOf('#'))), `kept: ${line.trim()}`);
  t.equal(readProgramNumber(after, 'flowy', 'generation', 0), 1);
});

t.test('every edit leaves a file that still validates with the intended value', async (t) => {
  let text = before;
  text = setProgramField(text, 'web', 'state', 'stopped');
  text = setProgramField(text, 'worker', 'state', 'stopped');
  text = setProgramField(text, 'web', 'generation', 5);
  const r = validateState(text, { file: '/x/state.yaml', stateDir: '/x/.tend' });
  t.ok(r.ok);
  if (r.ok) t.same([r.desired.programs.get('web')!.state, r.desired.programs.get('worker')!.state, r.desired.programs.get('web')!.generation], ['stopped', 'stopped', 5]);
});

t.test('refuses a program that is not in the file', async (t) => {
  t.throws(() => setProgramField(before, 'nope', 'state', 'stopped'), { code: 'UNKNOWN_INSTANCE' });
});

t.test('applies many edits in one parse, each in place', async (t) => {
  const { editProgramFields } = await import('../../../src/state/desired/edit.js');
  const after = editProgramFields(before, [
    { program: 'web', field: 'state', value: 'stopped' },
    { program: 'worker', field: 'state', value: 'stopped' },
    { program: 'web', field: 'generation', value: 5 },
  ]);
  t.same(changed(before, after), {
    removed: ["    state: 'running'     # single-quoted", '    generation: 4'],
    added: ['    state: stopped     # single-quoted', '    generation: 5', '    state: stopped'],
  });
});
