// The client on the Node host against real brokers, for what the broker decides about the client:
// Mosquitto with password auth and an ACL (refusals are final: no reconnect storm), Mosquitto over
// TLS (verified, failing closed, never falling back to plain TCP) and mutual TLS, and Aedes, a second
// broker implementation (wildcards, QoS 0/1, retained, will, unsubscribe). Every broker runs on free
// 127.0.0.1 ports; a proxy in front of one counts connections and records what crossed in clear.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_LOST, Client, REFUSED_NOT_AUTHORIZED, STOPPED, statusName } from '../src/index.js';
import type { ClientOptions, Message } from '../src/index.js';
import { NodeHost } from '../hosts/node/index.js';
import { startAedes } from './brokers/aedes.js';
import type { AedesBroker } from './brokers/aedes.js';
import { CLIENT_CN } from './brokers/pki.js';
import { startMosquitto } from './brokers/mosquitto.js';
import type { Broker } from './brokers/mosquitto.js';
import { startProxy } from './brokers/proxy.js';
import type { Proxy } from './brokers/proxy.js';

const host = new NodeHost();
const LOCAL = '127.0.0.1';
const WAIT_MS = 8000; // generous: a loaded 2-core machine, TLS handshakes
const MQTT_NAME = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54]); // the CONNECT's protocol name, "MQTT"
// Fast retries, so that a client that wrongly reconnects does so many times within a test's window.
const FAST_RETRY = { reconnectMinMs: 50, reconnectMaxMs: 200 };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `predicate` every 10 ms until it holds; throws (naming `what`) after `timeoutMs`. */
async function waitFor(what: string, predicate: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

interface Got {
  topic: string;
  text: string;
  qos: number;
  retain: boolean;
}

/** A client and everything it reported. */
interface Probe {
  id: string;
  client: Client;
  got: Got[];
  published: number[];
  connects: number; // onConnect calls: the client went online
  disconnects: Array<{ status: number; retryMs: number; reason: string }>;
  subscribed: Array<[string, number]>; // onSubscribed: filter, granted QoS or 0x80
  unsubscribed: string[]; // onUnsubscribed
}

const clients: Client[] = [];
const proxies: Proxy[] = [];
let seq = 0;

/** A started client with unique id; `subs` are subscribed before start (sent with the first CONNACK). */
function connect(port: number, opts: Partial<ClientOptions> = {}, subs: Array<[string, number]> = []): Probe {
  const id = `xs-ta-${process.pid}-${++seq}`;
  const p: Probe = { id, got: [], published: [], connects: 0, disconnects: [], subscribed: [], unsubscribed: [] } as unknown as Probe;
  p.client = new Client(
    host,
    { host: LOCAL, port, clientId: id, keepAliveSec: 30, reconnectMinMs: 100, reconnectMaxMs: 400, ...opts },
    {
      onConnect: () => p.connects++,
      onDisconnect: (status, retryMs, reason) => p.disconnects.push({ status, retryMs, reason }),
      onPublished: (packetId) => p.published.push(packetId),
      onSubscribed: (filter, granted) => p.subscribed.push([filter, granted]),
      onUnsubscribed: (filter) => p.unsubscribed.push(filter),
    },
  );
  for (const [filter, qos] of subs) p.client.subscribe(filter, qos, (m) => record(p, m));
  clients.push(p.client);
  p.client.start();
  return p;
}

function record(p: Probe, m: Message): void {
  p.got.push({ topic: m.topic, text: m.text, qos: m.qos, retain: m.retain });
}

async function withProxy(port: number): Promise<Proxy> {
  const x = await startProxy(port);
  proxies.push(x);
  return x;
}

/** The statuses a probe was disconnected with, by name, for readable failures. */
function statuses(p: Probe): string[] {
  return p.disconnects.map((d) => `${statusName(d.status)}/${d.retryMs}`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Mosquitto has the probe's `n` subscriptions: it logs "Sending SUBACK" after adding each. */
async function subscribedAt(broker: Broker, p: Probe, n = 1): Promise<void> {
  const re = new RegExp(`Sending SUBACK to ${escape(p.id)}\\b`);
  await waitFor(`${n} SUBACK(s) to ${p.id}`, () => count(broker.log(), re) >= n);
}

/** How many times `pattern` occurs in `text`. */
function count(text: string, pattern: RegExp): number {
  return (text.match(new RegExp(pattern.source, pattern.flags.replace('g', '') + 'g')) ?? []).length;
}

/** Runs `fn`; a failure carries the broker's log, which says what the broker saw. */
async function withLog(broker: Broker, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof Error) err.message += `\n----- mosquitto log -----\n${broker.log()}`;
    throw err;
  }
}

/**
 * Splits a client → server byte stream into TLS records (type 0x14–0x17, version 3.x, 16-bit
 * length), and throws if any byte does not belong to one: a stream that parses fully carried nothing
 * in clear but TLS records. The last record may be cut short (still in flight, or the link closed
 * under it), but what there is of its header must be a TLS header. Returns the records' types and,
 * for handshake records, the handshake message type (1: ClientHello).
 */
function tlsRecords(b: Buffer): Array<{ type: number; handshake: number }> {
  const out: Array<{ type: number; handshake: number }> = [];
  let i = 0;
  while (i < b.length) {
    const type = b[i];
    if (type < 0x14 || type > 0x17 || (i + 1 < b.length && b[i + 1] !== 3)) {
      throw new Error(`not a TLS record at byte ${i}: ${b.subarray(i, i + 16).toString('hex')}`);
    }
    if (i + 5 > b.length) break; // a header cut short
    out.push({ type, handshake: type === 0x16 && i + 5 < b.length ? b[i + 5] : -1 });
    i += 5 + b.readUInt16BE(i + 3); // past the end: the last record was cut short
  }
  return out;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.stop();
  for (const x of proxies.splice(0)) await x.stop();
});

describe('Mosquitto, password auth and ACL', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startMosquitto({
      auth: {
        users: { dev: 'pw', other: 'x' },
        // dev may read and write devices/# only; other may read everything: a witness that would
        // see a denied publish if the broker let it through.
        acl: 'user dev\ntopic readwrite devices/#\n\nuser other\ntopic read #\n',
      },
    });
  });
  afterAll(async () => broker?.stop());

  it('right credentials: online, QoS 1 round trip on devices/#; a publish the ACL denies is acknowledged and delivered to nobody', () =>
    withLog(broker, async () => {
      const witness = connect(broker.port, { username: 'other', password: 'x' }, [['#', 1]]);
      const dev = connect(broker.port, { username: 'dev', password: 'pw' }, [
        ['devices/#', 1],
        ['forbidden/#', 1], // outside dev's ACL: whatever the SUBACK says, nothing may arrive on it
      ]);
      await waitFor('both online', () => witness.client.online && dev.client.online);
      await subscribedAt(broker, witness);
      await subscribedAt(broker, dev, 2);
      // Each filter's SUBACK code reaches the application. Mosquitto's ACL file grants a
      // subscription it will deliver nothing to (it filters at delivery): a refusal (0x80) is
      // proven against Aedes below.
      await waitFor('both SUBACKs reported', () => dev.subscribed.length === 2);
      expect(dev.subscribed).toEqual([
        ['devices/#', 1],
        ['forbidden/#', 1],
      ]);
      expect(witness.subscribed).toEqual([['#', 1]]);

      const id = dev.client.publish('devices/d1/t', 'hello', 1);
      expect(id).toBeGreaterThan(0);
      await waitFor('PUBACK', () => dev.published.includes(id));
      await waitFor('own message back', () => dev.got.length >= 1);
      await waitFor('witness got it', () => witness.got.length >= 1);
      expect(dev.got).toEqual([{ topic: 'devices/d1/t', text: 'hello', qos: 1, retain: false }]);
      expect(witness.got).toEqual([{ topic: 'devices/d1/t', text: 'hello', qos: 1, retain: false }]);

      const mark = broker.log().length;
      const denied = dev.client.publish('forbidden/x', 'must not pass', 1);
      expect(denied).toBeGreaterThan(0);
      await waitFor('PUBACK for the denied publish', () => dev.published.includes(denied));
      // The broker did refuse it (and did not just lose it).
      await broker.waitForLog(new RegExp(`Denied PUBLISH from ${escape(dev.id)}\\b`), { from: mark, timeoutMs: WAIT_MS });
      // A later allowed message arriving bounds the wait; then a window for anything late.
      const after = dev.client.publish('devices/d1/after', 'after', 1);
      await waitFor('the allowed message after it', () => witness.got.some((m) => m.topic === 'devices/d1/after'));
      await waitFor('PUBACK after', () => dev.published.includes(after));
      await sleep(500);
      expect(witness.got.map((m) => m.topic)).toEqual(['devices/d1/t', 'devices/d1/after']);
      expect(dev.got.map((m) => m.topic)).toEqual(['devices/d1/t', 'devices/d1/after']);
      expect(dev.disconnects).toEqual([]);
      expect(witness.disconnects).toEqual([]);
      expect(dev.connects).toBe(1);
    }));

  /** A client the broker refuses: stopped for good after one CONNACK 5, no second connection. */
  async function refusedOnce(opts: Partial<ClientOptions>): Promise<void> {
    const proxy = await withProxy(broker.port);
    const mark = broker.log().length;
    const p = connect(proxy.port, { ...opts, ...FAST_RETRY });
    await waitFor('the refusal', () => p.disconnects.length >= 1);
    expect(statuses(p)).toEqual([`${statusName(REFUSED_NOT_AUTHORIZED)}/-1`]);
    expect(p.disconnects[0]).toEqual({ status: REFUSED_NOT_AUTHORIZED, retryMs: -1, reason: '' });
    // A reconnecting client would be back within reconnectMinMs (50 ms): give it 1.5 s.
    await sleep(1500);
    expect(proxy.accepted()).toBe(1);
    expect(p.disconnects.length).toBe(1);
    expect(p.connects).toBe(0);
    expect(p.client.online).toBe(false);
    // A refused client is logged by address, not by id: one connection, one refusal since the mark.
    const log = broker.log().slice(mark);
    expect(count(log, /New connection from /)).toBe(1);
    expect(count(log, /Sending CONNACK to \S+ \(0, 5\)/)).toBe(1);
    // Stopped: the application is told so, and nothing is queued for a connection that never comes.
    expect(p.client.publish('devices/d1/t', 'late', 1)).toBe(STOPPED);
  }

  it('wrong password → onDisconnect(REFUSED_NOT_AUTHORIZED, -1), and no reconnect', () =>
    withLog(broker, () => refusedOnce({ username: 'dev', password: 'wrong' })));

  it('anonymous (no username) → onDisconnect(REFUSED_NOT_AUTHORIZED, -1), and no reconnect', () =>
    withLog(broker, () => refusedOnce({})));
});

describe('Mosquitto, TLS', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startMosquitto({ tls: true });
  });
  afterAll(async () => broker?.stop());

  it('trusting the CA, servername localhost: online and a QoS 1 round trip, nothing in clear', () =>
    withLog(broker, async () => {
      const proxy = await withProxy(broker.tlsPort!);
      const p = connect(proxy.port, { tls: { ca: broker.caPem, servername: 'localhost' } }, [['tls/+/t', 1]]);
      await waitFor('online', () => p.client.online);
      await subscribedAt(broker, p);
      const id = p.client.publish('tls/a/t', 'secret payload', 1);
      expect(id).toBeGreaterThan(0);
      await waitFor('PUBACK', () => p.published.includes(id));
      await waitFor('message back', () => p.got.length >= 1);
      expect(p.got).toEqual([{ topic: 'tls/a/t', text: 'secret payload', qos: 1, retain: false }]);
      expect(p.connects).toBe(1);
      expect(p.disconnects).toEqual([]);
      const { up, down } = proxy.captured();
      expect(up[0]).toBe(0x16);
      expect(up.includes(MQTT_NAME)).toBe(false);
      expect(up.includes(Buffer.from('secret payload'))).toBe(false);
      expect(down.includes(Buffer.from('secret payload'))).toBe(false);
      // All of it TLS records: a ClientHello first, then encrypted application data.
      const records = tlsRecords(up);
      expect(records[0]).toEqual({ type: 0x16, handshake: 0x01 });
      expect(records.some((r) => r.type === 0x17)).toBe(true);
    }));

  it('trusting only another CA: never online, retries with backoff, and never falls back to plain TCP', () =>
    withLog(broker, async () => {
      const proxy = await withProxy(broker.tlsPort!);
      const p = connect(proxy.port, { tls: { ca: broker.otherCaPem, servername: 'localhost' }, ...FAST_RETRY });
      await waitFor('two failed attempts', () => p.disconnects.length >= 2 && proxy.accepted() >= 2);
      p.client.stop();
      expect(p.connects).toBe(0);
      expect(p.client.online).toBe(false);
      // A remote failure: retried, after a delay within the configured backoff.
      for (const d of p.disconnects) {
        expect(d.status, statuses(p).join()).toBe(CONNECTION_LOST);
        expect(d.retryMs).toBeGreaterThanOrEqual(Math.ceil(FAST_RETRY.reconnectMinMs / 4));
        expect(d.retryMs).toBeLessThanOrEqual(FAST_RETRY.reconnectMaxMs);
      }
      const up = proxy.captured().up;
      expect(up[0]).toBe(0x16); // the first byte ever sent opens a TLS handshake record
      expect(up.includes(MQTT_NAME)).toBe(false);
      expect(up.includes(Buffer.from(p.id))).toBe(false);
      // Every byte of every attempt is part of a TLS record, each attempt opening with a ClientHello.
      const records = tlsRecords(up);
      const hellos = records.filter((r) => r.type === 0x16 && r.handshake === 0x01).length;
      expect(hellos).toBeGreaterThanOrEqual(p.disconnects.length);
      expect(broker.log()).not.toMatch(new RegExp(`New client connected .* as ${escape(p.id)}\\b`));
    }));

  it('fault 15, wrong host: trusting the CA but expecting another name, never online, never in clear, and the reason says why', () =>
    withLog(broker, async () => {
      const proxy = await withProxy(broker.tlsPort!);
      const p = connect(proxy.port, { tls: { ca: broker.caPem, servername: 'mqtt.example.com' }, ...FAST_RETRY });
      await waitFor('two failed attempts', () => p.disconnects.length >= 2 && proxy.accepted() >= 2);
      p.client.stop();
      expect(p.connects).toBe(0);
      for (const d of p.disconnects) expect(d.status, statuses(p).join()).toBe(CONNECTION_LOST);
      expect(p.disconnects[0].reason).toMatch(/mqtt\.example\.com/); // Node's certificate check names it
      expect(proxy.captured().up.includes(MQTT_NAME)).toBe(false);
      expect(broker.log()).not.toMatch(new RegExp(`New client connected .* as ${escape(p.id)}\b`));
    }));

  it('a plain client pointed at the TLS port never goes online', () =>
    withLog(broker, async () => {
      const proxy = await withProxy(broker.tlsPort!);
      const p = connect(proxy.port, FAST_RETRY);
      await waitFor('two failed attempts', () => p.disconnects.length >= 2);
      p.client.stop();
      expect(p.connects).toBe(0);
      expect(p.client.online).toBe(false);
      for (const d of p.disconnects) expect(d.status, statuses(p).join()).toBe(CONNECTION_LOST);
      // It did send its CONNECT (in clear, as asked): the broker just never accepted it.
      expect(proxy.captured().up.includes(MQTT_NAME)).toBe(true);
      expect(broker.log()).not.toMatch(new RegExp(`New client connected .* as ${escape(p.id)}\\b`));
    }));
});

describe('Mosquitto, mutual TLS', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startMosquitto({ tls: { requireCertificate: true } });
  });
  afterAll(async () => broker?.stop());

  it('a client certificate from the CA: online (as its CN) and a QoS 1 round trip', () =>
    withLog(broker, async () => {
      const p = connect(
        broker.tlsPort!,
        { tls: { ca: broker.caPem, cert: broker.clientCertPem, key: broker.clientKeyPem, servername: 'localhost' } },
        [['mtls/#', 1]],
      );
      await waitFor('online', () => p.client.online);
      await subscribedAt(broker, p);
      const id = p.client.publish('mtls/x', 'mutual', 1);
      await waitFor('PUBACK', () => p.published.includes(id));
      await waitFor('message back', () => p.got.length >= 1);
      expect(p.got).toEqual([{ topic: 'mtls/x', text: 'mutual', qos: 1, retain: false }]);
      expect(p.disconnects).toEqual([]);
      // use_identity_as_username: the broker took the certificate's CN as the username.
      expect(broker.log()).toMatch(new RegExp(`New client connected .* as ${escape(p.id)} \\(.*u'${CLIENT_CN}'\\)`));
    }));

  async function neverOnline(tlsOpts: { cert?: string; key?: string }): Promise<void> {
    const p = connect(broker.tlsPort!, { tls: { ca: broker.caPem, servername: 'localhost', ...tlsOpts }, ...FAST_RETRY });
    await waitFor('two failed attempts', () => p.disconnects.length >= 2);
    p.client.stop();
    expect(p.connects).toBe(0);
    expect(p.client.online).toBe(false);
    // With TLS 1.3 the link may open before the broker refuses the certificate: still a lost
    // connection, retried, never a CONNACK.
    for (const d of p.disconnects) {
      expect(d.status, statuses(p).join()).toBe(CONNECTION_LOST);
      expect(d.retryMs).toBeGreaterThanOrEqual(0);
    }
    expect(broker.log()).not.toMatch(new RegExp(`New client connected .* as ${escape(p.id)}\\b`));
  }

  it('without a client certificate: never online', () => withLog(broker, () => neverOnline({})));

  it("with the other CA's client certificate: never online", () =>
    withLog(broker, () => neverOnline({ cert: broker.otherClientCertPem, key: broker.otherClientKeyPem })));
});

describe('Aedes', () => {
  let aedes: AedesBroker;
  const subscribed = new Map<string, number>(); // client id → SUBSCRIBE packets completed
  const unsubscribed = new Map<string, number>();
  const gone = new Set<string>(); // client ids whose connection Aedes has closed
  beforeAll(async () => {
    aedes = await startAedes();
    // Emitted once the subscription is stored and the SUBACK written.
    aedes.broker.on('subscribe', (_subs, client) => subscribed.set(client.id, (subscribed.get(client.id) ?? 0) + 1));
    aedes.broker.on('unsubscribe', (_subs, client) => unsubscribed.set(client.id, (unsubscribed.get(client.id) ?? 0) + 1));
    aedes.broker.on('clientDisconnect', (client) => gone.add(client.id));
  });
  afterAll(async () => aedes?.stop());

  async function ready(p: Probe, subscribes = 1): Promise<void> {
    await waitFor('online', () => p.client.online);
    if (subscribes) await waitFor('subscribed', () => (subscribed.get(p.id) ?? 0) >= subscribes);
  }

  it('wildcard subscription, QoS 0 and QoS 1 round trip', async () => {
    const sub = connect(aedes.port, {}, [['ae/+/t', 1]]);
    const pub = connect(aedes.port);
    await ready(sub);
    await ready(pub, 0);
    expect(pub.client.publish('ae/a/t', 'zero', 0)).toBe(0);
    const id = pub.client.publish('ae/b/t', 'one', 1);
    expect(id).toBeGreaterThan(0);
    pub.client.publish('ae/a/other', 'no match', 1);
    await waitFor('2 messages', () => sub.got.length >= 2);
    await waitFor('2 PUBACKs', () => pub.published.length === 2);
    expect(pub.published).toContain(id);
    // A sentinel on a matching topic, published after the non-matching one, bounds the wait.
    pub.client.publish('ae/z/t', 'sentinel', 1);
    await waitFor('sentinel', () => sub.got.some((m) => m.text === 'sentinel'));
    const got = sub.got.map((m) => [m.topic, m.text, m.qos, m.retain]).sort();
    expect(got).toEqual([
      ['ae/a/t', 'zero', 0, false],
      ['ae/b/t', 'one', 1, false],
      ['ae/z/t', 'sentinel', 1, false],
    ]);
  });

  it('a retained message is delivered, with RETAIN, to a later subscriber', async () => {
    const pub = connect(aedes.port);
    await ready(pub, 0);
    const id = pub.client.publish('ae/retained/1', 'kept', 1, true);
    await waitFor('PUBACK', () => pub.published.includes(id));
    const live = connect(aedes.port, {}, [['ae/live/#', 1]]);
    await ready(live);
    const late = connect(aedes.port, {}, [['ae/retained/#', 1]]);
    await waitFor('retained', () => late.got.length >= 1);
    expect(late.got).toEqual([{ topic: 'ae/retained/1', text: 'kept', qos: 1, retain: true }]);
    // A subscriber already there when a retained message is published gets it without RETAIN.
    pub.client.publish('ae/live/1', 'now', 1, true);
    await waitFor('live', () => live.got.length >= 1);
    expect(live.got).toEqual([{ topic: 'ae/live/1', text: 'now', qos: 1, retain: false }]);
  });

  it('the will is published when the connection dies without DISCONNECT, not after stop()', async () => {
    const watch = connect(aedes.port, {}, [['ae/will/#', 1]]);
    await ready(watch);
    const proxy = await withProxy(aedes.port);
    const dying = connect(proxy.port, { will: { topic: 'ae/will/dying', payload: 'offline', qos: 1, retain: false } });
    const clean = connect(aedes.port, { will: { topic: 'ae/will/clean', payload: 'offline', qos: 1 } });
    await ready(dying, 0);
    await ready(clean, 0);
    clean.client.stop(); // DISCONNECT: the broker discards the will
    await waitFor('clean client gone', () => gone.has(clean.id));
    const before = dying.connects;
    proxy.cutAll(); // both sides of the dying client's connection destroyed: no DISCONNECT
    await waitFor('will', () => watch.got.length >= 1);
    await sleep(300);
    expect(watch.got).toEqual([{ topic: 'ae/will/dying', text: 'offline', qos: 1, retain: false }]);
    // The client found its link lost and reconnects on its own.
    await waitFor('dying client back', () => dying.connects === before + 1);
    expect(dying.disconnects.map((d) => d.status)).toEqual([CONNECTION_LOST]);
  });

  it('several filters in one SUBSCRIBE: each SUBACK code reported (a refusal as 0x80, fault 8), then the UNSUBACK', async () => {
    // Aedes refuses what its authorizeSubscribe hook turns down: SUBACK 0x80 for that filter only.
    const saved = aedes.broker.authorizeSubscribe;
    aedes.broker.authorizeSubscribe = (client, sub, done) => done(null, sub.topic.startsWith('ae/denied') ? null : sub);
    try {
      const sub = connect(aedes.port);
      sub.client.subscribe(['ae/multi/a', 'ae/denied/#', 'ae/multi/c'], [0, 1, 2], (m) => record(sub, m));
      await waitFor('SUBACK reported', () => sub.subscribed.length === 3);
      expect(sub.subscribed).toEqual([
        ['ae/multi/a', 0],
        ['ae/denied/#', 0x80],
        ['ae/multi/c', 2],
      ]);
      expect(subscribed.get(sub.id)).toBe(1); // one SUBSCRIBE packet
      const pub = connect(aedes.port);
      await ready(pub, 0);
      pub.client.publish('ae/denied/x', 'refused', 1);
      pub.client.publish('ae/multi/c', 'granted', 1);
      await waitFor('the granted one', () => sub.got.length >= 1);
      await sleep(200);
      expect(sub.got.map((m) => [m.topic, m.qos])).toEqual([['ae/multi/c', 1]]);
      sub.client.unsubscribe(['ae/multi/a', 'ae/multi/c']);
      await waitFor('UNSUBACK reported', () => sub.unsubscribed.length === 2);
      expect(sub.unsubscribed).toEqual(['ae/multi/a', 'ae/multi/c']);
      expect(unsubscribed.get(sub.id)).toBe(1); // one UNSUBSCRIBE packet
    } finally {
      aedes.broker.authorizeSubscribe = saved;
    }
  });

  it('unsubscribe stops delivery (nothing more reaches the client on the wire)', async () => {
    const proxy = await withProxy(aedes.port);
    const sub = connect(proxy.port, {}, [['ae/unsub/#', 0]]);
    const pub = connect(aedes.port);
    await ready(sub);
    await ready(pub, 0);
    pub.client.publish('ae/unsub/a', 'before-unsub', 1);
    await waitFor('before', () => sub.got.length === 1);
    expect(proxy.captured().down.includes(Buffer.from('before-unsub'))).toBe(true);
    sub.client.unsubscribe('ae/unsub/#');
    await waitFor('unsubscribed', () => (unsubscribed.get(sub.id) ?? 0) === 1);
    const id = pub.client.publish('ae/unsub/a', 'after-unsub', 1);
    await waitFor('PUBACK', () => pub.published.includes(id));
    await sleep(300);
    // The client drops its handler at once; the broker must also have stopped sending.
    expect(proxy.captured().down.includes(Buffer.from('after-unsub'))).toBe(false);
    expect(sub.got).toEqual([{ topic: 'ae/unsub/a', text: 'before-unsub', qos: 0, retain: false }]);
    expect(sub.disconnects).toEqual([]);
  });
});
