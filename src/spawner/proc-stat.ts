import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/PID/stat that tend uses. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T, X (dead)... */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Field 22: start time in clock ticks since boot; with the boot id it names one process forever. */
  startTime: number;
}

/** Parses a /proc/PID/stat line; the command name may hold spaces and parentheses. */
export function parseProcStat(pid: number, text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // Fields after the name start at field 3 (state).
  const f = text.slice(close + 2).split(' ');
  const startTime = Number(f[19]);
  if (f.length < 20 || !Number.isFinite(startTime)) return null;
  return { pid, state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), startTime };
}

export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(pid, readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return null;
  }
}

/** A process that has ended but is not yet reaped is not alive. */
export function isLiveState(state: string): boolean {
  return state !== 'Z' && state !== 'X' && state !== 'x';
}

export function readBootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

export function listPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const c = entry.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(entry));
  }
  return pids;
}
