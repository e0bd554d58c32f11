import { realpathSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { isTendError } from '../errors.js';
import { StateLock } from '../state/records/lock.js';
import type { PassResult } from '../runtime/loop.js';
import { formatShortfall } from '../reconciler/convergence.js';
import { converge } from './converge.js';
import { Console } from './console.js';
import { parseInstanceName } from '../state/desired/schema.js';
import { serveControl } from './control-server.js';
import { collectMeasured, collectStatus } from './status.js';
import type { VerbRequest } from './control-protocol.js';
import { buildLoop, logLine, systemClock, type GlobalOptions } from './context.js';
import { Telemetry } from '../runtime/telemetry.js';
import { daemonMetrics } from './metrics.js';
import { tendVersion } from './version.js';
import { hostname } from 'node:os';
import { Notifier } from '../runtime/notifier.js';
import { nodeTimers } from '../runtime/node-timers.js';
import { NotifySinks } from '../spawner/notify-delivery.js';
import type { ReconcileLoop } from '../runtime/loop.js';
import { HostFiles } from '../state/records/host-files.js';
import { askDaemon } from './control-client.js';
import { GitDriver, type GitOptions } from './git-driver.js';
import { EXIT } from './exit-codes.js';
import { OsProcessControl } from '../spawner/os-process-control.js';

export interface ReconcileOptions {
  /** How long --once waits for starts and stops to finish. Default 60s. */
  timeoutMs: number;
  /** Stop every program before the daemon exits. Default false: programs outlive tend. */
  stopOnExit: boolean;
  /** Every instance's output also on tend's stdout and stderr, prefixed (containers). Default false. */
  console?: boolean;
  /** Serve Prometheus metrics at /metrics on this address. Default none. */
  metrics?: { host: string; port: number } | null;
  /** Pull state.yaml from a repository (`--git`). Default none: the file on disk. */
  git?: GitOptions | null;
  /** This host's labels, matched by programs' `selector` (`hostname` is always one). Default none. */
  labels?: Record<string, string>;
}

/** `tend reconcile --once`: converge, report, exit. Asks a running daemon instead when there is one. */
export async function reconcileOnce(globals: GlobalOptions, options: ReconcileOptions): Promise<number> {
  new HostFiles(globals.stateDir).writeLabels(options.labels ?? {});
  // A daemon that holds the state directory syncs by itself; --once then only asks it for a pass.
  const daemon = options.git ? await askDaemon(globals.stateDir, { op: 'ping' }, 2000).catch(() => null) : null;
  if (options.git && !daemon?.ok) await new GitDriver(globals, options.git, logLine).syncOnce();
  const outcome = await converge(globals, 'once', options.timeoutMs);
  if (outcome.ran === 'locked') {
    process.stderr.write(`tend: ${outcome.message}\n`);
    return EXIT.LOCKED;
  }
  if (outcome.ran === 'daemon') process.stderr.write('tend: a daemon runs here; asked it for a pass\n');
  return report(outcome);
}

function report(result: Pick<PassResult, 'converged' | 'problems' | 'fileProblems'>): number {
  for (const p of result.problems) process.stderr.write(`tend: ${formatShortfall(p)}\n`);
  if (result.fileProblems.length > 0) return EXIT.INVALID;
  return result.converged ? EXIT.OK : EXIT.NOT_CONVERGED;
}

/** `tend reconcile`: the control loop in the foreground, until SIGTERM or SIGINT. */
export async function reconcileDaemon(globals: GlobalOptions, options: ReconcileOptions): Promise<number> {
  let lock: StateLock;
  try {
    lock = await StateLock.acquire(globals.stateDir, 'daemon', logLine);
  } catch (e) {
    if (!isTendError(e, 'LOCKED')) throw e;
    process.stderr.write(`tend: ${e.message}\n`);
    return EXIT.LOCKED;
  }
  if (process.pid === 1) {
    logLine('tend runs as PID 1: Node cannot reap orphaned grandchildren, which would pile up as zombies. Run it under an init: ENTRYPOINT ["tini", "--", "tend", ...] or docker run --init');
  }
  new HostFiles(globals.stateDir).writeLabels(options.labels ?? {});
  const telemetry = new Telemetry();
  const { loop, subscribe, record } = buildLoop(globals, logLine, false, telemetry);
  const git = options.git ? new GitDriver(globals, options.git, logLine, record) : null;
  // The first commit is in place before the loop reads the file.
  await git?.syncOnce(new Date(Date.now() + options.git!.intervalMs));
  subscribe((e) => telemetry.event(e));
  const notifier = buildNotifier(loop, telemetry);
  subscribe((e) => notifier.onEvent(e));
  const metrics = daemonMetrics(loop, telemetry);
  // Asked for explicitly: an address that cannot be served ends the daemon before it touches anything.
  let http: Server | null = null;
  if (options.metrics) {
    const host = options.metrics.host.includes(':') ? `[${options.metrics.host}]` : options.metrics.host;
    try {
      http = await (await import('./metrics-server.js')).serveMetrics(options.metrics, metrics);
    } catch (e) {
      process.stderr.write(`tend: cannot serve metrics on ${host}:${options.metrics.port}: ${(e as Error).message}\n`);
      notifier.close();
      await lock.release();
      return EXIT.FAILURE;
    }
    logLine(`metrics at http://${host}:${(http.address() as { port: number }).port}/metrics`);
  }
  const echo = options.console ? new Console(() => loop.desired(), () => loop.table()) : null;
  if (echo) {
    subscribe((e) => echo.onEvent(e));
    echo.start();
  }
  // Without its control socket (a full disk, say) the daemon still converges; verbs then wait on their own.
  // One process control for every client's status (made at the first): it keeps descriptors of what it measures open.
  let measurer: OsProcessControl | null = null;
  const status = (measure: boolean) => {
    if (!measure) return { instances: collectStatus(globals, loop.table()) };
    const { rows, unreadable, warning } = collectMeasured(globals, (measurer ??= new OsProcessControl()), loop.table());
    return { instances: rows, unreadable, warning };
  };
  const verb = async (request: VerbRequest) => (await import('./verbs.js')).verbInDaemon(globals, loop, request, logLine);
  const control = await serveControl(globals.stateDir, { loop, file: globals.file, subscribe, status, verb, metrics }).catch((e: Error) => {
    logLine(`cannot open the control socket: ${e.message}; the daemon goes on converging, but verbs cannot wait on it`);
    return null;
  });
  const watcher = watchStateFile(globals.file, () => loop.requestPass('file'));
  watcher.on('error', (e) => logLine(`watching ${globals.file}: ${(e as Error).message}`));
  logLine(`tend reconcile: pid ${process.pid}, file ${globals.file}, state ${globals.stateDir}`);
  loop.start();
  git?.start(() => {
    loop.trustFile();
    loop.requestPass('file');
  });

  const keepAlive = setInterval(() => {}, 1 << 30);
  let lockLost = false;
  let failed: string | null = null;
  await new Promise<void>((resolve) => {
    // shutdownOn: a program whose failure should end tend (and so its container).
    subscribe((e) => {
      if (failed || e.event !== 'exit') return;
      const program = loop.desired()?.programs.get(parseInstanceName(e.instance)?.program ?? '');
      const on = program?.shutdownOn;
      if (!on || (on === 'fatal' ? e.to !== 'FATAL' : e.to === 'STOPPED')) return;
      const how = e.signal ? `killed by ${e.signal}` : e.code == null ? 'exit unknown' : `exit code ${e.code}`;
      failed = `${e.instance} ${e.to === 'FATAL' ? 'went FATAL' : `ended (${how})`} and has shutdownOn: ${on}`;
      quit('shutdownOn');
    });
    const quit = (signal: string) => {
      const stopping = options.stopOnExit || failed !== null;
      logLine(`${failed ?? signal}: ${stopping ? 'stopping every program, then exiting' : 'exiting; programs keep running'}`);
      process.off('SIGTERM', onTerm).off('SIGINT', onInt);
      clearInterval(lockCheck);
      resolve();
    };
    // The one error that cannot heal: another tend may act on this state directory now.
    const lockCheck = setInterval(() => {
      const state = lock.check();
      if (state === 'restored') logLine(`${globals.stateDir}/lock.secret was removed; wrote it back, so no other tend can take the lock`);
      if (state !== 'lost') return;
      logLine(`${globals.stateDir}/lock.secret was replaced: another tend may act on this state directory; exiting (code ${EXIT.LOCK_LOST}) without touching any program`);
      lockLost = true;
      quit('lock lost');
    }, LOCK_CHECK_MS);
    lockCheck.unref();
    const onTerm = () => quit('SIGTERM');
    const onInt = () => quit('SIGINT');
    process.on('SIGTERM', onTerm).on('SIGINT', onInt).on('SIGHUP', () => loop.requestPass('signal'));
  });
  if ((options.stopOnExit || failed) && !lockLost) {
    loop.stopAll();
    await loop.settle(options.timeoutMs);
  }
  clearInterval(keepAlive);
  git?.stop();
  await watcher.close();
  await loop.close();
  await control?.close();
  // A scraper keeps its connection open: close those too, or the exit waits for them.
  if (http) await new Promise<void>((resolve) => (http.close(() => resolve()), http.closeAllConnections()));
  echo?.stop();
  notifier.close();
  await lock.release();
  return lockLost ? EXIT.LOCK_LOST : failed ? EXIT.PROGRAM_FAILED : EXIT.OK;
}

/** Alerts from the daemon's events, delivered in the background; counted in its metrics. */
function buildNotifier(loop: ReconcileLoop, telemetry: Telemetry): Notifier {
  return new Notifier({
    timers: nodeTimers,
    clock: systemClock,
    delivery: new NotifySinks(`tend/${tendVersion()}`),
    log: logLine,
    count: (result) => telemetry.notification(result),
    desired: () => loop.desired(),
    table: () => loop.table(),
    fileValid: () => telemetry.fileValid ?? true,
    host: hostname(),
  });
}

/**
 * How often the daemon checks that its lock still stands. Every wake-up of an idle daemon
 * costs V8 some tens of ms (its idle-time GC), so idle timers are few and far apart.
 */
const LOCK_CHECK_MS = 60_000;

/**
 * Calls `onChange` whenever the file may have changed. Editors, git and config tools
 * replace it by rename, so its directory is watched (a watch on the file itself follows
 * one inode and was seen to go deaf after some renames), and chokidar's raw events are
 * used: its 'change' events for a path are dropped for 50 ms after one was emitted, which
 * loses a second edit made that soon. A symlinked file's target directory is watched too.
 */
function watchStateFile(file: string, onChange: () => void): FSWatcher {
  const targets = new Set([path.resolve(file)]);
  try {
    targets.add(realpathSync(file));
  } catch {
    // Not there yet: the directory watch sees it appear.
  }
  const dirs = new Set([...targets].map((t) => path.dirname(t)));
  const names = new Set([...targets].map((t) => path.basename(t)));
  const watcher = watch([...dirs], {
    ignoreInitial: true,
    persistent: true,
    depth: 0,
    ignored: (p) => !dirs.has(p) && !targets.has(p),
  });
  watcher.on('all', onChange);
  // A raw event names the entry of the watched directory it is about.
  watcher.on('raw', (_event, name) => {
    if (names.has(path.basename(String(name)))) onChange();
  });
  return watcher;
}
