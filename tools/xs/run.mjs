// Runs scripts under XS (plain xsnap) and bundles TypeScript entries for it.
//   node tools/xs/run.mjs <file.js|file.ts>   -> .ts is bundled first (esbuild, IIFE, es2022)
// Plain xsnap's globals: print(...args) (space-joined, to stdout), gc(), performance.now(),
// TextEncoder/TextDecoder, Base64, harden, setImmediate, trace. There is no console and no timers.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildXsnap } from './build-xsnap.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Bundles a TS/JS entry into one plain script XS can run (`xsnap -s`). Returns the output path. */
export async function bundleForXs(entry, outfile = join(root, 'tools/.cache/xs', basename(entry).replace(/\.[cm]?[jt]s$/, '.js'))) {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: [resolve(root, entry)],
    outfile,
    bundle: true,
    format: 'iife',
    globalName: 'XsMqtt',
    platform: 'neutral',
    target: 'es2022',
    mangleProps: /^_/, // as tools/build.mjs does for the shipped XS build
    logLevel: 'warning',
  });
  return outfile;
}

/** Runs one script under xsnap; resolves to { code, stdout, stderr } (never rejects on exit code). */
export async function runXs(file, { timeoutMs = 120_000, args = [] } = {}) {
  const { xsnap } = await buildXsnap();
  return new Promise((ok, fail) => {
    const child = spawn(xsnap, [...args, '-s', resolve(file)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ok({ code: code ?? signal, stdout, stderr });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let file = process.argv[2];
  if (!file) {
    console.error('usage: node tools/xs/run.mjs <file.js|file.ts>');
    process.exit(2);
  }
  if (/\.[cm]?ts$/.test(file)) file = await bundleForXs(file);
  const r = await runXs(file);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exit(typeof r.code === 'number' ? r.code : 1);
}
