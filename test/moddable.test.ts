// The device on the real Moddable runtime: apps built with the Moddable SDK's mcconfig and run in its
// simulator (mcsim, headless) against a real Mosquitto, through tools/moddable/sim.mjs. The SDK is
// found through $MODDABLE. Without it these tests skip with one line saying how to get it; where
// .ci/run found ../shared/moddable/setup.sh (XS_MQTT_REQUIRE_SIM=1), a missing SDK is a failure.
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs tools without declarations
import { buildApp, ensureBuilt, findFile, HOW_TO_GET_THE_SDK, sdk, simRequired, startApp } from '../tools/moddable/sim.mjs';
import { startMosquitto } from './brokers/mosquitto.js';
import type { Broker } from './brokers/mosquitto.js';

const root = new URL('..', import.meta.url).pathname;
const have = !!sdk();
if (!have && !simRequired()) console.log('test/moddable.test.ts skipped: ' + HOW_TO_GET_THE_SDK);

describe('the Moddable SDK is there when CI says it must be', () => {
  it.runIf(simRequired())('$MODDABLE names a built SDK', () => {
    expect(sdk(), HOW_TO_GET_THE_SDK).toBeTruthy();
  });
});

describe.runIf(have)('on the real Moddable runtime (mcsim) against Mosquitto', () => {
  let broker: Broker;
  beforeAll(async () => {
    ensureBuilt();
    broker = await startMosquitto({ tls: true });
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  });

  it('the sensor app (examples/sensor): online, telemetry QoS 0, alerts QoS 1, a command; a broker SIGKILL and restart loses no QoS 1 alert; readings differ from boot to boot', async () => {
    const pb = await startMosquitto({ persistence: true });
    const id = 'simdev' + process.pid;
    const app = await buildApp({ manifest: root + 'examples/sensor/manifest.json', config: { broker: '127.0.0.1', port: pb.port, clientId: id, interval: 150, threshold: 22 } });
    // A persistent watcher: what the device sends while the watcher is away waits at the broker.
    const seen: { topic: string; text: string; qos: number }[] = [];
    const w = await mqtt.connectAsync(`mqtt://127.0.0.1:${pb.port}`, { clientId: 'watch' + id, clean: false, reconnectPeriod: 200 });
    w.on('message', (topic, payload, packet) => seen.push({ topic, text: payload.toString(), qos: packet.qos }));
    await w.subscribeAsync(`devices/${id}/#`, { qos: 1 });
    await pb.saved(0);
    const of = (leaf: string) => seen.filter((m) => m.topic === `devices/${id}/${leaf}`);
    const waitFor = async (what: string, ok: () => boolean, ms = 15_000) => {
      for (const until = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > until) throw new Error('timed out waiting for ' + what + '\n' + run.output());
    };
    let run = await startApp(app.so);
    const firstBoot: string[] = [];
    try {
      await run.waitFor(/^mqtt: online/);
      await waitFor('3 readings', () => of('telemetry').length >= 3);
      for (const m of of('telemetry')) expect(m.text).toMatch(/^\{"t":[1-4]\d\.\d\}$/);
      expect(of('telemetry')[0].qos).toBe(0);
      firstBoot.push(...of('telemetry').slice(0, 3).map((m) => m.text));
      await waitFor('an alert', () => of('alerts').length >= 1);
      expect(of('alerts')[0].qos).toBe(1);
      await w.publishAsync(`devices/${id}/cmd/interval`, '1000', { qos: 1 });
      await run.waitFor(/cmd\/interval 1000/);
      await w.publishAsync(`devices/${id}/cmd/interval`, '150', { qos: 1 });
      await run.waitFor(/cmd\/interval 150/);

      // SIGKILL: no goodbye. Alerts raised while the broker is down wait in the outbox.
      const queuedBefore = run.lines.filter((l: string) => / queued$/.test(l)).length;
      await pb.kill();
      await run.waitFor(/^mqtt: offline/);
      await waitFor('an alert raised offline', () => run.lines.filter((l: string) => / queued$/.test(l)).length > queuedBefore, 30_000);
      await pb.restart();
      const onlines = () => run.lines.filter((l: string) => l.startsWith('mqtt: online')).length;
      await waitFor('online again', () => onlines() >= 2, 90_000);
      const queued = run.lines.map((l: string) => /^mqtt: alert (\d+) queued$/.exec(l)).filter(Boolean).map((m: RegExpExecArray | null) => Number(m![1]));
      expect(queued.length).toBeGreaterThan(0);
      const got = () => new Set(of('alerts').map((m) => JSON.parse(m.text).n as number));
      await waitFor('every alert raised offline, delivered', () => queued.every((n: number) => got().has(n)), 20_000);
    } finally {
      await run.stop();
    }
    // A second boot: XS's Math.random repeats itself from boot to boot; the host's seeded random does not.
    const before = of('telemetry').length;
    run = await startApp(app.so);
    try {
      await waitFor('3 readings of the second boot', () => of('telemetry').length >= before + 3);
      expect(of('telemetry').slice(before, before + 3).map((m) => m.text)).not.toEqual(firstBoot);
    } finally {
      await run.stop();
      await w.endAsync();
      await pb.stop();
    }
  }, 300_000);

  it('the sensor app over Moddable\'s own TLS: a CA made by openssl at test time (an app resource) works; a device trusting another CA never connects', async () => {
    const tb = await startMosquitto({ tls: true, pki: 'rsa' });
    /** The sensor app with one DER certificate among its resources, as ca.der. */
    const appWithCa = async (pem: string, id: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'xs-mqtt-tlsapp-'));
      writeFileSync(join(dir, 'ca.der'), new X509Certificate(pem).raw);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ include: [root + 'examples/sensor/manifest.json'], resources: { '*': ['./ca'] } }));
      return buildApp({
        manifest: join(dir, 'manifest.json'),
        config: { broker: '127.0.0.1', port: tb.tlsPort, mqttTls: true, mqttServername: 'localhost', mqttCa: 'ca.der', clientId: id, interval: 300, threshold: 99 },
      });
    };
    const w = await mqtt.connectAsync(`mqtt://127.0.0.1:${tb.port}`, { clientId: 'watchtls' + process.pid, reconnectPeriod: 0 });
    const seen: string[] = [];
    w.on('message', (topic) => seen.push(topic));
    await w.subscribeAsync('devices/#', { qos: 1 });
    try {
      const good = 'simtls' + process.pid;
      const app = await appWithCa(tb.caPem, good);
      let run = await startApp(app.so);
      try {
        await run.waitFor(/^mqtt: online/, 30_000);
        const until = Date.now() + 15_000;
        while (seen.filter((t) => t === `devices/${good}/telemetry`).length < 2) {
          if (Date.now() > until) throw new Error('no telemetry over TLS\n' + run.output());
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await run.stop();
      }
      expect(tb.log()).toMatch(new RegExp(`New client connected from 127\\.0\\.0\\.1:\\d+ as ${good}`));

      const bad = 'simbadca' + process.pid;
      const other = await appWithCa(tb.otherCaPem, bad);
      run = await startApp(other.so);
      try {
        // Moddable's TLS rejects the chain by throwing inside its TCP socket's callback: uncaught, that
        // is "XS abort" (a board reboots). The host's guarded TCP socket turns it into the link's end.
        const m = await run.next(/^mqtt: offline, CONNECTION_LOST \((tls: [^)]*)\)/, 30_000);
        console.log('a device trusting another CA: ' + m[0]);
        expect(m[1]).toMatch(/^tls: /);
        await run.next(/^mqtt: offline, CONNECTION_LOST \(tls: /, 30_000); // again on the retry: still running
        expect(run.output()).not.toMatch(/XS abort/);
        expect(run.lines.some((l: string) => l.startsWith('mqtt: online'))).toBe(false);
      } finally {
        await run.stop();
      }
      // It never got as far as CONNECT: the broker never saw its client id, on either listener.
      expect(tb.log()).not.toContain(bad);
      expect(seen.some((t) => t.includes(bad))).toBe(false);
    } finally {
      await w.endAsync();
      await tb.stop();
    }
  }, 300_000);

  it('a minimal app that includes manifest_mqtt.json (examples/moddable): online, its QoS 1 message acknowledged and received back', async () => {
    const id = 'hello' + process.pid;
    const app = await buildApp({ manifest: root + 'examples/moddable/manifest.json', config: { broker: '127.0.0.1', port: broker.port, clientId: id } });
    const run = await startApp(app.so);
    try {
      await run.waitFor(/^hello: online$/);
      await run.waitFor(/^hello: acknowledged \d+$/);
      await run.waitFor(new RegExp(`^hello: received hello/${id} hello from xs-mqtt$`));
    } finally {
      await run.stop();
    }
  }, 300_000);

  it('flow control: a receive queue smaller than a read and than a message; the link keeps what the client cannot take and resumes, and every message arrives once, in order; a message larger than the socket takes at once goes out whole', async () => {
    const id = 'flow' + process.pid;
    const n = 200;
    const app = await buildApp({ manifest: root + 'test/moddable/flow/manifest.json', config: { port: broker.port, clientId: id, n } });
    const run = await startApp(app.so);
    const feeder = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'flowfeed' + process.pid, reconnectPeriod: 0 });
    const big: Buffer[] = [];
    feeder.on('message', (topic, payload) => topic === `flow/${id}/big` && big.push(payload));
    try {
      await feeder.subscribeAsync(`flow/${id}/big`, { qos: 1 });
      await run.waitFor(/^flow: ready$/, 60_000);
      // A burst: the broker writes them back to back, many to a read.
      await Promise.all(Array.from({ length: n }, (_, i) => feeder.publishAsync(`flow/${id}`, `${i} ${'x'.repeat(100)}`, { qos: 1 })));
      await run.waitFor(new RegExp(`^flow: received ${n}$`), 60_000);
      expect(run.lines.filter((l: string) => /^flow: (out of order|offline)/.test(l))).toEqual([]);
      // The device's 6,000 B message (written through the stage, in the socket's room, its tail held
      // back until onWritable): acknowledged, and every byte as sent.
      await run.waitFor(/^flow: big acknowledged$/, 30_000);
      expect(run.lines.filter((l: string) => /^flow: big \d+$/.test(l)).map((l: string) => Number(l.slice(10)) > 0)).toEqual([true]); // its packet id
      const until = Date.now() + 5000;
      while (!big.length && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(big.length).toBe(1);
      expect(big[0].length).toBe(6000);
      expect(big[0].every((b, i) => b === i % 251)).toBe(true);
    } finally {
      await feeder.endAsync();
      await run.stop();
    }
  }, 300_000);

  it('guards (test/moddable/guards): a DNS reply read after the resolver closed its socket (lwIP\'s batch of two) is no XS abort, for the host and the ECMA-419 class; a TLS write that returns NaN leaves no room, and both publishes are acknowledged; a write that throws returns false; a peer\'s close waits for the messages the link held back (QoS 0, and QoS 1 whose PUBACKs come after it)', async () => {
    const id = 'guards' + process.pid;
    // Part 4's broker: CONNACK, then 6 PUBLISHes ("t", "<i> xxx…", 38 B each at QoS 0, at QoS 1 on
    // the second connection 40 B) and a FIN, in one go: at most 244 B, which the link reads at once (its rx is 256 B).
    let connections = 0;
    const peer = createServer((socket) => {
      const qos = connections++ ? 1 : 0;
      socket.once('data', () => {
        const packets = [Buffer.from([0x20, 2, 0, 0])];
        for (let i = 0; i < 6; i++) {
          const payload = Buffer.from(`${i} `.padEnd(33, 'x'));
          packets.push(Buffer.from([0x30 | (qos << 1), 2 + 1 + payload.length + 2 * qos, 0, 1, 0x74]), ...(qos ? [Buffer.from([0, i + 1])] : []), payload);
        }
        socket.end(Buffer.concat(packets));
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    const peerPort = (peer.address() as AddressInfo).port;
    const app = await buildApp({ manifest: root + 'test/moddable/guards/manifest.json', config: { port: broker.port, clientId: id, peerPort } });
    const run = await startApp(app.so);
    try {
      // The resolver's socket is the app's ./fakeudp: "broker.test" is 127.0.0.1, answered twice in one onReadable.
      await run.waitFor(/^guards: host online$/, 20_000);
      await run.waitFor(/^guards: class online$/, 20_000);
      // Each lookup had its second reply read after the close (the case guarded), and went on.
      expect(run.lines.filter((l: string) => l === 'fakeudp: read after close').length).toBeGreaterThanOrEqual(2);
      await run.waitFor(/^guards: tls online$/, 20_000);
      await run.waitFor(/^guards: write returns NaN$/, 10_000);
      await run.waitFor(/^guards: tls acknowledged 2$/, 10_000);
      // None offline but the host part's stop() (-64) and the throw below.
      expect(run.lines.filter((l: string) => / offline (?!-64 |-37 injected$)/.test(l))).toEqual([]);
      // A write that throws ends the link: write() returns false, and the session does not report a
      // QoS 0 publish sent (WOULD_BLOCK, -1; 0 is "sent").
      expect((await run.waitFor(/^guards: qos0 through a throw (-?\d+)$/, 10_000))[1]).toBe('-1');
      await run.waitFor(/^guards: tls offline -37 injected$/, 10_000);
      // The peer's close waits for what the link still held (flow control): all 6, in order, then offline.
      expect((await run.waitFor(/^guards: peer qos0 offline (.*), received (\d+)$/, 20_000)).slice(1)).toEqual(['closed by peer', '6']);
      // QoS 1: the PUBACKs written after the close do not stop the client reading what is held (keepalive
      // 0: it would wait for ever). All but the last are handled: once the link has given the client
      // its last bytes it ends, and the PUBACK of a message still queued can no longer be written (the
      // client handles nothing after it; the broker sends that one again after the reconnect).
      const q1 = await run.waitFor(/^guards: peer qos1 offline (.*), received (\d+)$/, 20_000);
      expect(q1[1]).toBe('closed by peer');
      expect(Number(q1[2])).toBeGreaterThanOrEqual(5);
      expect(run.lines.filter((l: string) => l.startsWith('guards: peer out of order'))).toEqual([]);
      expect(run.output()).not.toMatch(/XS abort/);
    } finally {
      await run.stop();
      peer.close();
    }
  }, 300_000);

  it('an npm-style app built with mcpack from the npm pack tarball: the library preloaded (package.json "moddable"), online', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xs-mqtt-mcpack-'));
    const tgz = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'packapp', version: '1.0.0', type: 'module', main: 'main.js', dependencies: { 'xs-mqtt': 'file:./' + tgz } }));
    writeFileSync(
      join(dir, 'main.js'),
      [
        'import { Client } from "xs-mqtt";',
        'import { ModdableHost } from "xs-mqtt/moddable";',
        `const client = new Client(new ModdableHost(), { host: "127.0.0.1", port: ${broker.port}, clientId: "packapp${process.pid}" }, {`,
        '  onConnect() { trace("packapp: online\\n"); },',
        '});',
        'client.start();',
      ].join('\n'),
    );
    execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'ignore' });
    const app = await buildApp({ manifest: join(dir, 'manifest.json'), pack: true });
    // mcpack maps the package's files under their paths and the package's names to them; the
    // package's "moddable" manifest preloads both.
    const preload = JSON.parse(readFileSync(findFile(app.dir, 'manifest_flat.json'), 'utf8')).preload as string[];
    for (const m of ['xs-mqtt', 'xs-mqtt/moddable', 'xs-mqtt/dist/xs/index', 'xs-mqtt/dist/xs/moddable']) expect(preload).toContain(m);
    const run = await startApp(app.so);
    try {
      await run.waitFor(/^packapp: online$/);
    } finally {
      await run.stop();
    }
  }, 300_000);

  it('publishing, receiving and dispatching allocate nothing per operation (Instrumentation, collector off)', async () => {
    const id = 'alloc' + process.pid;
    const n = 1000;
    const app = await buildApp({ manifest: root + 'test/moddable/alloc/manifest.json', config: { port: broker.port, clientId: id, n }, instrument: true });
    const run = await startApp(app.so);
    const feeder = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'feed' + process.pid, reconnectPeriod: 0 });
    const seen: Record<string, { slots: number; chunks: number }> = {};
    try {
      for (;;) {
        const m = await run.next(/^alloc: (?:send (\w+) (\d+)|done|(\w+) n=\d+ slots=(-?\d+) chunks=(-?\d+)|offline.*)$/, 120_000);
        if (m[0] === 'alloc: done') break;
        if (m[0].startsWith('alloc: offline')) throw new Error('the app went offline: ' + m[0] + '\n' + run.output());
        if (m[1]) {
          const qos = m[1] === 'rx1' ? 1 : 0;
          for (let i = 0; i < Number(m[2]); i++) await feeder.publishAsync(`xsalloc/${id}/in/x`, 'message ' + i, { qos });
        } else seen[m[3]] = { slots: Number(m[4]), chunks: Number(m[5]) };
      }
    } finally {
      await feeder.endAsync();
      await run.stop();
    }
    console.log('allocation per ' + n + ' operations (bytes):', JSON.stringify(seen));
    // A string payload costs one box a publish (2 slots, 64 B: the session reads the string through a
    // String object it makes once, src/codec/utf8.ts), whatever its length: stated in the README, not
    // zero. It must cost something, or the counters are not counting. QoS 1: exactly the box. QoS 0:
    // the box, and one more for each attempt a full link refused (WOULD_BLOCK), which the harness
    // retries. Reading by character cost 2-3 slots a character (83 slots for 16 before the box): 48
    // more characters (pub0q) would be 3 KB more a publish.
    for (const row of ['pub0p', 'pub0q', 'pub1p']) {
      expect(seen[row].slots, row + ' slots').toBeGreaterThan(0);
      expect(seen[row].chunks, row + ' chunks').toBe(0);
    }
    expect(seen.pub1p.slots, 'pub1p: one box a publish').toBeLessThanOrEqual(n * 64 + 64);
    expect(seen.pub0p.slots, 'pub0p').toBeLessThanOrEqual(n * 160);
    expect(seen.pub0q.slots, 'pub0q: no cost by length').toBeLessThanOrEqual(n * 160);
    // The control publishes to a new string topic each time: if the counters could not see an
    // allocation, it would pass as 0 too.
    expect(seen.control.slots + seen.control.chunks).toBeGreaterThan(n * 16);
    // The harness's own turns cost nothing, so what the rows show is the library's.
    expect(seen.idle).toEqual({ slots: 0, chunks: 0 });
    for (const row of ['pub0', 'pub0s', 'pub1', 'pub1s', 'rx0', 'rx1']) {
      // One slot is 32 bytes here: anything done per operation would be at least n × 16 bytes. A
      // once-only 1–2 slots (a property table growing) is not per operation.
      expect(seen[row], row).toBeDefined();
      expect(seen[row].chunks, row + ' chunks').toBe(0);
      expect(seen[row].slots, row + ' slots').toBeLessThanOrEqual(64);
    }
  }, 300_000);
});
