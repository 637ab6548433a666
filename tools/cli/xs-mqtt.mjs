#!/usr/bin/env node
// `xs-mqtt pub` / `xs-mqtt sub`: the package's bin. The program is TypeScript (tools/cli/main.ts,
// on src/ and hosts/node/). An installed package runs the build of it, dist/cli.js; a checkout of
// the repository bundles it with esbuild (tools/run-ts.mjs, as npm start does), in some tens of
// milliseconds, so that there is no build step to run first — and also when dist/cli.js is older
// than the sources, so that a stale build never runs in place of the code being edited.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const built = `${root}dist/cli.js`;
const source = `${root}tools/cli/main.ts`;

/** The newest modification time of the .ts files under `dir` (0 when there are none). */
function newest(dir) {
  let t = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function stale() {
  if (!existsSync(source)) return false; // an installed package: the build is all there is
  const at = statSync(built).mtimeMs;
  return ['tools/cli', 'src', 'hosts/node'].some((d) => newest(root + d) > at);
}

async function load() {
  if (existsSync(built) && !stale()) return import(pathToFileURL(built).href);
  if (!existsSync(source)) {
    throw new Error(`xs-mqtt: neither ${built} nor ${source} exists: build the package (npm run build)`);
  }
  const { importTs } = await import('../run-ts.mjs'); // a checkout: bundled from the sources
  return importTs('tools/cli/main.ts');
}

/** The package's version, for --version ('' when package.json is missing or has none). */
function version() {
  try {
    return JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version ?? '';
  } catch {
    return '';
  }
}

const program = await load();
const code = await program.main(process.argv.slice(2), version());
process.exitCode = code;
// Everything is closed by now and the process ends by itself; should anything linger, do not hang.
setTimeout(() => process.exit(code), 2000).unref();
