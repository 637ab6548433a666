// Runs the device app (hosts/moddable/main.ts with the Moddable host, the client, the session and
// the codec, bundled as for a board) inside xsnap-worker, the real XS engine, with Node playing the
// board: `embedded:io/socket/tcp` becomes a real TCP connection made by Node (tools/xs/device/),
// `timer` and `time` run on this process's clock, and `mc/config` is the config given here. What the
// app sends reaches a real broker and what the broker sends reaches the app.
//   const d = await startDevice({ config: { broker: '127.0.0.1', port, clientId: 'dev-1', interval: 200 } });
//   d.lines()  // the app's trace output;  d.cut()  // drop its TCP links;  await d.stop()
import { build } from 'esbuild';
import { mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker } from './worker.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OPEN = 1;
const WRITE = 2;
const CLOSE = 3;
const SEND_BUFFER = 5744; // as tools/xs/device/tcp.ts

/** Moddable's modules → their stand-ins in tools/xs/device/. */
const standIns = {
  'embedded:io/socket/tcp': 'tcp.ts',
  'embedded:io/socket/tcp/tls': 'unavailable.ts',
  'embedded:io/socket/udp': 'unavailable.ts',
  'embedded:network/dns/resolver/udp': 'unavailable.ts',
  timer: 'timer.ts',
  time: 'time.ts',
  'mc/config': 'config.ts',
};

/**
 * Bundles `entry` for XS with Moddable's modules replaced by their stand-ins (`overrides` maps more
 * module names to files in tools/xs/device/).
 */
export async function bundleWithStandIns(entry, outfile, overrides = {}) {
  const map = { ...standIns, ...overrides };
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'iife',
    platform: 'neutral',
    target: 'es2022',
    mangleProps: /^_/, // as the device build
    ignoreAnnotations: true, // package.json says sideEffects: false; the app and io.ts are all side effects
    logLevel: 'warning',
    plugins: [
      {
        name: 'moddable-stand-ins',
        setup(b) {
          b.onResolve({ filter: /^(embedded:|timer$|time$|mc\/config$)/ }, (a) => {
            const file = map[a.path];
            if (!file) return { errors: [{ text: `no stand-in for ${a.path}` }] };
            return { path: join(root, 'tools/xs/device', file) };
          });
        },
      },
    ],
  });
  return outfile;
}

/** The device app (tools/xs/device/entry.ts) bundled for xsnap. */
export function bundleDevice() {
  return bundleWithStandIns('tools/xs/device/entry.ts', join(root, 'tools/.cache/xs/device.js'));
}

export async function startDevice({ config, tickMs = 10 }) {
  const code = readFileSync(await bundleDevice(), 'utf8');
  const sockets = new Map();
  const errors = [];
  const t0 = performance.now();
  const nowMs = () => 1000 + Math.floor(performance.now() - t0);
  let chain = Promise.resolve();
  let stopped = false;
  // One evaluation at a time, as a run loop: time first (due timers fire), then the event.
  const post = (script) => {
    if (stopped) return chain;
    chain = chain.then(() => worker.evaluate(`xsDevice.tick(${nowMs()}); ${script}`)).catch((e) => void errors.push(e));
    return chain;
  };

  const worker = await startWorker({
    onCommand(b) {
      const op = b[0];
      const id = b[1];
      if (op === OPEN) {
        const s = net.connect({ host: `${b[2]}.${b[3]}.${b[4]}.${b[5]}`, port: (b[6] << 8) | b[7] });
        s.setNoDelay(true);
        sockets.set(id, s);
        s.on('connect', () => post(`xsDevice.connected(${id}, ${SEND_BUFFER})`));
        s.on('data', (d) => post(`xsDevice.data(${id}, "${d.toString('hex')}")`));
        s.on('close', () => {
          if (sockets.get(id) === s) sockets.delete(id);
          post(`xsDevice.error(${id})`);
        });
        s.on('error', () => {});
      } else if (op === WRITE) {
        const s = sockets.get(id);
        // Once written out, the send buffer is empty again: onWritable with its whole room.
        s?.write(Buffer.from(b.subarray(2)), () => post(`xsDevice.writable(${id}, ${SEND_BUFFER})`));
      } else if (op === CLOSE) {
        const s = sockets.get(id);
        sockets.delete(id);
        s?.end();
      }
      return undefined;
    },
  });

  await worker.evaluate(`globalThis.xsDeviceConfig = ${JSON.stringify(config)};`);
  await worker.evaluate(code); // the app starts: it opens its link
  await post('');
  const ticker = setInterval(() => post(''), tickMs);

  return {
    /** The app's trace lines so far. */
    lines: () => worker.stdout.split('\n').filter(Boolean),
    /** Evaluation errors (an exception escaping the app), if any. */
    errors,
    /** Drops every TCP link the app has, as a network failure would (no MQTT DISCONNECT). */
    cut() {
      for (const s of sockets.values()) s.destroy();
    },
    async stop() {
      clearInterval(ticker);
      await chain;
      stopped = true;
      for (const s of sockets.values()) s.destroy();
      await worker.close();
    },
  };
}
