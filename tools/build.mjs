// Builds the library with esbuild: an ESM build for Node (dist/*.js), a build for XS (dist/xs/*.js,
// ES2022, Moddable's module specifiers left external) and the type declarations (tsc).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { XS_ESBUILD, postProcess } from './xs-post.mjs';

const root = new URL('..', import.meta.url).pathname;
const entries = { index: 'src/index.ts', codec: 'src/codec/index.ts' };
// Private members are named _x and mangled (mangleProps): the codec's bytes are budgeted (tools/size.mjs).
const common = { absWorkingDir: root, bundle: true, format: 'esm', logLevel: 'warning', legalComments: 'none', mangleProps: /^_/ };

rmSync(root + 'dist', { recursive: true, force: true });
// On the device, "xs-mqtt" is src/device.ts (the client's API only: every export costs flash there),
// minified: shorter names are fewer bytes of bytecode and keys (tools/moddable/size.mjs measures it).
const xsEntries = { index: 'src/device.ts', codec: 'src/codec/index.ts' };
for (const [name, entry] of Object.entries(entries)) {
  await build({ ...common, entryPoints: [entry], outfile: `dist/${name}.js`, platform: 'neutral', target: 'es2022' });
  await build({ ...XS_ESBUILD, absWorkingDir: root, entryPoints: [xsEntries[name]], outfile: `dist/xs/${name}.js` });
}
// The hosts: Node's (dist/node.js, the "./node" export) and Moddable's (dist/xs/moddable.js, the
// "./moddable" export and manifest_mqtt.json's "xs-mqtt/moddable"). Neither carries a second copy
// of the library: Moddable's imports only types from src/, and Node's NodeClient, which extends
// Client, imports it from dist/index.js.
const srcAsIndex = {
  name: 'src-as-index',
  setup: (b) => b.onResolve({ filter: /^\.\.\/\.\.\/src\/index\.js$/ }, () => ({ path: './index.js', external: true })),
};
await build({ ...common, entryPoints: ['hosts/node/index.ts'], outfile: 'dist/node.js', platform: 'node', target: 'node20', plugins: [srcAsIndex] });
await build({ ...XS_ESBUILD, absWorkingDir: root, entryPoints: ['hosts/moddable/index.ts'], outfile: 'dist/xs/moddable.js' });
// TLS for it (dist/xs/tls.js, the "./tls" export and manifest_tls.json's "xs-mqtt/tls"): a module of
// its own, so that an app without TLS links none of it.
await build({ ...XS_ESBUILD, absWorkingDir: root, entryPoints: ['hosts/moddable/tls.ts'], outfile: 'dist/xs/tls.js' });
// What esbuild writes costs more than it must on XS (tools/xs-post.mjs): a module variable read by a
// function is a closure slot in flash, a function declaration carries a prototype object, and a
// module `var` is aliasable. The device modules are post-processed.
for (const f of ['index', 'codec', 'moddable', 'tls']) {
  const file = `${root}dist/xs/${f}.js`;
  writeFileSync(file, postProcess(readFileSync(file, 'utf8'), f + '.js'));
}
// The command-line tool (xs-mqtt pub/sub, the package's bin: tools/cli/xs-mqtt.mjs loads this).
await build({ ...common, entryPoints: ['tools/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', target: 'node20', packages: 'external' });
const tsc = (...args) => execFileSync(process.execPath, [root + 'node_modules/typescript/bin/tsc', ...args], { stdio: 'inherit' });
tsc('-p', root + 'tsconfig.json', '--emitDeclarationOnly');
// Declarations of the hosts, at dist/types/hosts/node/ and dist/types/hosts/moddable/ (the exports'
// "types"). tsc emits a host with every file it reaches (src/ again, the app, the XS test stand-ins
// of tools/xs/device), so it emits to a scratch directory, and only the hosts' index.d.ts are kept,
// their imports of src/ pointed at the declarations above: one types tree, nothing of the tests.
const scratch = root + 'dist/.types-scratch/';
tsc('-p', root + 'tsconfig.moddable.json', '--noEmit', 'false', '--declaration', '--emitDeclarationOnly', '--outDir', scratch);
tsc(root + 'hosts/node/index.ts', '--declaration', '--emitDeclarationOnly', '--outDir', scratch, '--rootDir', root,
  '--target', 'ES2022', '--module', 'ES2022', '--moduleResolution', 'bundler', '--types', 'node', '--strict', '--skipLibCheck');
for (const [h, file] of [['node', 'index'], ['moddable', 'index'], ['moddable', 'tls'], ['moddable', 'ipv4']]) {
  const text = readFileSync(`${scratch}hosts/${h}/${file}.d.ts`, 'utf8');
  // hosts/<h>/index.d.ts → dist/types/hosts/<h>/index.d.ts: '../../src/x' is '../../x' there.
  const fixed = text.replace(/(['"])\.\.\/\.\.\/src\//g, '$1../../');
  if (/['"](?:\.\.\/)+(?:src|tools|test|hosts)\//.test(fixed)) throw new Error(`hosts/${h}/${file}.d.ts imports a file outside the package's types: ${fixed}`);
  mkdirSync(`${root}dist/types/hosts/${h}`, { recursive: true });
  writeFileSync(`${root}dist/types/hosts/${h}/${file}.d.ts`, fixed);
}
rmSync(scratch, { recursive: true, force: true });
console.log('built dist/');
