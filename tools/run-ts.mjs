// Runs a TypeScript program of this repository without a build step: esbuild bundles it (in some
// tens of milliseconds) and it is imported. Used by `npm start`, `npm run fleet`, `npm run bench:e2e`
// and, in a checkout, the `xs-mqtt` bin.
import { mkdirSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Bundles `entry` (a path from the repository root) for Node and imports it. */
export async function importTs(entry) {
  const { build } = await import('esbuild');
  // Inside the tree (tools/.cache is git-ignored), so that the bundle's package imports resolve from
  // node_modules; one file per process, so that runs at the same time do not trip on each other.
  const outfile = `${root}tools/.cache/${basename(entry).replace(/\.ts$/, '')}-${process.pid}.mjs`;
  mkdirSync(`${root}tools/.cache`, { recursive: true });
  process.setSourceMapsEnabled(true); // stack traces point into the TypeScript
  try {
    await build({
      absWorkingDir: root,
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      outfile,
      logLevel: 'error',
    });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(outfile, { force: true });
  }
}

/** Runs `program.main(argv)` and exits with its code; should anything linger after, it does not hang. */
export async function runMain(program, argv = process.argv.slice(2)) {
  const code = await program.main(argv);
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2000).unref();
}

/**
 * Makes sure this process has gc() (node --expose-gc): if not, runs the script `self` again with
 * it, with the same arguments, and exits with that run's code. For measurements that collect
 * garbage between runs.
 */
export async function ensureExposeGc(self) {
  if (typeof globalThis.gc === 'function') return;
  const { execFileSync } = await import('node:child_process');
  try {
    execFileSync(process.execPath, ['--expose-gc', ...process.execArgv, self, ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(0);
  } catch (e) {
    process.exit(typeof e.status === 'number' ? e.status : 1);
  }
}
