/** A mistake in the command line: exit 2 with a hint to run --help. */
export class UsageError extends Error {}
