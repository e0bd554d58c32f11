// The CLI as shipped: src/cli/main.ts and everything it loads (yaml, chokidar and the rest)
// bundled by esbuild into one CommonJS file, dist/cli/main.js. Node's ESM loader pays per
// module (the daemon loaded ~150 before its first pass), and even per built-in module it
// imports (an ESM facade of node:fs touches every export); one CommonJS file pays neither.
// The commands' lazy imports stay lazy: esbuild runs each module's body on first import.
// Module by module, tsc's output (dist/lib) stays for the benches, which time the loop in-process.
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/cli', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: 'dist/cli/main.js',
  logLevel: 'warning',
  // import.meta.url (the package's own files, and cron-parser loaded on demand) from the file's path.
  define: { 'import.meta.url': 'tendFileUrl' },
  banner: { js: '"use strict";\nconst tendFileUrl = require("node:url").pathToFileURL(__filename).href;' },
});
// The package is "type": "module"; this directory holds CommonJS.
writeFileSync('dist/cli/package.json', '{ "type": "commonjs" }\n');
chmodSync('dist/cli/main.js', 0o755);
