import { isLiveState, readProcStat, type ProcStat } from './proc-stat.js';

/** Names one process for as long as the machine is up: a PID alone can be reused. */
export interface ProcessIdentity {
  pid: number;
  startTime: number;
  bootId: string;
}

/** The live process at `id.pid`, only if it is the very process the identity names. */
export function verify(id: ProcessIdentity, bootId: string): ProcStat | null {
  if (id.bootId !== bootId) return null;
  const stat = readProcStat(id.pid);
  if (!stat || stat.startTime !== id.startTime || !isLiveState(stat.state)) return null;
  return stat;
}
