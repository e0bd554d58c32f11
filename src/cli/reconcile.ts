import { watch } from 'chokidar';
import { isTendError } from '../state/errors.js';
import { StateLock } from '../state/lock.js';
import type { PassResult } from '../reconciler/loop.js';
import { converge } from './converge.js';
import { serveControl } from './control-server.js';
import { collectStatus } from './status.js';
import { buildLoop, logLine, type GlobalOptions } from './context.js';
import { EXIT } from './exit-codes.js';

export interface ReconcileOptions {
  /** How long --once waits for starts and stops to finish. Default 60s. */
  timeoutMs: number;
  /** Stop every program before the daemon exits. Default false: programs outlive tend. */
  stopOnExit: boolean;
}

/** `tend reconcile --once`: converge, report, exit. Asks a running daemon instead when there is one. */
export async function reconcileOnce(globals: GlobalOptions, options: ReconcileOptions): Promise<number> {
  const outcome = await converge(globals, 'once', options.timeoutMs);
  if (outcome.ran === 'locked') {
    process.stderr.write(`tend: ${outcome.message}\n`);
    return EXIT.LOCKED;
  }
  if (outcome.ran === 'daemon') process.stderr.write('tend: a daemon runs here; asked it for a pass\n');
  return report(outcome);
}

function report(result: Pick<PassResult, 'converged' | 'problems' | 'fileProblems'>): number {
  for (const p of result.problems) process.stderr.write(`tend: ${p}\n`);
  if (result.fileProblems.length > 0) return EXIT.INVALID;
  return result.converged ? EXIT.OK : EXIT.NOT_CONVERGED;
}

/** `tend reconcile`: the control loop in the foreground, until SIGTERM or SIGINT. */
export async function reconcileDaemon(globals: GlobalOptions, options: ReconcileOptions): Promise<number> {
  let lock: StateLock;
  try {
    lock = await StateLock.acquire(globals.stateDir, 'daemon');
  } catch (e) {
    if (!isTendError(e, 'LOCKED')) throw e;
    process.stderr.write(`tend: ${e.message}\n`);
    return EXIT.LOCKED;
  }
  const { loop, subscribe } = buildLoop(globals);
  const control = await serveControl(globals.stateDir, { loop, subscribe, status: () => collectStatus(globals) });
  // Editors and `git checkout` replace the file by rename; chokidar follows the path, not the inode.
  const watcher = watch(globals.file, { ignoreInitial: true, persistent: true });
  watcher.on('all', () => loop.requestPass());
  watcher.on('error', (e) => logLine(`watching ${globals.file}: ${(e as Error).message}`));
  logLine(`tend reconcile: pid ${process.pid}, file ${globals.file}, state ${globals.stateDir}`);
  loop.start();

  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise<void>((resolve) => {
    const quit = (signal: string) => {
      logLine(`${signal}: ${options.stopOnExit ? 'stopping every program, then exiting' : 'exiting; programs keep running'}`);
      process.off('SIGTERM', onTerm).off('SIGINT', onInt);
      resolve();
    };
    const onTerm = () => quit('SIGTERM');
    const onInt = () => quit('SIGINT');
    process.on('SIGTERM', onTerm).on('SIGINT', onInt).on('SIGHUP', () => loop.requestPass());
  });
  if (options.stopOnExit) {
    loop.stopAll();
    await loop.settle(options.timeoutMs);
  }
  clearInterval(keepAlive);
  await watcher.close();
  await loop.close();
  await new Promise<void>((resolve) => control.close(() => resolve()));
  await lock.release();
  return EXIT.OK;
}
