// `npm start`: simulated sensors publishing over MQTT to an embedded broker (or --broker URL), a
// monitor showing what arrives, and a summary of what was sent, acknowledged, received and lost.
// The program is TypeScript (tools/sensors/main.ts, importing src/ and hosts/node/): esbuild bundles
// it here, in some tens of milliseconds, so that there is no build step to run first. Options: --help.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Inside the tree (tools/.cache is git-ignored), so that the bundle's package imports (aedes) resolve
// from node_modules; one file per process, so that runs at the same time do not trip on each other.
const outfile = `${root}tools/.cache/start-${process.pid}.mjs`;
mkdirSync(`${root}tools/.cache`, { recursive: true });
process.setSourceMapsEnabled(true); // stack traces point into the TypeScript

let program;
try {
  await build({
    absWorkingDir: root,
    entryPoints: ['tools/sensors/main.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    outfile,
    logLevel: 'error',
  });
  program = await import(pathToFileURL(outfile).href);
} finally {
  rmSync(outfile, { force: true });
}

const code = await program.main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now and the process ends by itself; should anything linger, do not hang.
setTimeout(() => process.exit(code), 2000).unref();
