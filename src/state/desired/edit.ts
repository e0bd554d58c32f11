import { constants, accessSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { TendError } from '../../errors.js';

export type FieldValue = string | number;

export interface FieldEdit {
  program: string;
  field: string;
  value: FieldValue;
}

/**
 * Sets `programs.NAME.FIELD` in state.yaml text, changing nothing else: comments, blank
 * lines, key order and the quoting of every other value stay byte for byte. An existing
 * value is replaced in place; a missing field is added as the program's first line.
 * The text is parsed once for all the edits.
 */
export function editProgramFields(text: string, edits: FieldEdit[]): string {
  const doc = parseDocument(text, { keepSourceTokens: true, uniqueKeys: false });
  if (doc.errors.length > 0) throw new TendError('INVALID_STATE_FILE', `cannot edit an invalid file: ${doc.errors[0]!.message.split('\n')[0]}`);
  const programs = doc.get('programs', true);
  const splices: { at: number; end: number; text: string }[] = [];
  let rerender = false;
  for (const { program, field, value } of edits) {
    const map = isMap(programs) ? (programs.get(program, true) as unknown) : undefined;
    if (!isMap(map)) throw new TendError('UNKNOWN_INSTANCE', `no program '${program}' in the file`);
    const rendered = typeof value === 'number' ? String(value) : value;
    const current = map.get(field, true) as Node | undefined;
    if (isScalar(current) && current.range) {
      splices.push({ at: current.range[0], end: current.range[1], text: rendered });
      continue;
    }
    if (current === undefined && !map.flow && map.items.length > 0) {
      const firstKey = map.items[0]!.key as Node;
      const lineStart = text.lastIndexOf('\n', firstKey.range![0] - 1) + 1;
      const indent = text.slice(lineStart, firstKey.range![0]);
      if (/^\s*$/.test(indent)) {
        splices.push({ at: lineStart, end: lineStart, text: `${indent}${field}: ${rendered}\n` });
        continue;
      }
    }
    // Flow style ({ command: x }) or an unusual layout: let yaml re-render, which still keeps comments.
    (map as YAMLMap).set(field, value);
    rerender = true;
  }
  if (rerender) {
    for (const { program, field, value } of edits) doc.setIn(['programs', program, field], value);
    return doc.toString({ lineWidth: 0 });
  }
  // From the end backwards, so earlier offsets stay valid.
  let out = text;
  for (const sp of splices.sort((a, b) => b.at - a.at)) out = out.slice(0, sp.at) + sp.text + out.slice(sp.end);
  return out;
}

/** One edit; see editProgramFields. */
export function setProgramField(text: string, program: string, field: string, value: FieldValue): string {
  return editProgramFields(text, [{ program, field, value }]);
}

/** The line of `programs.NAME.FIELD` in the text, or of the program's key when the field is not written. */
export function fieldLine(text: string, program: string, field: string): number {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  const programs = doc.get('programs', true);
  const map = isMap(programs) ? programs : null;
  const pair = map?.items.find((p) => isScalar(p.key) && p.key.value === program);
  const value = pair && isMap(pair.value) ? (pair.value.get(field, true) as Node | undefined) : undefined;
  const at = value?.range?.[0] ?? (pair?.key as Node | undefined)?.range?.[0] ?? 0;
  return lines.linePos(at).line;
}

/** The current whole-number value of `programs.NAME.FIELD`, or `fallback` when absent. */
export function readProgramNumber(text: string, program: string, field: string, fallback: number): number {
  const value = parseDocument(text, { uniqueKeys: false }).getIn(['programs', program, field]);
  return typeof value === 'number' ? value : fallback;
}

/** Why state.yaml cannot be rewritten in place, or null when it can. */
export function unwritableReason(file: string): string | null {
  try {
    accessSync(file, constants.W_OK);
    accessSync(path.dirname(file), constants.W_OK);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'not writable';
  }
}

/** Replaces the file by temp + rename in its own directory, keeping its mode; no temp file is left on failure. */
export function writeFileAtomic(file: string, text: string): void {
  const mode = statSync(file).mode & 0o7777;
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, text, { mode });
    renameSync(temp, file);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}
