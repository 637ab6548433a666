// NodeClient, the Node-only face of the client: broker URLs, default ports, a generated client id,
// options that cannot work refused at once with a TypeError (not retried forever), and promises
// (connected(), end()) — against a real Mosquitto with password auth.
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client, REFUSED_NOT_AUTHORIZED, STOPPED, writePublish } from '../src/index.js';
import type { ClientOptions, Message } from '../src/index.js';
import { ConnectError, NodeClient, NodeHost, connect, resolveOptions } from '../hosts/node/index.js';
import type { NodeClientOptions } from '../hosts/node/index.js';
import { sleep } from './brokers/free-port.js';
import { startMosquitto } from './brokers/mosquitto.js';
import type { Broker } from './brokers/mosquitto.js';

/** How `p` has settled within `ms`: 'resolved', its error, or 'pending'. */
function outcome(p: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.then(
      () => 'resolved',
      (e: unknown) => e,
    ),
    new Promise((r) => (timer = setTimeout(() => r('pending'), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Timers that keep Node's event loop alive (unref'd ones are not counted). */
function liveTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('resolveOptions: URL, default ports, client id', () => {
  it('splits mqtt:// and mqtts:// URLs, with percent-decoded credentials and an IPv6 host', () => {
    expect(resolveOptions({ url: 'mqtt://user:p%40ss@broker.local:1884', clientId: 'a' })).toEqual({
      host: 'broker.local',
      port: 1884,
      clientId: 'a',
      tls: undefined,
      username: 'user',
      password: 'p@ss',
    });
    expect(resolveOptions({ url: 'mqtts://[::1]', clientId: 'a' })).toMatchObject({ host: '::1', port: 8883 });
    expect(resolveOptions({ url: 'mqtts://[::1]', clientId: 'a' }).tls).toEqual({}); // (toMatchObject's tls: {} matched undefined too: plain TCP)
    const ca = 'PEM';
    expect(resolveOptions({ url: 'mqtts://h/', clientId: 'a', tls: { ca } })).toMatchObject({ host: 'h', port: 8883, tls: { ca } });
    expect(resolveOptions({ url: 'mqtt://u@h', clientId: 'a' })).toMatchObject({ username: 'u', password: undefined });
    // Several CAs in an array, as node:tls (and MQTT.js) take them: kept for the link, which maps each.
    const cas = ['PEM 1', new TextEncoder().encode('PEM 2')];
    expect(resolveOptions({ url: 'mqtts://h', clientId: 'a', tls: { ca: cas } })).toMatchObject({ tls: { ca: cas } });
  });

  it('default ports 1883 and 8883 (TLS), options beside the URL win', () => {
    expect(resolveOptions({ host: 'h', clientId: 'a' }).port).toBe(1883);
    expect(resolveOptions({ host: 'h', clientId: 'a', tls: {} }).port).toBe(8883);
    expect(resolveOptions({ url: 'mqtt://x:1/', host: 'h', port: 2, username: 'me', clientId: 'a' })).toMatchObject({ host: 'h', port: 2, username: 'me' });
  });

  it('generates a client id when none is given (clean session), a new one each time', () => {
    const a = resolveOptions({ host: 'h' }).clientId;
    const b = resolveOptions({ host: 'h', clean: true }).clientId;
    expect(a).toMatch(/^xs-mqtt-[0-9a-f]{12}$/);
    expect(b).toMatch(/^xs-mqtt-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(resolveOptions({ host: 'h', clientId: '' }).clientId).toBe(''); // given: the broker assigns one
  });

  it.each<[string, unknown, RegExp]>([
    ['no options', undefined, /options must be an object/],
    ['no host', {}, /host must be a non-empty string, not undefined/],
    ['an empty host', { host: '' }, /host must be a non-empty string/],
    ['port 70000', { host: 'h', port: 70000 }, /port must be an integer from 1 to 65535, not 70000/],
    ['port 0', { host: 'h', port: 0 }, /port must be an integer from 1 to 65535/],
    ['port "1883"', { host: 'h', port: '1883' }, /port must be an integer from 1 to 65535, not "1883"/],
    ['another scheme', { url: 'ws://h' }, /url must be mqtt:\/\/host\[:port\] or mqtts:\/\/…, not "ws:\/\/h"/],
    ['not a URL', { url: 'broker.local:1883' }, /url must be mqtt:\/\//],
    ['a URL port out of range', { url: 'mqtt://h:70000' }, /url must be mqtt:\/\//],
    ['a URL with a topic', { url: 'mqtt://h/a/b' }, /without a path/],
    ['a URL with no host', { url: 'mqtt://' }, /host must be a non-empty string/],
    ['TLS options with mqtt://', { url: 'mqtt://h', tls: {} }, /tls options go with mqtts:\/\//],
    ['a persistent session without a client id', { host: 'h', clean: false }, /clean: false\) needs a clientId/],
    ['a client id that is not a string', { host: 'h', clientId: 5 }, /clientId must be a string, not 5/],
    // decodeURIComponent's URIError, which would escape the documented TypeError; the URL (its credentials) is not shown.
    ['a lone % in the URL password', { url: 'mqtt://u:50%off@h' }, /^the url's password is not valid percent-encoding: a '%' must begin %XX \(write a '%' itself as %25\)$/],
    ['a lone % in the URL user', { url: 'mqtt://50%@h' }, /^the url's user is not valid percent-encoding/],
    // Not left for the link to fail on, reconnecting for ever.
    ['tls.ca an array holding a number', { host: 'h', tls: { ca: ['PEM', 5] } }, /^tls\.ca must be a PEM \(a string or bytes\) or an array of them, not an array holding a PEM, 5$/],
    ['tls.ca an ArrayBuffer', { host: 'h', tls: { ca: new ArrayBuffer(4) } }, /^tls\.ca must be .*, not an object \(ArrayBuffer\)$/],
    ['tls.ca nested arrays', { url: 'mqtts://h', tls: { ca: [['PEM']] } }, /^tls\.ca must be/],
    ['tls.cert an array', { host: 'h', tls: { cert: ['PEM'], key: 'PEM' } }, /^tls\.cert must be a PEM \(a string or bytes\), not an array/],
    ['tls.key a number', { host: 'h', tls: { cert: 'PEM', key: 1 } }, /^tls\.key must be a PEM/],
    ['tls.servername not a string', { host: 'h', tls: { servername: 1 } }, /^tls\.servername must be a string, not 1$/],
    ['tls not an object', { host: 'h', tls: 'PEM' }, /^tls must be an object, not "PEM"$/],
  ])('%s: TypeError', (_name, options, message) => {
    expect(() => resolveOptions(options as NodeClientOptions)).toThrow(TypeError);
    expect(() => resolveOptions(options as NodeClientOptions)).toThrow(message);
    expect(() => new NodeClient(options as NodeClientOptions)).toThrow(message);
  });
});

describe('Client on NodeHost without the wrapper', () => {
  it('a missing or out-of-range port: start() throws TypeError at once (no endless retries), and the client can start once fixed', () => {
    const o = { host: '127.0.0.1', clientId: 'p' } as ClientOptions;
    const disconnects: number[] = [];
    // The Client refuses it when made; the host refuses it again if the options change afterwards.
    expect(() => new Client(new NodeHost(), o)).toThrow('options.port must be an integer from 1 to 65535');
    o.port = 1883;
    const client = new Client(new NodeHost(), o, { onDisconnect: (s) => disconnects.push(s) });
    o.port = undefined as unknown as number;
    expect(() => client.start()).toThrow('port must be an integer from 1 to 65535, not undefined');
    o.port = 70000;
    expect(() => client.start()).toThrow(TypeError);
    expect(client.online).toBe(false);
    expect(disconnects).toEqual([]); // nothing was attempted, nothing is scheduled
    o.port = 1; // nothing listens there: now a real attempt, reported
    client.start();
    client.stop();
    expect(disconnects.length).toBe(1);
  });
});

describe('NodeClient promises while the client is not connecting (no broker)', () => {
  const clients: NodeClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.stop();
  });

  /** A client refused by 127.0.0.1:1, waiting a minute to retry once the first attempt is reported. */
  async function waiting(): Promise<{ client: NodeClient; retries: number[] }> {
    const retries: number[] = [];
    const client = connect({ host: '127.0.0.1', port: 1, reconnectMinMs: 60000, reconnectMaxMs: 60000 }, { onDisconnect: (_s, retryMs) => retries.push(retryMs) });
    clients.push(client);
    for (let i = 0; i < 500 && !retries.length; i++) await sleep(10);
    expect(retries.length).toBe(1);
    expect(retries[0]).toBeGreaterThan(0); // waiting to reconnect: stop() sends no onDisconnect from here
    return { client, retries };
  }

  it('stop() while waiting to reconnect: connected() rejects with ConnectError(STOPPED), and no timer is left to keep Node alive', async () => {
    const before = liveTimers();
    const { client, retries } = await waiting();
    const p = client.connected(30000); // its timer must not outlive the client
    client.stop();
    const err = await outcome(p, 1000);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).status).toBe(STOPPED);
    expect((err as Error).message).toMatch(/^not connected: STOPPED; last attempt: CONNECTION_LOST \(.*ECONNREFUSED/);
    expect(retries).toHaveLength(1); // nothing more was reported
    expect(liveTimers()).toBeLessThanOrEqual(before); // neither connected()'s timer nor the client's reconnect timer (another test's may end meanwhile)
  });

  it('end() while waiting to reconnect: it resolves, and connected() rejects with ConnectError(STOPPED)', async () => {
    const { client } = await waiting();
    const p = client.connected();
    expect(await client.end()).toBe(0);
    const err = await outcome(p, 1000);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).status).toBe(STOPPED);
  });

  it('connected() on a client that is not running (never started, stopped) rejects at once; after start() it waits again', async () => {
    const client = new NodeClient({ host: '127.0.0.1', port: 1, reconnectMinMs: 60000, reconnectMaxMs: 60000 });
    clients.push(client);
    const never = await outcome(client.connected(), 100);
    expect(never).toBeInstanceOf(ConnectError);
    expect((never as ConnectError).status).toBe(STOPPED);
    expect((never as Error).message).toBe('not connected: STOPPED');
    client.start();
    expect(await outcome(client.connected(), 300)).toBe('pending'); // running: it waits for a connection
    client.stop();
    const stopped = await outcome(client.connected(), 100);
    expect((stopped as ConnectError).status).toBe(STOPPED);
    // A start() that throws (a target it can never reach) leaves it not running.
    const bad = new NodeClient({ host: '127.0.0.1', port: 1 });
    (bad.session.options as ClientOptions).port = 0;
    expect(() => bad.start()).toThrow(TypeError);
    expect(((await outcome(bad.connected(), 100)) as ConnectError).status).toBe(STOPPED);
  });

  it('timeouts of 2^31 ms or more (Infinity) mean never, not 1 ms; a timeout that is not a number is a TypeError', async () => {
    const host = new NodeHost();
    let fired = 0;
    const timers = [host.setTimer(() => fired++, 2 ** 31), host.setTimer(() => fired++, Infinity), host.setTimer(() => fired++, 2 ** 40)];
    const client = connect({ host: '127.0.0.1', port: 1, reconnectMinMs: 50, reconnectMaxMs: 50 });
    clients.push(client);
    const p = client.connected(Infinity);
    const q = client.connected(2 ** 31);
    expect(client.publish('nc/t', 'x', 1)).toBeGreaterThan(0); // outstanding: end() must wait for it
    const left = client.end(Infinity);
    expect(await outcome(Promise.race([p, q, left]), 300)).toBe('pending');
    expect(fired).toBe(0);
    for (const t of timers) host.clearTimer(t);
    client.stop();
    expect(await left).toBe(1);
    expect(((await outcome(p, 100)) as ConnectError).status).toBe(STOPPED);
    expect(((await outcome(q, 100)) as ConnectError).status).toBe(STOPPED);
    // MQTT.js's end(true) (force) and other non-numbers are refused, not taken for a 1 ms timeout.
    expect(() => client.end(true as unknown as number)).toThrow(new TypeError('end() takes a timeout in ms, not true'));
    expect(() => client.end('5000' as unknown as number)).toThrow(TypeError);
    expect(() => client.end(NaN)).toThrow(TypeError);
    expect(() => client.connected('5000' as unknown as number)).toThrow(new TypeError('connected() takes a timeout in ms, not "5000"'));
  });
});

/** A raw broker: answers a CONNECT with `reply` (a CONNACK and what follows), then closes (FIN). */
async function rawBroker(reply: Buffer): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end(reply));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, server };
}

/** CONNACK 0, then `n` PUBLISHes to "t" of QoS `qos` (ids 1…n), each with a 95-byte payload numbered from 0. */
function burst(n: number, qos: number): Buffer {
  const parts = [Buffer.from([0x20, 2, 0, 0])];
  const buf = new Uint8Array(200);
  for (let i = 0; i < n; i++) {
    const end = writePublish(buf, 0, 't', String(i).padStart(95, '0'), qos, false, false, qos ? i + 1 : 0);
    parts.push(Buffer.from(buf.subarray(0, end)));
  }
  return Buffer.concat(parts);
}

describe('NodeClient and a peer that closes right after sending', () => {
  const servers: Server[] = [];
  const clients: NodeClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.stop();
    for (const s of servers.splice(0)) s.close();
  });

  it.each([1024, 2048, 65536])('QoS 0 messages and then FIN, rxQueueBytes %i: the bytes the link held are delivered before onDisconnect("closed by peer")', async (rxQueueBytes) => {
    const n = 3000; // 311 KB: more than the link delivers at once, also with the default queue
    const { port, server } = await rawBroker(burst(n, 0));
    servers.push(server);
    const got: number[] = [];
    const events: string[] = [];
    const client = connect({ host: '127.0.0.1', port, rxQueueBytes, reconnectMinMs: 60000, reconnectMaxMs: 60000 }, {
      onMessage: (m) => void got.push(Number(m.text)),
      onDisconnect: (_s, retryMs, reason) => void events.push(`disconnect(${reason}) after ${got.length}, retry ${retryMs > 0}`),
    });
    clients.push(client);
    for (let i = 0; i < 500 && !events.length; i++) await sleep(10);
    expect(events).toEqual([`disconnect(closed by peer) after ${n}, retry true`]);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i)); // in order, none lost
  });

  it('QoS 1 messages and then FIN: the PUBACKs cannot be sent, yet the link still ends (no wait for ever on the bytes it held)', async () => {
    const { port, server } = await rawBroker(burst(100, 1));
    servers.push(server);
    let got = 0;
    const events: string[] = [];
    const client = connect({ host: '127.0.0.1', port, rxQueueBytes: 1024, reconnectMinMs: 60000, reconnectMaxMs: 60000 }, {
      onMessage: () => void got++,
      onDisconnect: (_s, retryMs, reason) => void events.push(`disconnect(${reason}), retry ${retryMs > 0}`),
    });
    clients.push(client);
    for (let i = 0; i < 300 && !events.length; i++) await sleep(10);
    expect(events).toEqual(['disconnect(closed by peer), retry true']);
    expect(got).toBeGreaterThan(0); // what fits before an unsendable PUBACK; the broker sends the rest again
  });
});

describe('NodeClient against Mosquitto (password auth)', () => {
  let broker: Broker;
  const clients: NodeClient[] = [];
  beforeAll(async () => {
    broker = await startMosquitto({ auth: { users: { dev: 'p@ss:w/rd' } } });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.stop();
  });
  afterAll(async () => broker?.stop());

  it('connect(url) with credentials in it: await connected(), a QoS 1 round trip, await end() → 0 left', async () => {
    const got: string[] = [];
    const client = connect(`mqtt://dev:${encodeURIComponent('p@ss:w/rd')}@127.0.0.1:${broker.port}`);
    clients.push(client);
    expect(client.session.options.clientId).toMatch(/^xs-mqtt-/);
    await client.connected(8000);
    expect(client.online).toBe(true);
    await client.connected(); // online: resolves at once
    client.subscribe('nc/#', 1, (m: Message) => got.push(m.text));
    for (let i = 0; i < 10; i++) client.publish('nc/t', 'n' + i, 1);
    const left = await client.end(8000);
    expect(left).toBe(0);
    expect(client.online).toBe(false);
    expect(got.length).toBe(10); // its own messages came back: Mosquitto forwards each before its PUBACK
  });

  it('started again after end(): connected() waits for the new connection and resolves', async () => {
    const client = connect({ url: `mqtt://dev:${encodeURIComponent('p@ss:w/rd')}@127.0.0.1:${broker.port}` });
    clients.push(client);
    await client.connected(8000);
    expect(await client.end(8000)).toBe(0);
    expect(((await outcome(client.connected(), 100)) as ConnectError).status).toBe(STOPPED);
    client.start();
    await client.connected(8000);
    expect(client.online).toBe(true);
  });

  it('a wrong password: connected() rejects with a ConnectError carrying the refusal', async () => {
    const client = connect({ url: `mqtt://dev:wrong@127.0.0.1:${broker.port}` });
    clients.push(client);
    const err = await client.connected(8000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).status).toBe(REFUSED_NOT_AUTHORIZED);
    expect((err as Error).message).toBe('not connected: REFUSED_NOT_AUTHORIZED');
  });

  it('nothing listening: connected(timeoutMs) rejects after the timeout, saying how the last attempt ended', async () => {
    const client = connect({ host: '127.0.0.1', port: 1, reconnectMinMs: 50, reconnectMaxMs: 100 });
    clients.push(client);
    const t0 = performance.now();
    const err = await client.connected(400).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    expect((err as Error).message).toMatch(/^not connected within 400 ms; last attempt: CONNECTION_LOST \(.*ECONNREFUSED/);
    expect(await client.end(100)).toBe(0); // stopped; nothing was queued
  });
});
