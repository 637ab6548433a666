// npm's `prepare`: builds dist/ when the package is installed from a git checkout, so that an unbuilt
// clone installs like a published package. npm runs it for a git dependency (`npm install
// github:…` or `git+file://…`) after installing the clone's dev dependencies, and for a folder
// (`npm install ../xs-mqtt`, a symlink) without them: then they are installed first (npm ci, no
// scripts), here in the checkout. This repository's own `npm ci` does not run it (.npmrc:
// ignore-scripts); `npm run build` is the step there.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// The npm that runs this script (npm_execpath), else the one on the PATH.
const npm = (...args) =>
  process.env.npm_execpath
    ? execFileSync(process.execPath, [process.env.npm_execpath, ...args], { cwd: root, stdio: 'inherit' })
    : execFileSync('npm', args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });

if (!['esbuild', 'typescript'].every((p) => existsSync(`${root}node_modules/${p}/package.json`))) {
  process.stderr.write('xs-mqtt prepare: the build needs the dev dependencies: npm ci --ignore-scripts\n');
  npm('ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error');
}
npm('run', '--silent', 'build');
