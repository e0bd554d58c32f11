import type { LimitsSpec } from '../state/desired/schema.js';
import { formatBytes } from './limits.js';

/** What `tend status` shows of an instance's resources (null fields: not measured, or no limit set). */
export interface UsageShown {
  /** CPU of the tree: averaged since it started (as ps shows it), or over the last refresh with --watch (as top). */
  cpuPercent: number | null;
  /** Memory as the memory limit measures it. */
  memoryBytes: number;
  memoryLimitBytes: number | null;
  openFds: number;
  openFdsLimit: number | null;
}

export function usageShown(measured: { memory: number; openFiles: number }, cpuPercent: number | null, limits: LimitsSpec | null | undefined): UsageShown {
  return { cpuPercent, memoryBytes: measured.memory, memoryLimitBytes: limits?.memory ?? null, openFds: measured.openFiles, openFdsLimit: limits?.openFiles ?? null };
}

/** CPU% from CPU seconds over wall milliseconds; null when too short a span to say. */
export function cpuPercent(cpuSeconds: number, wallMs: number): number | null {
  return wallMs < 50 ? null : Math.round(((cpuSeconds * 1000) / wallMs) * 1000) / 10;
}

/** The table's cells: `CPU%`, `MEM` (`21Mi`, or `180Mi/200Mi` beside a limit), `FDS` (only beside a limit: `12/100`). */
export function usageCells(u: UsageShown | null | undefined): { cpu: string; mem: string; fds: string } {
  if (!u) return { cpu: '-', mem: '-', fds: '-' };
  return {
    cpu: u.cpuPercent === null ? '-' : u.cpuPercent.toFixed(1),
    mem: u.memoryLimitBytes === null ? formatBytes(u.memoryBytes) : `${formatBytes(u.memoryBytes)}/${formatBytes(u.memoryLimitBytes)}`,
    fds: u.openFdsLimit === null ? '-' : `${u.openFds}/${u.openFdsLimit}`,
  };
}
