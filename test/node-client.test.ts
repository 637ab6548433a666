// NodeClient, the Node-only face of the client: broker URLs, default ports, a generated client id,
// options that cannot work refused at once with a TypeError (not retried forever), and promises
// (connected(), end()) — against a real Mosquitto with password auth.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client, REFUSED_NOT_AUTHORIZED } from '../src/index.js';
import type { ClientOptions, Message } from '../src/index.js';
import { ConnectError, NodeClient, NodeHost, connect, resolveOptions } from '../hosts/node/index.js';
import type { NodeClientOptions } from '../hosts/node/index.js';
import { startMosquitto } from './brokers/mosquitto.js';
import type { Broker } from './brokers/mosquitto.js';

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
    expect(resolveOptions({ url: 'mqtts://[::1]', clientId: 'a' })).toMatchObject({ host: '::1', port: 8883, tls: {} });
    const ca = 'PEM';
    expect(resolveOptions({ url: 'mqtts://h/', clientId: 'a', tls: { ca } })).toMatchObject({ host: 'h', port: 8883, tls: { ca } });
    expect(resolveOptions({ url: 'mqtt://u@h', clientId: 'a' })).toMatchObject({ username: 'u', password: undefined });
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
