import { readdirSync, readFileSync } from 'node:fs';
import { ProcReader } from './proc-read.js';

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

/** User plus system CPU time (fields 14 and 15) of a /proc/PID/stat line, in clock ticks. */
export function statCpuTicks(text: string): number {
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) || 0;
}

/** The state field (field 3: R, S, Z...) of a /proc/PID/stat line in `bytes[0..length)`, or '?'. */
export function statState(bytes: Uint8Array, length: number): string {
  let at = length - 1;
  while (at >= 0 && bytes[at] !== 0x29 /* ) */) at--;
  return at >= 0 && at + 2 < length ? String.fromCharCode(bytes[at + 2]!) : '?';
}

/**
 * The session field (field 6) of a /proc/PID/stat line held in `bytes[0..length)`, or -1.
 * Read from the bytes without making a string: a walk of all /proc reads this for every
 * process and parses the whole line only for the few in a session it looks for.
 */
export function statSession(bytes: Uint8Array, length: number): number {
  let at = length - 1;
  while (at >= 0 && bytes[at] !== 0x29 /* ) */) at--;
  if (at < 0) return -1;
  // ") S ppid pgrp session": from the state, three spaces on is the session.
  at += 2;
  for (let spaces = 0; spaces < 3; at++) {
    if (at >= length) return -1;
    if (bytes[at] === 0x20) spaces++;
  }
  let session = 0;
  let digits = 0;
  for (; at < length && bytes[at]! >= 0x30 && bytes[at]! <= 0x39; at++, digits++) session = session * 10 + bytes[at]! - 0x30;
  return digits > 0 && bytes[at] === 0x20 ? session : -1;
}

export function readProcStat(pid: number): ProcStat | null {
  // Into one reused buffer: a signal to each of 1000 programs verifies each first.
  const text = statReader.read(`/proc/${pid}/stat`);
  return text === null ? null : parseProcStat(pid, text);
}

const statReader = new ProcReader();

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
