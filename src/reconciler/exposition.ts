/**
 * The Prometheus text exposition format (version 0.0.4), written out: a few dozen lines
 * against prom-client's registry, which is a module-level singleton, pulls in its own
 * collectors and would still need our own families for a one-off `tend metrics` run.
 */
export interface Family {
  /** `tend_` prefix, base units, `_total` for counters. */
  name: string;
  help: string;
  type: 'gauge' | 'counter' | 'histogram';
  samples: Sample[];
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
  /** `_bucket`, `_sum`, `_count` for a histogram's series. */
  suffix?: string;
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function renderExposition(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}${s.suffix ?? ''}${labelText(s.labels)} ${numberText(s.value)}`);
  }
  return out.join('\n') + '\n';
}

function labelText(labels: Record<string, string>): string {
  let out = '';
  for (const k in labels) out += `${out ? ',' : '{'}${k}="${escapeValue(labels[k]!)}"`;
  return out ? `${out}}` : '';
}

/** Most values need no escape: a scrape renders thousands of them. */
function escapeValue(v: string): string {
  return /[\\\n"]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** A histogram's samples from its cumulative bucket counts (`le` bounds ascending), sum and count. */
export function histogramSamples(labels: Record<string, string>, bounds: readonly number[], cumulative: readonly number[], sum: number, count: number): Sample[] {
  return [
    ...bounds.map((le, i) => ({ labels: { ...labels, le: String(le) }, value: cumulative[i]!, suffix: '_bucket' })),
    { labels: { ...labels, le: '+Inf' }, value: count, suffix: '_bucket' },
    { labels, value: sum, suffix: '_sum' },
    { labels, value: count, suffix: '_count' },
  ];
}
