/**
 * A cron expression as systemd's OnCalendar= (`*-*-* 04:00:00`), for the fields both can
 * say: `*`, numbers, lists, ranges (`a-b` is `a..b`) and steps from the start (`*\/5` is
 * `0/5`). Null when it cannot be said that way (a step over a range, names of months).
 */
export function cronToCalendar(expression: string, timezone: string | null): string | null {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return null;
  const [sec, min, hour, dom, mon, dow] = fields.length === 6 ? fields : ['0', ...fields];
  const part = (f: string, start: number): string | null => {
    if (f === '*' || f === '?') return '*';
    const items = f.split(',').map((item) => {
      const step = /^\*\/(\d+)$/.exec(item);
      if (step) return `${start}/${Number(step[1])}`;
      const range = /^(\d+)-(\d+)$/.exec(item);
      if (range) return `${Number(range[1])}..${Number(range[2])}`;
      return /^\d+$/.test(item) ? String(Number(item)) : null;
    });
    return items.every((i) => i !== null) ? items.join(',') : null;
  };
  const two = (f: string | null) => (f && /^\d$/.test(f) ? `0${f}` : f);
  const parts = [part(mon!, 1), part(dom!, 1), two(part(hour!, 0)), two(part(min!, 0)), two(part(sec!, 0))];
  if (parts.some((p) => p === null)) return null;
  const days = dayNames(dow!);
  if (days === null) return null;
  const [m, d, h, mi, s] = parts as string[];
  return `${days === '' ? '' : `${days} `}*-${m}-${d} ${h}:${mi}:${s}${timezone ? ` ${timezone}` : ''}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function dayNames(f: string): string | null {
  if (f === '*' || f === '?') return '';
  const items = f.split(',').map((item) => {
    const range = /^([0-7])-([0-7])$/.exec(item);
    if (range) return `${DAYS[Number(range[1])]}..${DAYS[Number(range[2])]}`;
    return /^[0-7]$/.test(item) ? DAYS[Number(item)]! : null;
  });
  return items.every((i) => i !== null) ? items.join(',') : null;
}
