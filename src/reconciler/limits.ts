import type { LimitKind } from '../state/desired/schema.js';

/**
 * Each limit kind's restart reason, unit and how a value is shown. With LIMIT_KINDS in the
 * schema and the sampler in spawner/usage.ts, the three places a new limit touches: a kind
 * missing here is a compile error (Record<LimitKind, ...>).
 */
export const LIMITS = {
  memory: { reason: 'memory', unit: 'bytes', format: formatBytes, metric: 'tend_instance_memory_bytes', limitMetric: 'tend_instance_memory_limit_bytes', help: 'Memory of the process tree as the memory limit measures it (PSS summed, RSS for one process)' },
  openFiles: { reason: 'open-files', unit: 'fds', format: String, metric: 'tend_instance_open_fds', limitMetric: 'tend_instance_open_fds_limit', help: 'Open file descriptors of the process tree' },
  closeWait: { reason: 'close-wait', unit: 'sockets', format: String, metric: 'tend_instance_close_wait_sockets', limitMetric: 'tend_instance_close_wait_sockets_limit', help: 'TCP sockets in CLOSE_WAIT held by the process tree' },
} as const satisfies Record<LimitKind, { reason: string; unit: string; format: (n: number) => string; metric: string; limitMetric: string; help: string }>;

export type LimitReason = (typeof LIMITS)[LimitKind]['reason'];

export const LIMIT_KIND_LIST = Object.keys(LIMITS) as LimitKind[];

/** `ceil(n)` in the largest binary unit: `512Mi`, `1.5Gi`. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) if (n >= size) return `${Math.round((n / size) * 10) / 10}${unit}`;
  return `${n}B`;
}
