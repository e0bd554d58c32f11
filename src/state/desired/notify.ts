import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { splitCommand } from './command-line.js';
import { optional } from './sections.js';
import type { YamlReader } from './yaml-reader.js';

/**
 * What can be told: an instance went FATAL; it is in a crash loop (crashes after running,
 * CRASH_LOOP_EXITS in a row); it was restarted for a limit or a failing probe; it recovered
 * (one message ending each of those episodes); state.yaml on disk is invalid.
 */
export const NOTIFY_KINDS = ['fatal', 'crash-loop', 'restarted', 'recovered', 'file-invalid'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

export type NotifySink = { kind: 'exec'; command: string[] } | { kind: 'webhook'; url: string; headers: Record<string, string> };

export interface NotifySpec {
  sink: NotifySink;
  /** The kinds sent to this sink. Default all. */
  on: NotifyKind[];
  /** One delivery attempt's limit. Default 10s. */
  timeout: number;
  /** Attempts after the first, 1 s apart and doubling. Default 3. */
  retries: number;
}

const FIELDS = ['exec', 'webhook', 'on', 'timeout', 'retries'] as const;

/** Reads the top-level `notify:` list. */
export function readNotify(read: YamlReader, node: unknown): NotifySpec[] {
  if (!isSeq(node)) {
    read.problem(node as Node, 'notify', 'expected a list of sinks, each with exec or webhook');
    return [];
  }
  const out: NotifySpec[] = [];
  node.items.forEach((item, i) => {
    const where = `notify[${i}]`;
    const map = read.map(item, where);
    if (!map) return;
    read.keys(map, where, FIELDS);
    const kinds = (['exec', 'webhook'] as const).filter((k) => map.has(k));
    if (kinds.length !== 1) return read.problem(map, where, `needs exactly one sink, exec or webhook; got ${kinds.length === 0 ? 'none' : 'both'}`);
    let sink: NotifySink | null = null;
    if (kinds[0] === 'exec') {
      const c = map.get('exec', true);
      const command = isSeq(c) ? read.strList(c, `${where}.exec`) : splitted(read, c, `${where}.exec`);
      if (command && command.length === 0) read.problem(c as Node, `${where}.exec`, 'the command is empty');
      else if (command) sink = { kind: 'exec', command };
    } else {
      const w = map.get('webhook', true);
      const wmap = read.map(w, `${where}.webhook`);
      if (wmap) {
        read.keys(wmap, `${where}.webhook`, ['url', 'headers']);
        const url = read.str(wmap.get('url', true), `${where}.webhook.url`);
        const headers = optional(wmap, 'headers', (n) => read.strMap(n, `${where}.webhook.headers`)) ?? {};
        if (url !== null && !/^https?:\/\/[^/\s]/.test(url)) read.problem(wmap.get('url', true) as Node, `${where}.webhook.url`, `expected an http:// or https:// URL, got "${url}"`);
        else if (url !== null) sink = { kind: 'webhook', url, headers };
      }
    }
    const on = optional(map, 'on', (n) => {
      if (isScalar(n) && typeof n.value === 'string') return [read.oneOf(n, `${where}.on`, NOTIFY_KINDS)].filter((k): k is NotifyKind => k !== null);
      if (!isSeq(n)) return (read.problem(n as Node, `${where}.on`, `expected a list of ${NOTIFY_KINDS.join(', ')}`), null);
      return n.items.map((k, j) => read.oneOf(k, `${where}.on[${j}]`, NOTIFY_KINDS)).filter((k): k is NotifyKind => k !== null);
    });
    const timeout = optional(map, 'timeout', (n) => read.duration(n, `${where}.timeout`)) ?? 10_000;
    const retries = optional(map, 'retries', (n) => read.int(n, `${where}.retries`, 0, 10)) ?? 3;
    if (sink) out.push({ sink, on: on ?? [...NOTIFY_KINDS], timeout, retries });
  });
  return out;
}

function splitted(read: YamlReader, node: unknown, where: string): string[] | null {
  if (isMap(node)) return (read.problem(node as Node, where, 'expected a command, as a list or a string'), null);
  const text = read.str(node, where);
  if (text === null) return null;
  const split = splitCommand(text);
  if (!split.ok) read.problem(node as Node, where, split.error);
  return split.ok ? split.argv : null;
}
