// The ECMA-419 MQTT client class (hosts/moddable/mqttclient.ts) on Node, its Moddable modules stood
// in (test/stand-ins/moddable.ts): byte-exact checks of what it writes for what an app calls, fast.
// The class on Moddable's real runtime against Mosquitto is test/moddable-ecma419.test.ts.
import { describe, expect, it, vi } from 'vitest';
import { advance, sockets, TCP } from './stand-ins/moddable.js';

vi.mock('embedded:io/socket/tcp', async () => ({ default: (await import('./stand-ins/moddable.js')).TCP }));
vi.mock('embedded:io/socket/udp', async () => ({ default: (await import('./stand-ins/moddable.js')).UDP }));
vi.mock('embedded:network/dns/resolver/udp', async () => ({ default: (await import('./stand-ins/moddable.js')).Resolver }));
vi.mock('timer', async () => ({ default: (await import('./stand-ins/moddable.js')).Timer }));
vi.mock('time', async () => ({ default: (await import('./stand-ins/moddable.js')).Time }));

// (By a path in a variable: the test project's type check has no Moddable typings for the class's
// imports; tsconfig.moddable.json checks the class against them.)
const CLASS = '../hosts/moddable/mqttclient.js';
const { default: MQTTClient } = await import(CLASS);

const PINGRESP = [0xd0, 0];
const ab = (s: string) => new TextEncoder().encode(s).buffer;

/** A client whose socket connected and whose CONNACK came; `log` records its callbacks. */
function online(options: Record<string, any> = {}) {
  const log: any[] = [];
  const c: any = new MQTTClient({
    host: '127.0.0.1',
    id: 'x',
    onControl(m: any) {
      log.push(['control', m.operation, m.id]);
    },
    onError(status: number) {
      log.push(['error', status]);
    },
    onClose() {
      log.push(['close']);
    },
    ...options,
  });
  const s = sockets[sockets.length - 1];
  s.writable(1536);
  s.take(); // CONNECT
  s.feed([0x20, 2, 0, 0]);
  return { c, s, log };
}

/** The packet types on the wire, in order. */
function types(bytes: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    let len = 0;
    let mul = 1;
    let k = i + 1;
    for (;;) {
      const b = bytes[k++];
      len += (b & 127) * mul;
      mul *= 128;
      if (b < 128) break;
    }
    out.push(bytes[i] >> 4);
    i = k + len;
  }
  return out;
}

describe('the ECMA-419 class: what Moddable\'s client and its mqtt.js layer write', () => {
  it('topics, filters, the client id, the user name and the will\'s topic given as ArrayBuffers go out as the same strings would', () => {
    const connect = (o: object) => {
      new MQTTClient({ host: '127.0.0.1', onError() {}, ...o });
      const s = sockets[sockets.length - 1];
      s.writable(1536);
      return s.take();
    };
    expect(connect({ id: ab('dev1'), user: ab('u'), password: 'p', will: { topic: ab('w/x'), message: ab('bye') } })).toEqual(
      connect({ id: 'dev1', user: 'u', password: 'p', will: { topic: 'w/x', message: ab('bye') } }),
    );
    const { c, s } = online();
    c.write(null, { operation: MQTTClient.SUBSCRIBE, items: [{ topic: ab('a/+'), QoS: 1 }] });
    c.write(Uint8Array.of(7), { topic: ab('a/b') });
    // SUBSCRIBE id 1 "a/+" QoS 1; PUBLISH QoS 0 "a/b" 07.
    expect(s.take()).toEqual([0x82, 8, 0, 1, 0, 3, 0x61, 0x2f, 0x2b, 1, 0x30, 6, 0, 3, 0x61, 0x2f, 0x62, 7]);
  });

  it('a payload that is not a Buffer is a TypeError, and nothing is written ("hi" was sent empty, "12" as twelve zeros)', () => {
    const { c, s } = online();
    expect(() => c.write('hi', { topic: 't' })).toThrow(TypeError);
    expect(() => c.write(12, { topic: 't' })).toThrow(TypeError);
    expect(s.take()).toEqual([]);
  });

  it('the later fragments of a message may be written with null options, as Moddable\'s mqtt.js writes them', () => {
    const { c, s } = online();
    c.write(Uint8Array.of(1, 2), { topic: 't', byteLength: 4 });
    c.write(Uint8Array.of(3, 4), null);
    expect(s.take()).toEqual([0x30, 7, 0, 1, 0x74, 1, 2, 3, 4]);
  });

  it('PINGRESP is reported with id 0, not the id of the packet before it', () => {
    const { c, s, log } = online({ onReadable() { (this as any).read(); } });
    s.feed([0x32, 6, 0, 1, 0x74, 0x01, 0x2c, 0x41, ...PINGRESP]); // QoS 1 PUBLISH "t", id 300; PINGRESP
    expect(log.filter((l) => l[0] === 'control')).toEqual([['control', MQTTClient.CONNACK, 0], ['control', MQTTClient.PINGRESP, 0]]);
    expect(s.take()).toEqual([0x40, 2, 1, 0x2c]); // its PUBACK
    c.close();
  });

  it('the app\'s PINGREQ goes out as C0 00 and counts as sent for keepalive: the session\'s own PINGREQ comes a keepalive after it', () => {
    const { c, s } = online({ keepAlive: 10_000 });
    advance(6_000);
    expect(c.write(null, { operation: MQTTClient.PINGREQ })).toBeGreaterThan(0);
    expect(s.take()).toEqual([0xc0, 0]);
    s.feed(PINGRESP);
    advance(9_000); // 15 s since CONNECT, 9 s since the app's PINGREQ: nothing due yet
    expect(s.take()).toEqual([]);
    advance(1_000);
    expect(s.take()).toEqual([0xc0, 0]);
    c.close();
  });
});

describe('the ECMA-419 class: what write() and onWritable promise holds', () => {
  it('an app writing QoS 1 while the count allows never sees a throw, though no PUBACK comes; an acknowledgement gives it room again', () => {
    let n = 0;
    const { s } = online({
      outboxBytes: 1024,
      onWritable(count: number) {
        // 50 B payloads, each a 57 B packet: while the count leaves room for one with a margin.
        while (count >= 100) {
          count = (this as any).write(new Uint8Array(50), { topic: 't', QoS: 1 });
          n++;
        }
      },
    });
    for (let i = 0; i < 3; i++) {
      s.take();
      s.writable(1536);
    }
    // The outbox (1,024 B) holds 17 such messages; the 18th would have failed (OUTBOX_FULL).
    expect(n).toBe(17);
    s.feed([0x40, 2, 0, 1, 0x40, 2, 0, 2]); // PUBACK 1, 2: 114 B free again
    expect(n).toBe(18);
  });

  it('an empty outbox limits no count: messages larger than it go straight to the socket, and the count is the socket\'s again once the kept one is acknowledged', () => {
    const counts: number[] = [];
    const { c, s } = online({ outboxBytes: 32, onWritable(n: number) { counts.push(n); } });
    counts.length = 0;
    // A kept message (no payload: 13 B) leaves the outbox 19 B: the count is at most that, less 8.
    expect(c.write(null, { topic: 'x/y/ids', QoS: 1 })).toBe(11);
    s.feed([0x40, 2, 0, 1]); // its PUBACK: the outbox is empty again
    expect(counts).toEqual([1536 - 15 - 13 - 8]); // the socket's room, less the CONNECT and that message
    // A 45 B message, larger than the outbox, within the count: straight to the socket.
    expect(c.write(new ArrayBuffer(32), { topic: 'x/y/ids', QoS: 1 })).toBe(1536 - 15 - 13 - 45 - 8);
  });

  it('a message kept whole, written in fragments, needs room for all of it at its first fragment: an overflow then, and nothing is half kept', () => {
    const { c, s } = online({ outboxBytes: 1000 });
    s.room = 500;
    c.write(Uint8Array.of(0), { topic: 't' }); // the socket's room is now 494 (the stand-in's count)
    s.take();
    expect(() => c.write(new Uint8Array(300), { topic: 't', byteLength: 900 })).toThrow('overflow');
    // QoS 1: the outbox holds a 606 B message; 606 more do not fit in its 1,000.
    s.writable(1536);
    c.write(new Uint8Array(600), { topic: 't', QoS: 1 });
    expect(() => c.write(new Uint8Array(300), { topic: 't', QoS: 1, byteLength: 600 })).toThrow('overflow');
    s.take();
    // Nothing was left waiting for fragments: the next write is a message of its own.
    c.write(Uint8Array.of(9), { topic: 't' });
    expect(s.take()).toEqual([0x30, 4, 0, 1, 0x74, 9]);
  });

  it('DISCONNECT goes out after every message write() took, the inflight window aside; none is dropped', () => {
    const { c, s, log } = online();
    for (let i = 0; i < 12; i++) c.write(Uint8Array.of(i), { topic: 't', QoS: 1 });
    c.write(null, { operation: MQTTClient.DISCONNECT });
    expect(types(s.take())).toEqual([...Array(12).fill(3), 14]);
    expect(s.closed).toBe(true);
    advance(1);
    expect(log.at(-1)).toEqual(['close']);
  });

  it('DISCONNECT that the socket cannot take yet (a message\'s tail waits for onWritable) is an overflow, and closes nothing; written again, it goes', () => {
    const { c, s, log } = online();
    c.write(new Uint8Array(3000), { topic: 't', QoS: 1 }); // more than the socket's 1,536 B: its tail waits
    expect(() => c.write(null, { operation: MQTTClient.DISCONNECT })).toThrow('overflow');
    expect(s.closed).toBe(false);
    s.writable(1536);
    c.write(null, { operation: MQTTClient.DISCONNECT });
    const out = s.take();
    expect(out.length).toBe(3008 + 2); // the PUBLISH (1 + 2 + 3,005 B), DISCONNECT
    expect(out.slice(-2)).toEqual([0xe0, 0]);
    advance(1);
    expect(log.filter((l) => l[0] !== 'control')).toEqual([['close']]);
  });
});

describe('the ECMA-419 class: callbacks as the spec\'s base class pattern has them', () => {
  it('no onClose after close(): DISCONNECT then close(), as Moddable\'s example does', () => {
    const { c, log } = online();
    c.write(null, { operation: MQTTClient.DISCONNECT });
    c.close();
    advance(10);
    expect(log.filter((l) => l[0] !== 'control')).toEqual([]);
  });

  it('no callback inside the constructor: a socket or a resolver that throws is reported from the timer, once', () => {
    class Throws {
      constructor() {
        throw new Error('no sockets');
      }
    }
    for (const o of [{ host: '127.0.0.1', socket: { io: Throws } }, { host: 'broker.example', dns: { io: Throws } }]) {
      const log: number[] = [];
      new MQTTClient({ ...o, onError(status: number) { log.push(status); } });
      expect(log).toEqual([]);
      advance(1);
      expect(log.length).toBe(1);
      advance(60_000);
      expect(log.length).toBe(1);
    }
  });

  it('the app\'s own dns (the host provider\'s): its socket\'s onReadable is guarded too, and its objects are not changed', async () => {
    const { UDP, Resolver } = await import('./stand-ins/moddable.js');
    const dns = { io: Resolver, servers: ['10.0.0.53'], socket: { io: UDP } };
    const log: any[] = [];
    // The stand-in resolver reads a second reply after close, which throws: uncaught, an XS abort.
    new MQTTClient({ host: 'broker.example', dns, onError() { log.push('error'); } });
    expect(dns.socket.io).toBe(UDP);
    const s = sockets[sockets.length - 1];
    expect(s).toBeInstanceOf(TCP);
    expect(s.o.address).toBe('10.0.0.1');
    expect(log).toEqual([]);
  });

  it('the reconnect option: a lost connection is onControl DISCONNECT with id 0 and the status, and no field of the message before it (one object, reused)', () => {
    const seen: any[] = [];
    const { c, s } = online({ reconnect: 100, clean: false, onControl(m: any) { seen.push({ ...m }); } });
    c.write(null, { operation: MQTTClient.SUBSCRIBE, items: [{ topic: 'a', QoS: 1 }] });
    s.feed([0x90, 3, 0, 1, 1]); // SUBACK id 1, QoS 1
    c.write(Uint8Array.of(1), { topic: 't', QoS: 1 });
    s.feed([0x40, 2, 0, 2]); // PUBACK id 2
    s.o.onError();
    expect(seen.map((m) => [m.operation, m.id])).toEqual([[2, 0], [9, 1], [4, 2], [14, 0]]);
    expect(seen[1].payload).toEqual(Uint8Array.of(1));
    const lost = seen[3];
    expect(lost.status).toBeLessThan(0); // CONNECTION_LOST
    expect([lost.returnCode, lost.sessionPresent, lost.payload]).toEqual([undefined, undefined, undefined]);
    advance(100); // the backoff: a new socket, CONNECT, CONNACK with the session present
    const s2 = sockets[sockets.length - 1];
    expect(s2).not.toBe(s);
    s2.writable(1536);
    expect(s2.take()[0]).toBe(0x10);
    s2.feed([0x20, 2, 1, 0]);
    expect(seen[4]).toMatchObject({ operation: 2, id: 0, returnCode: 0, sessionPresent: true, status: undefined });
    expect(c.write(Uint8Array.of(2), { topic: 't', QoS: 1 })).toBeGreaterThan(0);
  });

  it('after close(), write() throws, with the reconnect option too (a QoS 1 message went into an outbox that would never send it)', () => {
    const { c } = online({ reconnect: 100 });
    c.close();
    expect(() => c.write(Uint8Array.of(1), { topic: 't', QoS: 1 })).toThrow('not connected');
  });
});
