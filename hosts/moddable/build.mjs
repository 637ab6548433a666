// Builds the device app for Moddable (npm run build:xs): esbuild bundles hosts/moddable/main.ts
// (the app and the Moddable host) into dist/xs/main.js, the module manifest.json names. The library
// itself is not bundled again: imports of src/index.ts become imports of "xs-mqtt", which
// manifest_include.json maps to dist/xs/index.js (tools/build.mjs, run first when it is missing) and
// preloads. Moddable's own modules (embedded:*, timer, time, mc/*) stay imports for mcconfig.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const root = new URL('../..', import.meta.url).pathname;
const external = ['embedded:*', 'timer', 'time', 'mc/*'];

if (!existsSync(root + 'dist/xs/index.js')) execFileSync(process.execPath, [root + 'tools/build.mjs'], { stdio: 'inherit' });

/** src/index.ts → the "xs-mqtt" module (one copy of the library on the device, preloaded). */
const library = {
  name: 'xs-mqtt-external',
  setup(b) {
    b.onResolve({ filter: /\/src\/index\.js$/ }, () => ({ path: 'xs-mqtt', external: true }));
  },
};

await build({
  absWorkingDir: root,
  entryPoints: ['hosts/moddable/main.ts'],
  outfile: 'dist/xs/main.js',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  external,
  plugins: [library],
  logLevel: 'warning',
  legalComments: 'none',
  mangleProps: /^_/, // as tools/build.mjs: private members are _x
});

// The bundle must import only what mcconfig resolves: Moddable's modules and the library.
const text = readFileSync(root + 'dist/xs/main.js', 'utf8');
const imports = [...text.matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']/g)].map((m) => m[1] ?? m[2]);
const allowed = (s) => s === 'xs-mqtt' || s === 'timer' || s === 'time' || s.startsWith('embedded:') || s.startsWith('mc/');
const bad = imports.filter((s) => !allowed(s));
if (bad.length || /\bfrom\s*["']node:/.test(text)) throw new Error('dist/xs/main.js imports ' + bad.join(', '));
console.log('built dist/xs/main.js; imports: ' + [...new Set(imports)].join(', '));
