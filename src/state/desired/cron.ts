import { createRequire } from 'node:module';
import type { CronExpressionParser } from 'cron-parser';

let parser: typeof CronExpressionParser | null = null;

/**
 * cron-parser, loaded on first use: with luxon, which it brings, it is ~3 MB of the
 * daemon's memory, paid only when some program has a restart schedule.
 */
export function cron(): typeof CronExpressionParser {
  parser ??= (createRequire(import.meta.url)('cron-parser') as typeof import('cron-parser')).CronExpressionParser;
  return parser;
}
