// The device app under the real XS engine against a real Mosquitto: examples/sensor/main.ts, with the
// Moddable host, the client, the session and the codec, bundled as for a board and run in
// xsnap-worker (tools/xs/device.mjs), where `embedded:io/socket/tcp` is a real TCP connection made
// by Node, following Moddable's lwIP socket (tools/xs/device/tcp.ts), `embedded:io/socket/tcp/tls`
// a real TLS connection following Moddable's TLS socket (tools/xs/device/tls.ts), and the UDP DNS
// resolver answers from names the test gives (tools/xs/device/dns.ts). An independent client
// (MQTT.js) watches and commands it through the broker.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs tools without declarations
import { startDevice } from '../tools/xs/device.mjs';
// @ts-expect-error plain .mjs tools without declarations
import { buildXsnap } from '../tools/xs/build-xsnap.mjs';
import { startMosquitto } from './brokers/mosquitto.js';
import type { Broker } from './brokers/mosquitto.js';

let broker: Broker; // plain on .port, TLS (the test PKI's server certificate for localhost) on .tlsPort
beforeAll(async () => {
  await buildXsnap();
  broker = await startMosquitto({ tls: true });
}, 600_000);
afterAll(async () => {
  await broker?.stop();
});

async function waitFor(what: string, ok: () => boolean, timeoutMs = 8000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Seen {
  topic: string;
  text: string;
  qos: number;
  retain: boolean;
  at: number;
}

async function watcher(filter: string): Promise<{ client: mqtt.MqttClient; seen: Seen[] }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'watch-' + Math.random().toString(16).slice(2), reconnectPeriod: 0 });
  const seen: Seen[] = [];
  client.on('message', (topic, payload, packet) => seen.push({ topic, text: payload.toString(), qos: packet.qos, retain: packet.retain, at: Date.now() }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, seen };
}

describe('the device app in XS (xsnap) against Mosquitto', () => {
  it('comes online, publishes telemetry and an alert, obeys a command, and recovers a cut link (will, reconnect)', async () => {
    const id = 'xs-dev-' + process.pid;
    const w = await watcher(`devices/${id}/#`);
    const device = await startDevice({ config: { broker: '127.0.0.1', port: broker.port, clientId: id, interval: 200, threshold: 10 } });
    try {
      const of = (leaf: string) => w.seen.filter((m) => m.topic === `devices/${id}/${leaf}`);
      await waitFor('online', () => of('status').some((m) => m.text === 'online'));
      await waitFor('3 readings', () => of('telemetry').length >= 3);
      for (const m of of('telemetry')) {
        expect(m.text).toMatch(/^\{"t":[1-4]\d\.\d\}$/); // the fixed-size reading buffer
        expect(m.qos).toBe(0);
      }
      // The first reading is at or above 10 °C (readings stay in [10, 40]): one alert, QoS 1.
      await waitFor('the alert', () => of('alerts').length === 1);
      expect(of('alerts')[0].qos).toBe(1);
      expect(JSON.parse(of('alerts')[0].text).threshold).toBe(10);

      // The retained status, as a newcomer sees it.
      const late = await watcher(`devices/${id}/status`);
      await waitFor('the retained status', () => late.seen.length > 0);
      expect(late.seen[0]).toMatchObject({ text: 'online', retain: true });
      await late.client.endAsync();

      // A command slows it down from 200 ms to 1500 ms.
      await w.client.publishAsync(`devices/${id}/cmd/interval`, '1500', { qos: 1 });
      await waitFor('the command traced', () => device.lines().some((l: string) => l.includes('cmd/interval 1500')));
      const from = Date.now();
      await new Promise((r) => setTimeout(r, 3200));
      const slow = of('telemetry').filter((m) => m.at > from).length;
      expect(slow).toBeGreaterThanOrEqual(1);
      expect(slow).toBeLessThanOrEqual(3); // at 200 ms it would have been 16

      // The link is cut under it (no DISCONNECT): the broker publishes the will, the app reconnects.
      const onlineBefore = of('status').filter((m) => m.text === 'online').length;
      device.cut();
      await waitFor('the will', () => of('status').some((m) => m.text === 'offline'));
      await waitFor('online again', () => of('status').filter((m) => m.text === 'online').length > onlineBefore, 10_000);
      expect(device.lines().some((l: string) => l.includes('offline, CONNECTION_LOST (closed by peer), retry in'))).toBe(true);
      expect(device.errors).toEqual([]);
    } finally {
      await device.stop();
      await w.client.endAsync();
    }
  }, 60_000);

  it('takes a burst larger than its receive queue (2 KB): retained messages and a 6 KB command, without dropping the link', async () => {
    const id = 'xs-burst-' + process.pid;
    const w = await watcher(`devices/${id}/status`);
    const device = await startDevice({ config: { broker: '127.0.0.1', port: broker.port, clientId: id, interval: 100000, threshold: 99 } });
    try {
      await waitFor('online', () => w.seen.some((m) => m.text === 'online'));
      // 6 KB in one go, larger than the app's receive queue (2 KB) and receive buffer (512 B).
      const big = 'x'.repeat(6000);
      for (let i = 0; i < 3; i++) await w.client.publishAsync(`devices/${id}/cmd/blob`, big, { qos: 1 });
      const whole = () => device.lines().filter((l: string) => l.includes('cmd/blob: 6000 bytes, in pieces')).length;
      await waitFor('three commands traced', () => whole() >= 3, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(whole()).toBe(3); // each once: acknowledged, not redelivered
      expect(device.lines().filter((l: string) => l.includes('offline'))).toEqual([]);
      expect(device.errors).toEqual([]);
    } finally {
      await device.stop();
      await w.client.endAsync();
    }
  }, 60_000);

  it('by name over TLS: resolved over DNS, the broker verified against the device store, online, QoS 1, reconnects over TLS', async () => {
    const id = 'xs-tls-' + process.pid;
    const w = await watcher(`devices/${id}/#`);
    const device = await startDevice({
      config: { broker: 'localhost', port: broker.tlsPort, mqttTls: true, clientId: id, interval: 200, threshold: 10 },
      tlsStore: [broker.caPem],
    });
    try {
      const of = (leaf: string) => w.seen.filter((m) => m.topic === `devices/${id}/${leaf}`);
      await waitFor('online', () => of('status').some((m) => m.text === 'online'));
      await waitFor('3 readings', () => of('telemetry').length >= 3);
      await waitFor('the alert', () => of('alerts').length === 1);
      expect(of('alerts')[0].qos).toBe(1);
      // The name went to the resolver, and the link to its answer: TLS with SNI localhost, never plain.
      expect(device.opens[0]).toEqual({ tls: true, address: '127.0.0.1', port: broker.tlsPort, servername: 'localhost' });
      // A command through TLS records (the stand-in announces one record at a time, read in pieces).
      await w.client.publishAsync(`devices/${id}/cmd/interval`, '1500', { qos: 1 });
      await waitFor('the command traced', () => device.lines().some((l: string) => l.includes('cmd/interval 1500')));
      const big = 'y'.repeat(3000); // larger than the receive queue's share of one read and the 512 B buffer
      await w.client.publishAsync(`devices/${id}/cmd/blob`, big, { qos: 1 });
      await waitFor('the big command', () => device.lines().some((l: string) => l.includes('cmd/blob: 3000 bytes, in pieces')));

      const onlineBefore = of('status').filter((m) => m.text === 'online').length;
      device.cut();
      await waitFor('the will', () => of('status').some((m) => m.text === 'offline'));
      await waitFor('online again', () => of('status').filter((m) => m.text === 'online').length > onlineBefore, 10_000);
      expect(device.opens.every((o: { tls: boolean }) => o.tls)).toBe(true);
      expect(device.opens.length).toBeGreaterThanOrEqual(2);
      expect(device.errors).toEqual([]);
    } finally {
      await device.stop();
      await w.client.endAsync();
    }
  }, 60_000);

  it('over TLS trusting only another CA: never online, gives up on each attempt at the open timeout, retries, never a plain link', async () => {
    const id = 'xs-tls-bad-' + process.pid;
    const device = await startDevice({
      config: { broker: '127.0.0.1', port: broker.tlsPort, mqttTls: true, mqttServername: 'localhost', clientId: id, interval: 200, threshold: 99 },
      tlsStore: [broker.otherCaPem],
    });
    try {
      // Moddable's handshake gives up silently (an exception inside its TCP callback): each attempt
      // ends at the client's open timeout (10 s), then backs off and tries again.
      await waitFor('a second attempt', () => device.opens.length >= 2, 30_000);
      expect(device.opens.every((o: { tls: boolean }) => o.tls)).toBe(true);
      expect(device.lines().some((l: string) => l.includes('online'))).toBe(false);
      expect(device.lines().filter((l: string) => /offline, CONNECTION_LOST \(timeout\), retry in \d+ ms/.test(l)).length).toBe(1);
      expect(broker.log()).not.toContain(id); // no CONNECT ever reached the broker
      expect(device.errors).toEqual([]);
    } finally {
      await device.stop();
    }
  }, 60_000);

  it('a broker name that does not resolve: offline with retries, then online once the name resolves', async () => {
    const id = 'xs-dns-' + process.pid;
    const w = await watcher(`devices/${id}/status`);
    const device = await startDevice({ config: { broker: 'broker.example.test', port: broker.port, clientId: id, interval: 100000, threshold: 99 } });
    try {
      await waitFor('two failed lookups', () => device.lines().filter((l: string) => l.includes('offline, CONNECTION_LOST (dns: cannot resolve broker.example.test), retry in')).length >= 2, 20_000);
      expect(device.opens).toEqual([]); // nothing was opened without an address
      device.names['broker.example.test'] = '127.0.0.1';
      await waitFor('online', () => w.seen.some((m) => m.text === 'online'), 20_000);
      expect(device.opens[0]).toEqual({ tls: false, address: '127.0.0.1', port: broker.port });
      expect(device.errors).toEqual([]);
    } finally {
      await device.stop();
      await w.client.endAsync();
    }
  }, 60_000);

  it('mutual TLS with certificates from its resources (mqttCa, mqttCert, mqttKey as DER): online; without them, refused', async () => {
    const mtls = await startMosquitto({ tls: { requireCertificate: true } });
    const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const id = 'xs-mtls-' + process.pid;
    const resources = { 'mqtt-ca.der': der(mtls.caPem), 'device.der': der(mtls.clientCertPem!), 'device-key.der': der(mtls.clientKeyPem!) };
    const config = { broker: 'localhost', port: mtls.tlsPort, mqttTls: true, clientId: id, interval: 200, threshold: 99 };
    // The CA comes from the app's resources, not the store: the store trusts only an unrelated CA.
    const device = await startDevice({ config: { ...config, mqttCa: 'mqtt-ca.der', mqttCert: 'device.der', mqttKey: 'device-key.der' }, resources, tlsStore: [mtls.otherCaPem] });
    const refused = await startDevice({ config: { ...config, clientId: id + '-anon', mqttCa: 'mqtt-ca.der' }, resources });
    try {
      await waitFor('online', () => device.lines().some((l: string) => l.includes('mqtt: online')));
      await mtls.waitForLog(new RegExp(`Received PUBLISH from ${id} .*telemetry`));
      await waitFor('the anonymous device retried', () => refused.opens.length >= 2, 20_000);
      expect(refused.lines().some((l: string) => l.includes('mqtt: online'))).toBe(false);
      expect(mtls.log()).not.toContain(id + '-anon');
      expect(device.errors).toEqual([]);
      expect(refused.errors).toEqual([]);
    } finally {
      await device.stop();
      await refused.stop();
      await mtls.stop();
    }
  }, 60_000);
});
