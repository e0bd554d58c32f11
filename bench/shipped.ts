/**
 * The loop's modules as shipped (dist/lib/, built by `npm run bench` first), with their types
 * from src/. The in-process figures must time the code users run: the bench itself runs
 * through tsx, whose transform wraps every function for its name (`__name`), which was
 * a visible part of a pass's profile.
 */
import type * as Loop from '../src/runtime/loop.js';
import type * as Control from '../src/spawner/os-process-control.js';
import type * as Context from '../src/cli/context.js';
import type * as Source from '../src/state/desired/source.js';
import type * as Records from '../src/state/records/records.js';

const dist = (module: string) => import(new URL(`../dist/lib/${module}`, import.meta.url).href);

export const { ReconcileLoop } = (await dist('runtime/loop.js')) as typeof Loop;
export const { OsProcessControl } = (await dist('spawner/os-process-control.js')) as typeof Control;
export const { ports } = (await dist('cli/context.js')) as typeof Context;
export const { DesiredSource } = (await dist('state/desired/source.js')) as typeof Source;
export const { RecordStore } = (await dist('state/records/records.js')) as typeof Records;
