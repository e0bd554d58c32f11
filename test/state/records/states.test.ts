import t from 'tap';
import { assertTransition, canTransition, hasProcess, INSTANCE_STATES, TransitionError } from '../../../src/state/records/states.js';

t.test('allows the transitions of a normal life', async (t) => {
  const life = ['STOPPED', 'STARTING', 'RUNNING', 'BACKOFF', 'STARTING', 'RUNNING', 'STOPPING', 'STOPPED'] as const;
  for (let i = 1; i < life.length; i++) t.ok(canTransition(life[i - 1]!, life[i]!), `${life[i - 1]} -> ${life[i]}`);
});

t.test('refuses an impossible transition, naming the allowed ones', async (t) => {
  t.throws(() => assertTransition('web:0', 'STOPPED', 'RUNNING'), new TransitionError('STOPPED', 'RUNNING', 'web:0'));
  t.throws(() => assertTransition('web:0', 'STOPPED', 'RUNNING'), { message: 'web:0: cannot go from STOPPED to RUNNING; from STOPPED it may go to STARTING' });
  t.notOk(canTransition('BACKOFF', 'RUNNING'), 'a backing-off instance has no process to be running');
  t.notOk(canTransition('STOPPING', 'RUNNING'), 'a stop is never cancelled half-way');
});

t.test('says which states have a process to watch', async (t) => {
  t.same(INSTANCE_STATES.filter(hasProcess), ['STARTING', 'RUNNING', 'STOPPING', 'UNKNOWN']);
});
