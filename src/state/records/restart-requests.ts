import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writePrivateFile } from './private-files.js';

/**
 * Restarts asked for one instance (`tend restart web:1`), which state.yaml cannot express:
 * a counter per instance, kept in the state directory. An instance whose record holds a
 * lower count than this file is restarted (reason `restart`).
 */
export class RestartRequests {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'restart-requests.json');
  }

  load(): Map<string, number> {
    try {
      return new Map(Object.entries(JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, number>));
    } catch {
      return new Map();
    }
  }

  /** Bumps the counter of each instance; returns the new counts. */
  bump(instances: string[]): Map<string, number> {
    const counts = this.load();
    for (const name of instances) counts.set(name, (counts.get(name) ?? 0) + 1);
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    writePrivateFile(this.file, JSON.stringify(Object.fromEntries(counts)) + '\n');
    return counts;
  }
}
