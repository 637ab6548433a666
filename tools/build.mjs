// Builds the library with esbuild: an ESM build for Node (dist/*.js), a build for XS (dist/xs/*.js,
// ES2022, Moddable's module specifiers left external) and the type declarations (tsc).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const entries = { index: 'src/index.ts', codec: 'src/codec/index.ts' };
// Private members are named _x and mangled (mangleProps): the codec's bytes are budgeted (tools/size.mjs).
const common = { absWorkingDir: root, bundle: true, format: 'esm', logLevel: 'warning', legalComments: 'none', mangleProps: /^_/ };

rmSync(root + 'dist', { recursive: true, force: true });
for (const [name, entry] of Object.entries(entries)) {
  await build({ ...common, entryPoints: [entry], outfile: `dist/${name}.js`, platform: 'neutral', target: 'es2022' });
  await build({
    ...common,
    entryPoints: [entry],
    outfile: `dist/xs/${name}.js`,
    platform: 'neutral',
    target: 'es2022',
    external: ['embedded:*', 'timer', 'time'],
  });
}
execFileSync(process.execPath, [root + 'node_modules/typescript/bin/tsc', '-p', root + 'tsconfig.json', '--emitDeclarationOnly'], {
  stdio: 'inherit',
});
console.log('built dist/');
