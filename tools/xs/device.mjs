// Runs the device app (examples/sensor/main.ts with the Moddable host, the client, the session and
// the codec, bundled as for a board) inside xsnap-worker, the real XS engine, with Node playing the
// board: `embedded:io/socket/tcp` becomes a real TCP connection made by Node (tools/xs/device/),
// `timer` and `time` run on this process's clock, and `mc/config` is the config given here. What the
// app sends reaches a real broker and what the broker sends reaches the app.
// `embedded:io/socket/tcp/tls` is a TLS connection made by Node (node:tls), verified against the CA the
// app gives and the device's certificate store (`tlsStore`), and `embedded:network/dns/resolver/udp`
// answers from `names` (a name it lacks does not resolve).
//   const d = await startDevice({ config: { broker: '127.0.0.1', port, clientId: 'dev-1', interval: 200 } });
//   d.lines()  // the app's trace output;  d.cut()  // drop its links;  d.opens  // what it opened;  await d.stop()
import { build } from 'esbuild';
import { mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker } from './worker.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OPEN = 1;
const WRITE = 2;
const CLOSE = 3;
const OPEN_TLS = 4;
const RESOLVE = 5;
const SEND_BUFFER = 5744; // as tools/xs/device/tcp.ts

/** Moddable's modules → their stand-ins in tools/xs/device/. */
const standIns = {
  'embedded:io/socket/tcp': 'tcp.ts',
  'embedded:io/socket/tcp/tls': 'tls.ts',
  'embedded:io/socket/udp': 'unavailable.ts', // only handed to the resolver, which does not use it here
  'embedded:network/dns/resolver/udp': 'dns.ts',
  timer: 'timer.ts',
  time: 'time.ts',
  'mc/config': 'config.ts',
  Resource: 'resource.ts',
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
          b.onResolve({ filter: /^(embedded:|timer$|time$|mc\/config$|Resource$)/ }, (a) => {
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

/** A DER certificate (base64) as PEM, for node:tls. */
function pem(b64, label = 'CERTIFICATE') {
  return `-----BEGIN ${label}-----\n${b64.replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;
}

/**
 * Starts the app in xsnap-worker. `tlsStore`: PEM CAs the device trusts without being told (the
 * certificate store a Moddable build carries); `names`: host name → dotted IPv4 address, the DNS
 * the device reaches (`localhost` included unless overridden); it may be changed while running;
 * `resources`: name → bytes, the app's resources (the `Resource` module).
 */
export async function startDevice({ config, tickMs = 10, tlsStore = [], names = {}, resources = {} }) {
  const dns = { localhost: '127.0.0.1', ...names };
  /** Every link the app opened: { tls, address, port, servername }. */
  const opens = [];
  /** Links whose TLS handshake the device itself would have given up on: it never hears of their end. */
  const silent = new Set();
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
      if (op === RESOLVE) {
        const name = b.subarray(2).toString('latin1');
        const address = Object.hasOwn(dns, name) ? dns[name] : null;
        setTimeout(() => post(`xsDevice.resolved(${id}, ${JSON.stringify(address)})`), 2); // later, as a UDP answer
      } else if (op === OPEN || op === OPEN_TLS) {
        const host = `${b[2]}.${b[3]}.${b[4]}.${b[5]}`;
        const port = (b[6] << 8) | b[7];
        let s;
        if (op === OPEN_TLS) {
          const o = JSON.parse(b.subarray(8).toString('latin1'));
          opens.push({ tls: true, address: host, port, servername: o.servername });
          s = tls.connect({
            host, port, servername: o.servername, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2',
            ca: [...(o.ca ? [pem(o.ca)] : []), ...tlsStore],
            ...(o.cert ? { cert: pem(o.cert) } : {}),
            ...(o.key ? { key: pem(o.key, 'PRIVATE KEY') } : {}),
            // Moddable's ssl/* checks the chain and the dates, not the host name (its verifyHost is
            // commented out in ssl_handshake.js): `host` is only sent, as SNI. As lenient here.
            checkServerIdentity: () => undefined,
          });
          s.on('secureConnect', () => post(`xsDevice.connected(${id}, ${SEND_BUFFER})`));
          // A chain the device does not trust: Moddable's handshake throws inside the TCP socket's
          // onReadable (tlssocket.js catches nothing), so the app hears nothing — no onError, no
          // alert sent — and the broker waits for the rest of the handshake; the client's open
          // timeout ends it. A refusal by the broker (an alert, then its FIN) is an onError as usual.
          s.on('error', (e) => {
            const code = e.code ?? '';
            if (!code.includes('ALERT') && /CERT|VERIFY|SIGNATURE|ISSUER/.test(code)) silent.add(id);
          });
        } else {
          opens.push({ tls: false, address: host, port });
          s = net.connect({ host, port });
          s.on('connect', () => post(`xsDevice.connected(${id}, ${SEND_BUFFER})`));
        }
        s.setNoDelay(true);
        sockets.set(id, s);
        s.on('data', (d) => post(`xsDevice.data(${id}, "${d.toString('hex')}")`));
        s.on('close', () => {
          if (sockets.get(id) === s) sockets.delete(id);
          if (!silent.has(id)) post(`xsDevice.error(${id})`);
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
  const hex = Object.fromEntries(Object.entries(resources).map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
  await worker.evaluate(`globalThis.xsDeviceResources = ${JSON.stringify(hex)};`);
  await worker.evaluate(code); // the app starts: it opens its link
  await post('');
  const ticker = setInterval(() => post(''), tickMs);

  return {
    /** The app's trace lines so far. */
    lines: () => worker.stdout.split('\n').filter(Boolean),
    /** Evaluation errors (an exception escaping the app), if any. */
    errors,
    /** The links the app opened, in order: { tls, address, port, servername }. */
    opens,
    /** The device's DNS: set or delete names while it runs. */
    names: dns,
    /** Drops every TCP link the app has, as a network failure would (no MQTT DISCONNECT). */
    cut() {
      for (const s of sockets.values()) s.destroy();
    },
    async stop() {
      clearInterval(ticker);
      // No new evaluation from here on (a socket event or a DNS answer may still come), then let the
      // queued ones finish before the worker goes.
      stopped = true;
      await chain;
      for (const s of sockets.values()) s.destroy();
      await worker.close();
    },
  };
}
