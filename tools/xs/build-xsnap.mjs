// Builds XS's `xsnap` (runs scripts: `xsnap -s file.js`) and `xsnap-worker` (netstring protocol on
// fds 3/4; every reply carries the heap slot count) from the C sources shipped in the npm package
// @agoric/xsnap, with the package's own makefiles. Outputs go to tools/.cache/xsnap/<version>/ and
// are reused while the package version (and this recipe) stays the same.
//   node tools/xs/build-xsnap.mjs   -> prints the path of the xsnap binary (the worker is beside it)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RECIPE = 1; // bump when the make invocation below changes: forces a rebuild
const GOAL = 'release';

function run(cmd, args, cwd) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? ok(out) : fail(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${code}\n${out}`))));
  });
}

export function xsnapPackage() {
  const dir = join(root, 'node_modules/@agoric/xsnap');
  const pj = join(dir, 'package.json');
  if (!existsSync(pj)) throw new Error('@agoric/xsnap is not installed (add it as a devDependency)');
  const { version } = JSON.parse(readFileSync(pj, 'utf8'));
  for (const p of ['moddable/xs/sources/xsAll.c', 'xsnap-native/xsnap/makefiles/lin/xsnap.mk']) {
    if (!existsSync(join(dir, p))) throw new Error(`@agoric/xsnap@${version} lacks ${p}: it must ship XS's C sources`);
  }
  return { dir, version };
}

/** Builds (once per package version) and returns { xsnap, worker, version, built, ms }. */
export async function buildXsnap({ log = () => {} } = {}) {
  const { dir, version } = xsnapPackage();
  const os = process.platform === 'darwin' ? 'mac' : 'lin';
  const out = join(root, 'tools/.cache/xsnap', `${version}-r${RECIPE}`);
  const bin = join(out, 'bin', os, GOAL);
  const result = { xsnap: join(bin, 'xsnap'), worker: join(bin, 'xsnap-worker'), version };
  const stamp = join(out, 'built.json');
  if (existsSync(stamp) && existsSync(result.xsnap) && existsSync(result.worker)) return { ...result, built: false, ms: 0 };

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const makefiles = join(dir, 'xsnap-native/xsnap/makefiles', os);
  // Command-line variables override the makefiles' own: BUILD_DIR keeps objects and binaries out of
  // node_modules. Each makefile is .NOTPARALLEL, so the two programs are built side by side instead.
  const common = [`MODDABLE=${join(dir, 'moddable')}`, `BUILD_DIR=${out}`, `GOAL=${GOAL}`];
  const t0 = Date.now();
  log(`building xsnap ${version} into ${out} ...`);
  await Promise.all([
    run('make', ['-f', 'xsnap.mk', ...common], makefiles),
    run('make', ['-f', 'xsnap-worker.mk', ...common, `XSNAP_VERSION=${version}`], makefiles),
  ]);
  const ms = Date.now() - t0;
  writeFileSync(stamp, JSON.stringify({ version, recipe: RECIPE, goal: GOAL, ms, at: new Date().toISOString() }) + '\n');
  log(`built in ${(ms / 1000).toFixed(1)} s`);
  return { ...result, built: true, ms };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await buildXsnap({ log: (m) => console.error(m) });
  console.log(r.xsnap);
}
