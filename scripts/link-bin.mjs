// After a build in this checkout: make the CLI executable and put it on node_modules/.bin,
// which npm does for a package's dependents but not for the package itself.
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';

const bin = 'dist/cli/main.js';
chmodSync(bin, 0o755);
if (existsSync('node_modules')) {
  mkdirSync('node_modules/.bin', { recursive: true });
  rmSync('node_modules/.bin/tend', { force: true });
  symlinkSync(`../../${bin}`, 'node_modules/.bin/tend');
}
