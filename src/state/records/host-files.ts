import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { writePrivateFile } from './private-files.js';

/** A program's state set on this host only (`tend stop web --local`), against the file. */
export interface LocalOverride {
  state: 'running' | 'stopped';
  /** The program as the file had it when the override was made: a commit that changes it ends the override. */
  fingerprint: string;
  at: string;
}

/**
 * What the state directory says about this host: its labels (written by `tend reconcile
 * --label`; `hostname` is always one) and its local overrides. Read on every pass: two small files.
 */
export class HostFiles {
  private readonly labelsFile: string;
  private readonly overridesFile: string;

  constructor(private readonly stateDir: string) {
    this.labelsFile = path.join(stateDir, 'labels.json');
    this.overridesFile = path.join(stateDir, 'overrides.json');
  }

  labels(): Record<string, string> {
    const written = (readJson(this.labelsFile) ?? {}) as Record<string, string>;
    return { hostname: hostname(), ...written };
  }

  /** No labels given: the file goes (the host's name is read when needed). */
  writeLabels(labels: Record<string, string>): void {
    if (Object.keys(labels).length === 0) return void rmSync(this.labelsFile, { force: true });
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    writePrivateFile(this.labelsFile, JSON.stringify({ hostname: hostname(), ...labels }) + '\n');
  }

  overrides(): Map<string, LocalOverride> {
    return new Map(Object.entries((readJson(this.overridesFile) as Record<string, LocalOverride> | null) ?? {}));
  }

  writeOverrides(overrides: ReadonlyMap<string, LocalOverride>): void {
    if (overrides.size === 0) return void rmSync(this.overridesFile, { force: true });
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    writePrivateFile(this.overridesFile, JSON.stringify(Object.fromEntries(overrides), null, 2) + '\n');
  }

  /**
   * A key that changes when either file does, from a stat of each (read on every pass):
   * both are replaced whole (a new inode) or removed, and an edit by hand moves the mtime.
   */
  key(): string {
    return `${identity(this.labelsFile)}\0${identity(this.overridesFile)}`;
  }
}

function identity(file: string): string {
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeNs}` : '';
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
