// ECMA-419's MQTT client class (hosts/moddable/mqttclient.ts, manifest_mqttclient.json) on the real
// Moddable runtime (mcsim, headless) against a real Mosquitto, through tools/moddable/sim.mjs:
// - Moddable's own example app from the SDK (examples/io/tcp/mqttclient), copied as it is; only
//   its manifest maps "embedded:network/mqtt/client" to xs-mqtt's class instead of the SDK's, and
//   its host and port name the local broker.
// - test/moddable/ecma419: PUBLISH fragments both ways (write() with byteLength in several writes,
//   kept by the session and streamed; onReadable pieces with `more`), read(count) and read(buffer).
// Without $MODDABLE these skip with one line (as test/moddable.test.ts does).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs tools without declarations
import { buildApp, ensureBuilt, HOW_TO_GET_THE_SDK, sdk, startApp } from '../tools/moddable/sim.mjs';
import { startMosquitto } from './brokers/mosquitto.js';
import type { Broker } from './brokers/mosquitto.js';

const root = new URL('..', import.meta.url).pathname;
const s = sdk();
if (!s) console.log('test/moddable-ecma419.test.ts skipped: ' + HOW_TO_GET_THE_SDK);

/** The bytes the apps and the test agree on: byte i of a message of `seed` is (i * 7 + seed) & 255. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 255;
  return b;
}

describe.runIf(!!s)('ECMA-419 MQTT client (embedded:network/mqtt/client) on xs-mqtt, in mcsim against Mosquitto', () => {
  let broker: Broker;
  let tmp: string;
  beforeAll(async () => {
    ensureBuilt();
    if (!existsSync(root + 'dist/xs/mqttclient.js')) execFileSync(process.execPath, [root + 'hosts/moddable/build.mjs'], { cwd: root });
    broker = await startMosquitto({});
    tmp = mkdtempSync(join(tmpdir(), 'xs-mqtt-ecma419-'));
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("Moddable's example app (examples/io/tcp/mqttclient), with only the module mapping changed: subscribes, unsubscribes, publishes in fragments (QoS 2, and 16 KiB QoS 1 through onWritable), pings, and reads its own messages back", async () => {
    const example = join(s.moddable, 'examples/io/tcp/mqttclient');
    const dir = join(tmp, 'example');
    cpSync(example, dir, { recursive: true });
    rmSync(join(dir, 'mqttclient.js')); // the SDK's own class: not what runs
    // The one change for the app: "embedded:network/mqtt/client" comes from xs-mqtt's manifest.
    const mf = join(dir, 'manifest_mqttclient.json');
    const m = JSON.parse(readFileSync(mf, 'utf8'));
    expect(m.modules['embedded:network/mqtt/client']).toBe('./mqttclient');
    delete m.modules['embedded:network/mqtt/client'];
    m.include.push(root + 'manifest_mqttclient.json');
    writeFileSync(mf, JSON.stringify(m, null, '\t'));
    // And the broker: a local Mosquitto instead of test.mosquitto.org.
    const main = readFileSync(join(dir, 'main.js'), 'utf8');
    expect(main).toContain('host: "test.mosquitto.org"');
    writeFileSync(join(dir, 'main.js'), main.replace('host: "test.mosquitto.org"', 'host: "127.0.0.1"').replace('port: 1883', `port: ${broker.port}`));

    const seen: { topic: string; payload: Buffer; qos: number }[] = [];
    const w = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'watch-e419-' + process.pid });
    w.on('message', (topic, payload, packet) => seen.push({ topic, payload, qos: packet.qos }));
    await w.subscribeAsync('foo/#', { qos: 2 });
    const app = await buildApp({ manifest: join(dir, 'manifest.json'), out: join(tmp, 'build-example') });
    // The link named the class from this repository, not the SDK's.
    expect(existsSync(join(dir, 'mqttclient.js'))).toBe(false);
    const run = await startApp(app.so);
    try {
      await run.waitFor(/^SUBACK - \d+$/);
      await run.waitFor(/^UNSUBACK - \d+$/);
      await run.waitFor(/^Ping response$/);
      await run.waitFor(/^PUBREC - \d+$/);
      await run.waitFor(/^PUBCOMP - \d+$/);
      await run.waitFor(/^PUBREL - \d+$/); // its QoS 2 message coming back: the broker's PUBREL
      await run.waitFor(/^PUBACK - 1234$/, 20_000);
      // Its own messages come back (it subscribed to foo/bar/+): onReadable traces them.
      await run.waitFor(/^SMALL$/);
      const waitSeen = async (topic: string) => {
        for (const until = Date.now() + 15_000; !seen.some((x) => x.topic === topic); await new Promise((r) => setTimeout(r, 20)))
          if (Date.now() > until) throw new Error('nothing on ' + topic + '\n' + run.output());
        return seen.find((x) => x.topic === topic)!;
      };
      const small = await waitSeen('foo/bar/small');
      expect(small.payload.toString()).toBe('SMALL\n');
      expect(small.qos).toBe(2);
      const xxl = await waitSeen('foo/bar/xxl');
      expect(xxl.qos).toBe(1);
      expect(xxl.payload.length).toBe(3 + 16 * 1024);
      const text = xxl.payload.toString('latin1');
      expect(text.startsWith('XXL')).toBe(true);
      // The rest: runs of A, B, C… as the app's onWritable wrote them, in order.
      const runs = text.slice(3).match(/(.)\1*/g)!;
      expect(runs.map((r) => r[0]).join('')).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZ'.slice(0, runs.length));
      // The 16 KiB message came back to the app in pieces; their bytes, traced, add up to it.
      await run.waitFor(/^XXL/);
      const body = () => run.lines.filter((l: string) => /^(XXL)?[A-Z]+$/.test(l) && l !== 'SMALL' && l !== 'ERROR').join('');
      for (const until = Date.now() + 15_000; body().length < text.length; await new Promise((r) => setTimeout(r, 20)))
        if (Date.now() > until) throw new Error('the 16 KiB message did not come back whole\n' + run.output().slice(0, 4000));
      expect(body()).toBe(text);
      expect(run.lines).not.toContain('ERROR');
    } finally {
      await run.stop();
      await w.endAsync();
    }
  }, 300_000);

  it('PUBLISH fragments both ways: byteLength with several writes (kept at QoS 1, streamed at QoS 0 from onWritable) reach the broker whole; messages larger than the receive buffer come to onReadable in pieces with `more`, read(count) and read(buffer); a message read after onReadable returns holds back what follows', async () => {
    const id = 'e419f' + process.pid;
    const seen: { topic: string; payload: Buffer; qos: number }[] = [];
    const w = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'watch-' + id });
    w.on('message', (topic, payload, packet) => seen.push({ topic, payload, qos: packet.qos }));
    await w.subscribeAsync(`e419/${id}/out/#`, { qos: 1 });
    const app = await buildApp({ manifest: root + 'test/moddable/ecma419/manifest.json', config: { port: broker.port, clientId: id }, out: join(tmp, 'build-fragments') });
    const run = await startApp(app.so);
    try {
      await run.waitFor(/^e419: suback 1$/);
      await run.waitFor(/^e419: sent a$/);
      await run.waitFor(/^e419: puback \d+$/);
      await run.waitFor(/^e419: sent b$/, 20_000);
      const waitSeen = async (topic: string) => {
        for (const until = Date.now() + 15_000; !seen.some((x) => x.topic === topic); await new Promise((r) => setTimeout(r, 20)))
          if (Date.now() > until) throw new Error('nothing on ' + topic + '\n' + run.output());
        return seen.find((x) => x.topic === topic)!;
      };
      const a = await waitSeen(`e419/${id}/out/a`);
      expect(a.qos).toBe(1);
      expect(a.payload.equals(pattern(3000, 1))).toBe(true);
      const b = await waitSeen(`e419/${id}/out/b`);
      expect(b.qos).toBe(0);
      expect(b.payload.length).toBe(20000);
      expect(b.payload.equals(pattern(20000, 2))).toBe(true);

      // To the device: 6000 bytes (larger than its 1024-byte receive buffer: pieces), then 10.
      await w.publishAsync(`e419/${id}/in`, pattern(6000, 3), { qos: 1 });
      const big = await run.waitFor(/^e419: rx (\S+) QoS=(\d) len=(\d+)\/(\d+) pieces=(\d+) ok=(\w+) more=(\w+)$/);
      expect(big.slice(1)).toEqual([`e419/${id}/in`, '1', '6000', '6000', big[5], 'true', 'true']);
      expect(Number(big[5])).toBeGreaterThan(1);
      // 10 bytes the app reads only 300 ms after onReadable, and 20 right behind them: those wait.
      await w.publishAsync(`e419/${id}/in`, pattern(10, 3), { qos: 0 });
      await w.publishAsync(`e419/${id}/in`, pattern(20, 3), { qos: 1 });
      const late = await run.waitFor(/^e419: late len=(\d+) ok=(\w+) empty=(\w+)$/);
      expect(late.slice(1)).toEqual(['10', 'true', 'true']);
      const after = await run.waitFor(/^e419: rx \S+ QoS=1 len=20\/20 pieces=(\d+) ok=(\w+) more=(\w+)$/);
      expect(after.slice(1)).toEqual(['1', 'true', 'true']);
      expect(run.lines.indexOf(after[0])).toBeGreaterThan(run.lines.indexOf(late[0]));
      expect(run.lines).not.toContain('e419: error');
      expect(run.lines.filter((l: string) => l.startsWith('e419: write threw'))).toEqual([]);
    } finally {
      await run.stop();
      await w.endAsync();
    }
  }, 300_000);

  it('the reconnect option (an extension): a broker killed and restarted gives onControl DISCONNECT with the status, then CONNACK again; a QoS 1 message written while offline waits in the outbox and is delivered', async () => {
    const pb = await startMosquitto({ persistence: true });
    const id = 'e419r' + process.pid;
    const seen: { topic: string; payload: Buffer; qos: number }[] = [];
    const w = await mqtt.connectAsync(`mqtt://127.0.0.1:${pb.port}`, { clientId: 'watch-' + id, clean: false, reconnectPeriod: 200 });
    w.on('message', (topic, payload, packet) => seen.push({ topic, payload, qos: packet.qos }));
    await w.subscribeAsync(`e419/${id}/out/#`, { qos: 1 });
    await pb.saved(0);
    const app = await buildApp({ manifest: root + 'test/moddable/ecma419/manifest.json', config: { port: pb.port, clientId: id, reconnect: 300 }, out: join(tmp, 'build-reconnect') });
    const run = await startApp(app.so);
    try {
      await run.waitFor(/^e419: sent b$/, 20_000);
      await pb.kill();
      const off = await run.waitFor(/^e419: offline (-?\d+)$/);
      expect(Number(off[1])).toBeLessThan(0); // a status (CONNECTION_LOST), not an error callback
      await run.waitFor(/^e419: queued offline$/);
      await pb.restart();
      for (const until = Date.now() + 20_000; run.lines.filter((l: string) => l === 'e419: connack').length < 2; await new Promise((r) => setTimeout(r, 50)))
        if (Date.now() > until) throw new Error('not online again\n' + run.output());
      for (const until = Date.now() + 20_000; !seen.some((x) => x.topic === `e419/${id}/out/offline`); await new Promise((r) => setTimeout(r, 50)))
        if (Date.now() > until) throw new Error('the message written offline never came\n' + run.output());
      const m = seen.find((x) => x.topic === `e419/${id}/out/offline`)!;
      expect(m.qos).toBe(1);
      expect(m.payload.equals(pattern(50, 4))).toBe(true);
      expect(run.lines).not.toContain('e419: error');
    } finally {
      await run.stop();
      await w.endAsync();
      await pb.stop();
    }
  }, 300_000);

  it('without the reconnect option, as the spec says: a lost connection calls onError once and the instance stays closed', async () => {
    const pb = await startMosquitto({});
    const id = 'e419e' + process.pid;
    const app = await buildApp({ manifest: root + 'test/moddable/ecma419/manifest.json', config: { port: pb.port, clientId: id }, out: join(tmp, 'build-error') });
    const run = await startApp(app.so);
    try {
      await run.waitFor(/^e419: sent b$/, 20_000);
      await pb.kill();
      await run.waitFor(/^e419: error$/);
      await pb.restart();
      await new Promise((r) => setTimeout(r, 3000)); // nothing reconnects
      expect(run.lines.filter((l: string) => l === 'e419: error')).toHaveLength(1);
      expect(run.lines.filter((l: string) => l === 'e419: connack')).toHaveLength(1);
      expect(run.lines.filter((l: string) => l.startsWith('e419: offline'))).toEqual([]);
    } finally {
      await run.stop();
      await pb.stop();
    }
  }, 300_000);

  it('DISCONNECT written by the app reaches the broker (it discards the will) and onClose follows; an app that just dies leaves its will', async () => {
    const id = 'e419d' + process.pid;
    const wills: string[] = [];
    const w = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'watch-' + id });
    w.on('message', (topic, payload) => wills.push(topic + ' ' + payload.toString()));
    await w.subscribeAsync(`e419/${id}/out/will`, { qos: 1 });
    const app = await buildApp({ manifest: root + 'test/moddable/ecma419/manifest.json', config: { port: broker.port, clientId: id }, out: join(tmp, 'build-disconnect') });
    let run = await startApp(app.so);
    try {
      await run.waitFor(/^e419: suback 1$/);
      await w.publishAsync(`e419/${id}/in/bye`, 'bye', { qos: 0 });
      await run.waitFor(/^e419: closed$/);
      await broker.waitForLog(new RegExp(`Received DISCONNECT from ${id}\\b`));
      await new Promise((r) => setTimeout(r, 1000));
      expect(wills).toEqual([]);
      expect(run.lines).not.toContain('e419: error');
    } finally {
      await run.stop();
    }
    // The control: the same app killed while connected. The will was sent, and is published.
    run = await startApp(app.so);
    try {
      await run.waitFor(/^e419: suback 1$/);
    } finally {
      await run.stop();
    }
    for (const until = Date.now() + 10_000; !wills.length; await new Promise((r) => setTimeout(r, 50)))
      if (Date.now() > until) throw new Error('no will after the app was killed\n' + broker.log().slice(-2000));
    expect(wills).toEqual([`e419/${id}/out/will gone`]);
    await w.endAsync();
  }, 300_000);
});
