// Builds the sensor app for Moddable (npm run build:xs): esbuild bundles examples/sensor/main.ts
// into dist/xs/sensor.js, the module examples/sensor/manifest.json names. The library and the host
// are not bundled again: imports of src/index.ts, hosts/moddable/index.ts and hosts/moddable/tls.ts
// become imports of "xs-mqtt", "xs-mqtt/moddable" and "xs-mqtt/tls", which manifest_mqtt.json (and
// manifest_tls.json) map to dist/xs/index.js, moddable.js and tls.js (tools/build.mjs, run first
// when they are missing) and preload. Moddable's own modules (embedded:*, timer, time, mc/*,
// Resource) stay imports for mcconfig.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { XS_ESBUILD, postProcess } from '../../tools/xs-post.mjs';

const root = new URL('../..', import.meta.url).pathname;
const external = ['embedded:*', 'timer', 'time', 'mc/*', 'Resource'];

if (!existsSync(root + 'dist/xs/index.js') || !existsSync(root + 'dist/xs/moddable.js') || !existsSync(root + 'dist/xs/tls.js')) execFileSync(process.execPath, [root + 'tools/build.mjs'], { stdio: 'inherit' });

/**
 * src/index.ts → the "xs-mqtt" module and hosts/moddable/index.ts → "xs-mqtt/moddable" (one copy of
 * the library and of the host on the device, both preloaded: manifest_mqtt.json).
 */
const library = {
  name: 'xs-mqtt-external',
  setup(b) {
    b.onResolve({ filter: /\/src\/index\.js$/ }, () => ({ path: 'xs-mqtt', external: true }));
    b.onResolve({ filter: /\/hosts\/moddable\/index\.js$/ }, () => ({ path: 'xs-mqtt/moddable', external: true }));
    b.onResolve({ filter: /\/hosts\/moddable\/tls\.js$/ }, () => ({ path: 'xs-mqtt/tls', external: true }));
  },
};

await build({
  absWorkingDir: root,
  entryPoints: ['examples/sensor/main.ts'],
  outfile: 'dist/xs/sensor.js',
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
const text = readFileSync(root + 'dist/xs/sensor.js', 'utf8');
const imports = [...text.matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']/g)].map((m) => m[1] ?? m[2]);
const allowed = (s) => s === 'xs-mqtt' || s === 'xs-mqtt/moddable' || s === 'xs-mqtt/tls' || s === 'timer' || s === 'time' || s === 'Resource' || s.startsWith('embedded:') || s.startsWith('mc/');
const bad = imports.filter((s) => !allowed(s));
if (bad.length || /\bfrom\s*["']node:/.test(text)) throw new Error('dist/xs/sensor.js imports ' + bad.join(', '));
// …and only names the device's "xs-mqtt" (src/device.ts) exports: a missing one aborts the app at link time on the device.
const exported = (file) => new Set([...readFileSync(root + file, 'utf8').matchAll(/export\s*\{([^}]*)\}/g)].flatMap((m) => m[1].split(',').map((e) => e.trim().split(/\s+as\s+/).pop())));
for (const [spec, file] of [['xs-mqtt', 'dist/xs/index.js'], ['xs-mqtt/moddable', 'dist/xs/moddable.js'], ['xs-mqtt/tls', 'dist/xs/tls.js']]) {
  const names = exported(file);
  for (const m of text.matchAll(new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*["']${spec}["']`, 'g'))) {
    const missing = m[1].split(',').map((e) => e.trim().split(/\s+as\s+/)[0]).filter((n) => n && !names.has(n));
    if (missing.length) throw new Error(`dist/xs/sensor.js imports ${missing.join(', ')} from ${spec}, which ${file} does not export (src/device.ts)`);
  }
}
console.log('built dist/xs/sensor.js; imports: ' + [...new Set(imports)].join(', '));

// ECMA-419's MQTT client class (hosts/moddable/mqttclient.ts → dist/xs/mqttclient.js), what
// manifest_mqttclient.json maps "embedded:network/mqtt/client" to. Self-contained: the Session and
// the codec are bundled in (an app on this API does not load "xs-mqtt"), minified and mangled as
// the library is (tools/build.mjs).
await build({
  absWorkingDir: root,
  ...XS_ESBUILD,
  entryPoints: ['hosts/moddable/mqttclient.ts'],
  outfile: 'dist/xs/mqttclient.js',
});
writeFileSync(root + 'dist/xs/mqttclient.js', postProcess(readFileSync(root + 'dist/xs/mqttclient.js', 'utf8'), 'mqttclient.js')); // as tools/build.mjs
console.log('built dist/xs/mqttclient.js');
