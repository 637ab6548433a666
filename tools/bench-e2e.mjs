// `npm run bench:e2e`: end-to-end throughput and latency through Mosquitto for xs-mqtt (Node host),
// MQTT.js and a raw-socket ceiling. Method and options: tools/bench/main.ts (or --help).
// The bench is TypeScript (tools/bench/, importing src/, hosts/node/ and test/brokers/): esbuild
// bundles it here, with the subscriber worker, as tools/start.mjs does for `npm start`.
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ensureExposeGc } from './run-ts.mjs';

const SELF = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

// gc() between runs keeps one run's garbage out of the next run's time: without --expose-gc, run again with it.
await ensureExposeGc(SELF);

// Inside the tree (tools/.cache is git-ignored), so that the bundle's package imports (mqtt) resolve
// from node_modules; one folder per process, so that runs at the same time do not trip on each other.
const dir = `${root}tools/.cache/bench-e2e-${process.pid}`;
mkdirSync(dir, { recursive: true });
const cleanup = () => rmSync(dir, { recursive: true, force: true });
process.once('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    cleanup();
    process.exit(130);
  });
}
process.setSourceMapsEnabled(true); // stack traces point into the TypeScript

await build({
  absWorkingDir: root,
  entryPoints: { main: 'tools/bench/main.ts', subscriber: 'tools/bench/subscriber.ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  outdir: dir,
  outExtension: { '.js': '.mjs' },
  logLevel: 'error',
});
const program = await import(pathToFileURL(`${dir}/main.mjs`).href);
const code = await program.main(process.argv.slice(2), `${dir}/subscriber.mjs`);
process.exitCode = code;
// Everything is closed by now and the process ends by itself; should anything linger, do not hang.
setTimeout(() => process.exit(code), 2000).unref();
