// The CLI as shipped: src/cli/main.ts and everything it loads (yaml, chokidar and the rest)
// bundled by esbuild into dist/cli, one file per command's lazy import. Node's ESM loader
// pays per module: the daemon loaded ~150 of them before it did anything (tend validate of
// 100 programs: 184 -> 160 ms, measured interleaved). One CommonJS file saved the CLI another
// ~5 ms but cost the long-running daemon 2-4 MB and ~45 ms/min idle: the daemon matters more.
// Module by module, tsc's output (dist/lib) stays for the benches, which time the loop in-process.
import { chmodSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/cli', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist/cli',
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
  // A bundled CommonJS dependency (yaml) requires Node's own modules.
  banner: { js: "import { createRequire as tendCreateRequire } from 'node:module'; const require = tendCreateRequire(import.meta.url);" },
});
chmodSync('dist/cli/main.js', 0o755);
