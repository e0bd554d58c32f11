import { cron } from './cron.js';

/** Why a cron expression is unusable, or null. Five fields, or six with seconds first. */
export function scheduleProblem(expression: string, timezone: string | null): string | null {
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return `expected a cron expression of 5 fields (or 6 with seconds), got ${fields}`;
  try {
    cron().parse(expression, timezone ? { tz: timezone } : {});
    return null;
  } catch (e) {
    return `not a valid cron expression: ${(e as Error).message}`;
  }
}

export function timezoneProblem(timezone: string): string | null {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return null;
  } catch {
    return `unknown time zone '${timezone}' (expected an IANA name like Europe/Paris or UTC)`;
  }
}
