import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A bare repository on disk (`file://`) and a clone to commit from, as a config repository's users have. */
export class Repo {
  readonly bare: string;
  readonly work: string;

  constructor(dir: string) {
    this.bare = path.join(dir, 'config.git');
    this.work = path.join(dir, 'config-work');
    mkdirSync(this.work, { recursive: true });
    this.git(['init', '--quiet', '--bare', '-b', 'main', this.bare], dir);
    this.git(['init', '--quiet', '-b', 'main'], this.work);
    this.git(['remote', 'add', 'origin', this.bare]);
  }

  get url(): string {
    return `file://${this.bare}`;
  }

  /** Commits state.yaml (and any other files) and pushes; returns the commit's hash. */
  commit(message: string, files: Record<string, string>): string {
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(this.work, name), text);
    this.git(['add', '--all']);
    this.git(['-c', 'user.name=ops', '-c', 'user.email=ops@example.com', 'commit', '--quiet', '--allow-empty', '-m', message]);
    this.git(['push', '--quiet', 'origin', 'main']);
    return this.git(['rev-parse', 'HEAD']).trim();
  }

  git(args: string[], cwd = this.work): string {
    return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  }
}
