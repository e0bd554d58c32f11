/**
 * Node options for the daemon. V8's memory reducer runs garbage collections whenever the
 * heap looks idle, and a daemon that wakes every second (to sample limits) looks idle every
 * time: measured, it doubled the CPU of an idle daemon with limits, for no memory gained
 * (RSS within 2 MB). The CLI's shebang, `npm start` and the systemd unit pass it.
 */
export const DAEMON_NODE_FLAGS = ['--no-memory-reducer'] as const;
