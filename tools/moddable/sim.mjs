// The real Moddable runtime as a test oracle: builds an app with the Moddable SDK's mcconfig (found
// through $MODDABLE, as on every Moddable user's machine) and runs it headless in the SDK's simulator
// (mcsim under a private Xvfb), reading its trace() lines from stdout.
//
//   const app = await buildApp({ manifest: 'examples/sensor/manifest.json', config: { broker: '127.0.0.1' } });
//   const run = startApp(app.so);
//   await run.waitFor(/online/, 10_000);   // the matching line; on a timeout, an error with the app's output
//   await run.stop();
//
// Facts the harness relies on (SDK 8.2.3): mcsim needs an X display; `stdbuf -o0` makes trace()
// reach stdout line by line; `-d` must not be combined with `-m` on lin (the generated makefile
// then runs `pkill mcsim`); mcconfig takes config overrides as key=value arguments.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);

/** How to get the SDK, for the one line a skipped suite prints. */
export const HOW_TO_GET_THE_SDK = 'no Moddable SDK ($MODDABLE unset): eval "$(bash ../shared/moddable/setup.sh)" builds one (or install it as Moddable\'s guide says)';

/** The SDK's folder and its lin tools, or null when $MODDABLE is not set or not built. */
export function sdk() {
  const moddable = process.env.MODDABLE;
  if (!moddable) return null;
  const bin = join(moddable, 'build/bin/lin/release');
  if (!existsSync(join(bin, 'mcconfig')) || !existsSync(join(bin, 'mcsim'))) return null;
  return { moddable, bin };
}

/** Whether the simulator suites must run (CI with the SDK): a skip is then a failure. */
export function simRequired() {
  return process.env.XS_MQTT_REQUIRE_SIM === '1';
}

function env(s) {
  return { ...process.env, MODDABLE: s.moddable, PATH: s.bin + ':' + process.env.PATH };
}

/** Makes sure dist/xs (what the manifests map: the library, the host, the ECMA-419 class, the sensor app) exists. */
export function ensureBuilt() {
  if (['index', 'moddable', 'mqttclient', 'sensor'].every((f) => existsSync(join(ROOT, `dist/xs/${f}.js`)))) return;
  for (const tool of ['tools/build.mjs', 'hosts/moddable/build.mjs']) {
    const r = spawnSync(process.execPath, [join(ROOT, tool)], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(tool + ' failed\n' + r.stdout + r.stderr);
  }
}

/** The first file called `name` under `dir`, depth first, or null. */
export function findFile(dir, name) {
  if (!existsSync(dir)) return null;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === name) return p;
    if (statSync(p).isDirectory()) {
      const f = findFile(p, name);
      if (f) return f;
    }
  }
  return null;
}

/**
 * `pack`: the app is an npm-style project (package.json, dependencies installed) in the folder of
 * `manifest` (which need not exist), built as `mcpack mcconfig …`, as Moddable's guide does.
 * Builds the app of `manifest` for the simulator (`mcconfig -m -p lin`, `-i` with `instrument` for
 * the Instrumentation counters) into its own folder. Returns { so, dir, xsb, archive, log }: the
 * simulator library, the build folder, the folder of .xsb files, the linked archive (mc.xs.c.o),
 * and mcconfig's output. Throws with that output when the build fails.
 */
export async function buildApp({ manifest, config = {}, instrument = false, out, platform = 'lin', timeoutMs = 300_000, pack = false }) {
  const s = sdk();
  if (!s) throw new Error(HOW_TO_GET_THE_SDK);
  const dir = out ?? join(tmpdir(), 'xs-mqtt-mc', basename(dirname(resolve(manifest))) + '-' + process.pid + '-' + Math.random().toString(36).slice(2, 8));
  mkdirSync(dir, { recursive: true });
  const args = ['-m', '-p', platform, '-o', dir];
  if (instrument) args.push('-i');
  if (!pack) args.push(resolve(manifest));
  else args.unshift('mcconfig');
  for (const [k, v] of Object.entries(config)) args.push(`${k}=${v}`);
  const log = await new Promise((res, rej) => {
    const child = spawn(join(s.bin, pack ? 'mcpack' : 'mcconfig'), args, { cwd: dirname(resolve(manifest)), env: env(s), stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (text += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (text += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', rej);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) res(text);
      else rej(new Error(`mcconfig ${args.join(' ')} failed (${code})\n${text.split('\n').slice(-40).join('\n')}`));
    });
  });
  const so = findFile(join(dir, 'bin'), 'mc.so');
  const archive = findFile(join(dir, 'tmp'), 'mc.xs.c.o');
  if (!so) throw new Error('mcconfig made no mc.so\n' + log);
  const xsbRoot = archive ? join(dirname(archive), 'modules') : null;
  return { so, dir, xsb: xsbRoot, archive, log };
}

let display = null;

/** A private Xvfb for mcsim (started once per process, stopped at exit): its DISPLAY value. */
export async function startDisplay() {
  if (display) return display.name;
  // Its display number comes on fd 1, once; its warnings (stderr) are not read.
  // Under a shell that ends it when this process is gone: a test worker killed with a signal runs
  // no exit handler, and its Xvfb would outlive it.
  const watch = `Xvfb -displayfd 1 -nolisten tcp -screen 0 800x600x24 & x=$!; trap 'kill $x 2>/dev/null' EXIT; trap exit TERM INT; ` +
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 $x 2>/dev/null; do sleep 1; done`;
  const child = spawn('sh', ['-c', watch], { stdio: ['ignore', 'pipe', 'ignore'] });
  const name = await new Promise((res, rej) => {
    let text = '';
    const timer = setTimeout(() => rej(new Error('Xvfb gave no display within 10 s')), 10_000);
    child.once('error', (e) => rej(new Error('cannot start Xvfb (apt-get install xvfb): ' + e.message)));
    child.stdout.setEncoding('utf8').on('data', (d) => {
      text += d;
      const m = /^(\d+)\n/.exec(text);
      if (m) {
        clearTimeout(timer);
        res(':' + m[1]);
      }
    });
    child.once('exit', (code) => rej(new Error('Xvfb exited (' + code + ')')));
  });
  // Nothing more is read from it: its pipe must not keep this process alive.
  child.stdout.destroy();
  child.unref();
  display = { name, child };
  process.once('exit', () => child.kill('SIGTERM'));
  return name;
}

/**
 * Runs a built app in mcsim, headless. Returns { lines, waitFor(re, ms), next(re, ms), output(),
 * stop(), exited }: `lines` are its trace lines so far; waitFor resolves with the first match of
 * `re` among all lines (next: among lines after the last match it returned) and rejects, with the
 * app's output, on timeout or exit.
 */
export async function startApp(so, { timeoutMs = 15_000 } = {}) {
  const s = sdk();
  if (!s) throw new Error(HOW_TO_GET_THE_SDK);
  const DISPLAY = await startDisplay();
  const child = spawn('stdbuf', ['-o0', join(s.bin, 'mcsim'), so], { env: { ...env(s), DISPLAY, NO_AT_BRIDGE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let partial = '';
  let stderr = '';
  let exitCode;
  const waiters = new Set();
  const wake = () => waiters.forEach((w) => w());
  child.stdout.setEncoding('utf8').on('data', (d) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop();
    for (const l of parts) lines.push(l);
    wake();
  });
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((res) => child.once('exit', (code, signal) => res((exitCode = code ?? signal))));
  exited.then(wake);
  let cursor = 0;
  const output = () => lines.concat(partial ? [partial] : []).join('\n') + (stderr ? '\n[stderr]\n' + stderr.slice(-4000) : '');
  function find(re, from) {
    for (let i = from; i < lines.length; i++) {
      const m = re.exec(lines[i]);
      if (m) return { m, i };
    }
    return null;
  }
  function wait(re, ms, from, advance) {
    return new Promise((res, rej) => {
      const check = () => {
        const f = find(re, typeof from === 'function' ? from() : from);
        if (f) {
          done();
          if (advance) cursor = f.i + 1;
          res(f.m);
        } else if (exitCode !== undefined) {
          done();
          rej(new Error(`the app exited (${exitCode}) before a line matching ${re}\n--- app output ---\n${output()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        rej(new Error(`no line matching ${re} within ${ms} ms\n--- app output ---\n${output()}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  }
  return {
    lines,
    pid: child.pid,
    output,
    exited,
    waitFor: (re, ms = timeoutMs) => wait(re, ms, 0, false),
    next: (re, ms = timeoutMs) => wait(re, ms, () => cursor, true),
    async stop() {
      if (exitCode === undefined) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
