// The Node host against real brokers: Mosquitto (plain, password auth, persistence across SIGKILL,
// TLS and mutual TLS) and Aedes, directly and through a fault-injecting proxy. MQTT is spoken with
// the codec alone (no Client), so what is tested is the link: its events, their order, and the
// contract of src/host.ts — events never inside open/write/close, exactly one onClose per link,
// nothing after it, writes copied, TLS failing closed.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeHost, WRITE_HIGH_WATER } from '../hosts/node/index.js';
import {
  CONNACK,
  Decoder,
  EV_FRAGMENT,
  EV_PACKET,
  NEED_MORE,
  PINGRESP,
  PUBACK,
  PUBLISH,
  SUBACK,
  decodeUtf8,
  writeAck,
  writeConnect,
  writeDisconnect,
  writePingreq,
  writePublish,
  writeSubscribe,
  type ConnectOptions,
  type Link,
  type Target,
} from '../src/index.js';
import { startAedes, type AedesBroker } from './brokers/aedes.js';
import { freePort, sleep } from './brokers/free-port.js';
import { startMosquitto, type Broker } from './brokers/mosquitto.js';
import { startProxy, type Proxy } from './brokers/proxy.js';

const host = new NodeHost();
const LOCAL = '127.0.0.1';
const WAIT_MS = 8000; // generous: a loaded 2-core CI machine, TLS handshakes, broker start-up

interface Packet {
  type: number;
  returnCode?: number;
  sessionPresent?: boolean;
  qos?: number;
  dup?: boolean;
  packetId?: number;
  topic?: string;
  payload?: string;
  codes?: number[];
}

/**
 * One link driven by hand. Every event is logged and checked against the Host contract as it
 * happens; packets are decoded with the codec's Decoder. The transmit buffer is reused for every
 * write and scribbled over right after it, as the client does: a link that did not copy would send
 * garbage.
 */
class Conn {
  static current: Conn[] = []; // links opened by the running test, checked in afterEach
  readonly log: string[] = [];
  readonly violations: string[] = [];
  readonly packets: Packet[] = []; // decoded, not yet taken
  opens = 0;
  closes = 0;
  writables = 0;
  bytesIn = 0;
  reason = '';
  decodeError = 0;
  readonly link: Link;
  private inCall = ''; // the link call in progress: an event now breaks the contract
  private readonly dec = new Decoder(4096);
  private readonly tx = new Uint8Array(2048);
  private wakers = new Set<() => void>();

  constructor(target: Target) {
    Conn.current.push(this);
    this.inCall = 'open';
    this.link = host.open(target, {
      onOpen: () => this.event('open', () => this.opens++),
      onData: (bytes, offset, length) => {
        this.event('data', () => {
          this.bytesIn += length;
          this.decode(bytes, offset, length);
        });
        return length;
      },
      onWritable: () => this.event('writable', () => this.writables++),
      onClose: (reason) =>
        this.event(`close(${reason})`, () => {
          this.closes++;
          this.reason = reason;
        }),
    });
    this.inCall = '';
  }

  /** Checks the contract, records the event (`apply`), then wakes the waiters. */
  private event(what: string, apply: () => void): void {
    if (this.inCall) this.violations.push(`${what} inside ${this.inCall}()`);
    if (this.closes) this.violations.push(`${what} after onClose`);
    this.log.push(what);
    apply();
    for (const w of this.wakers) w();
  }

  private decode(bytes: Uint8Array, offset: number, length: number): void {
    const d = this.dec;
    while (length > 0) {
      const ev = d.push(bytes, offset, length);
      offset += d.consumed;
      length -= d.consumed;
      if (ev === NEED_MORE) break;
      if (ev === EV_PACKET) {
        const p: Packet = { type: d.type };
        if (d.type === CONNACK) {
          p.returnCode = d.returnCode;
          p.sessionPresent = d.sessionPresent;
        } else if (d.type === PUBLISH) {
          p.qos = d.qos;
          p.dup = d.dup;
          p.packetId = d.packetId;
          p.topic = decodeUtf8(d.topicData, d.topicOffset, d.topicOffset + d.topicLength);
          p.payload = Buffer.from(d.data.subarray(d.payloadOffset, d.payloadOffset + d.payloadLength)).toString();
        } else if (d.type !== PINGRESP) {
          p.packetId = d.packetId;
          if (d.type === SUBACK) p.codes = Array.from(d.data.subarray(d.payloadOffset, d.payloadOffset + d.payloadLength));
        }
        this.packets.push(p);
      } else {
        this.decodeError = ev === EV_FRAGMENT ? 1 : ev; // fragments: a packet over 4 KiB, not expected here
        this.violations.push(`decoder status ${ev}`);
        break;
      }
    }
  }

  /** Resolves with check()'s value once it is not undefined; re-checked on every event. */
  until<T>(what: string, check: () => T | undefined, timeoutMs = WAIT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waker = () => {
        let v: T | undefined;
        try {
          v = check();
        } catch (err) {
          done();
          reject(err);
          return;
        }
        if (v !== undefined) {
          done();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events: ${this.log.join(', ')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(waker);
      };
      this.wakers.add(waker);
      waker();
    });
  }

  opened(): Promise<void> {
    return this.until('onOpen', () => {
      if (this.opens) return true;
      if (this.closes) throw new Error(`closed before open: ${this.reason}`);
      return undefined;
    }).then(() => undefined);
  }

  closed(timeoutMs = WAIT_MS): Promise<string> {
    return this.until('onClose', () => (this.closes ? this.reason : undefined), timeoutMs);
  }

  /** Takes the first received packet of `type` (and matching `pred`), waiting for it. */
  take(type: number, pred: (p: Packet) => boolean = () => true, timeoutMs = WAIT_MS): Promise<Packet> {
    return this.until(`packet type ${type}`, () => {
      const i = this.packets.findIndex((p) => p.type === type && pred(p));
      if (i >= 0) return this.packets.splice(i, 1)[0];
      if (this.closes) throw new Error(`closed (${this.reason}) while waiting for packet type ${type}; events: ${this.log.join(', ')}`);
      return undefined;
    }, timeoutMs);
  }

  /** Encodes with `enc` into the shared buffer, writes, then scribbles over the buffer. */
  send(enc: (buf: Uint8Array, pos: number) => number): boolean {
    const end = enc(this.tx, 0);
    if (end < 0) throw new Error(`encode status ${end}`);
    this.inCall = 'write';
    const ok = this.link.write(this.tx, 0, end);
    this.inCall = '';
    this.tx.fill(0xff, 0, end);
    return ok;
  }

  close(): void {
    this.inCall = 'close';
    this.link.close();
    this.inCall = '';
  }

  /** Opens the link, sends CONNECT, returns the CONNACK. */
  async connect(o: ConnectOptions): Promise<Packet> {
    await this.opened();
    expect(this.send((b, p) => writeConnect(b, p, o))).toBe(true);
    return this.take(CONNACK);
  }

  async subscribe(id: number, filter: string, qos: number): Promise<Packet> {
    expect(this.send((b, p) => writeSubscribe(b, p, id, [filter], [qos]))).toBe(true);
    return this.take(SUBACK, (p) => p.packetId === id);
  }

  publish(id: number, topic: string, payload: string, qos: number): void {
    expect(this.send((b, p) => writePublish(b, p, topic, payload, qos, false, false, id))).toBe(true);
  }

  /** DISCONNECT, then waits for the broker to close the link. */
  async disconnect(): Promise<string> {
    expect(this.send((b, p) => writeDisconnect(b, p))).toBe(true);
    return this.closed();
  }
}

function plain(port: number): Target {
  return { host: LOCAL, port };
}

/** For conditions outside a link's events (a peer server's reads): checks every 10 ms. */
async function poll(what: string, cond: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
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

let seq = 0;
function uid(prefix: string): string {
  return `${prefix}-${process.pid}-${++seq}`;
}

/** Subscribe at QoS 1, publish at QoS 1 on the same link: SUBACK, PUBACK, our PUBLISH back. */
async function roundTrip(c: Conn, topic: string): Promise<void> {
  expect(await c.subscribe(1, topic, 1)).toEqual({ type: SUBACK, packetId: 1, codes: [1] });
  c.publish(2, topic, 'hello over node', 1);
  expect(await c.take(PUBACK)).toEqual({ type: PUBACK, packetId: 2 });
  const m = await c.take(PUBLISH);
  expect(m).toMatchObject({ qos: 1, dup: false, topic, payload: 'hello over node' });
  expect(c.send((b, p) => writeAck(b, p, PUBACK, m.packetId!))).toBe(true);
}

// Every link a test opened is closed and checked: exactly one onClose, nothing after it, no event
// inside a link call. The short pause lets a second onClose (from the socket's own 'close', which
// follows our close()) show up if the link failed to suppress it.
afterEach(async () => {
  const conns = Conn.current;
  Conn.current = [];
  for (const c of conns) if (!c.closes) c.close();
  await Promise.all(conns.map((c) => c.closed()));
  await sleep(100);
  for (const c of conns) {
    expect(c.violations, c.log.join(', ')).toEqual([]);
    expect(c.closes, c.log.join(', ')).toBe(1);
    expect(c.opens).toBeLessThanOrEqual(1);
    expect(c.log[c.log.length - 1]).toMatch(/^close\(/);
    expect(c.link.write(new Uint8Array([0xc0, 0]), 0, 2)).toBe(false); // a closed link takes nothing
  }
});

describe('NodeHost basics', () => {
  it('has a monotonic integer clock, timers, defer', async () => {
    const t0 = host.nowMs();
    expect(Number.isInteger(t0)).toBe(true);
    const fired = await new Promise<number>((resolve) => host.setTimer(() => resolve(host.nowMs()), 30));
    expect((fired - t0) >>> 0).toBeGreaterThanOrEqual(25);
    let ran = false;
    const h = host.setTimer(() => (ran = true), 10);
    host.clearTimer(h);
    const order: string[] = [];
    host.defer(() => order.push('deferred'));
    order.push('sync');
    await sleep(30);
    expect(ran).toBe(false);
    expect(order).toEqual(['sync', 'deferred']);
    const r = host.random();
    expect(r >= 0 && r < 1).toBe(true);
  });

  it('connection refused: one onClose with the error, no onOpen', async () => {
    const c = new Conn(plain(await freePort()));
    expect(await c.closed()).toMatch(/ECONNREFUSED/);
    expect(c.opens).toBe(0);
  });

  it('a target no link could ever reach (no host, a port missing or outside 1..65535): open() throws TypeError at once, no link', () => {
    const events = { onOpen() {}, onData: () => 0, onWritable() {}, onClose() {} };
    for (const t of [plain(70000), plain(0), plain(1.5), { host: LOCAL } as Target, { host: '', port: 1883 }, { port: 1883 } as Target]) {
      expect(() => host.open(t, events), JSON.stringify(t)).toThrow(TypeError);
    }
    expect(() => host.open(plain(70000), events)).toThrow('port must be an integer from 1 to 65535, not 70000');
    expect(() => host.open({ port: 1883 } as Target, events)).toThrow('host must be a non-empty string, not undefined');
    // TLS options of the wrong types: a CA array may hold PEMs only (strings or bytes).
    expect(() => host.open({ host: LOCAL, port: 1, tls: { ca: [new ArrayBuffer(1)] } } as unknown as Target, events)).toThrow(TypeError);
    expect(() => host.open({ host: LOCAL, port: 1, tls: { cert: 5 } } as unknown as Target, events)).toThrow('tls.cert must be a PEM (a string or bytes), not 5');
  });

  it('a malformed client key (Node throws inside tls.connect): onClose later', async () => {
    const c = new Conn({ host: LOCAL, port: 1, tls: { cert: 'not a certificate', key: 'not a key' } });
    expect(c.closes).toBe(0);
    expect(await c.closed()).not.toBe('');
    expect(c.opens).toBe(0);
  });

  describe('flow control when the peer closes (FIN) while the link keeps bytes', () => {
    const servers: Server[] = [];
    afterAll(() => {
      for (const s of servers) s.close();
    });

    /** A peer that sends `data` at once and closes (FIN); a link to it whose receiver takes at most `take` bytes a call. */
    async function peerThenFin(data: Buffer, take: number, resumes: boolean) {
      const server = createServer((s) => {
        s.on('error', () => {});
        s.end(data);
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, LOCAL, () => r()));
      const addr = server.address();
      const got: Buffer[] = [];
      const log: string[] = [];
      let inCall = true;
      let closed!: (reason: string) => void;
      // Bounded: a link that never ends fails the test instead of hanging it.
      const onClose = Promise.race([new Promise<string>((r) => (closed = r)), sleep(WAIT_MS).then(() => `no onClose within ${WAIT_MS} ms`)]);
      const link: Link = host.open(plain(typeof addr === 'object' && addr ? addr.port : 0), {
        onOpen: () => void log.push(inCall ? 'open inside a call' : 'open'),
        onData: (bytes, offset, length) => {
          if (inCall) log.push('data inside a call');
          if (log[log.length - 1] !== 'data') log.push('data');
          const n = Math.min(length, take);
          got.push(Buffer.from(bytes.subarray(offset, offset + n)));
          if (n < length && resumes) setImmediate(() => link.resume()); // the receiver makes room, later
          return n;
        },
        onWritable: () => void log.push('writable'),
        onClose: (reason) => {
          log.push(`close(${reason})`);
          closed(reason);
        },
      });
      inCall = false;
      return { link, got, log, onClose, bytes: () => Buffer.concat(got) };
    }

    it('resume() delivers every kept byte, then one onClose("closed by peer") after the last', async () => {
      const data = Buffer.alloc(256 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
      const c = await peerThenFin(data, 1000, true);
      expect(await c.onClose).toBe('closed by peer');
      await sleep(100); // nothing may follow onClose
      expect(c.log).toEqual(['open', 'data', 'close(closed by peer)']);
      expect(c.bytes().length).toBe(data.length);
      expect(c.bytes().equals(data)).toBe(true);
      expect(c.link.write(new Uint8Array([0xc0, 0]), 0, 2)).toBe(false);
    });

    it('a write refused once the peer is gone ends the link: a receiver that waits for onWritable (an ack it owes) is not left waiting for ever', async () => {
      const c = await peerThenFin(Buffer.alloc(10000, 0x41), 100, false); // takes 100 bytes and waits
      await poll('the first bytes', () => c.got.length > 0);
      await sleep(200); // the peer's FIN and the socket's close, while the link keeps 9900 bytes
      expect(c.log).toEqual(['open', 'data']);
      expect(c.link.write(new Uint8Array([0x40, 2, 0, 1]), 0, 4)).toBe(false); // a PUBACK: no one to take it
      expect(c.log).toEqual(['open', 'data']); // never inside write()
      expect(await c.onClose).toBe('closed by peer');
      expect(c.bytes().length).toBe(100); // the rest is given up
    });
  });

  describe('back-pressure against a peer that does not read', () => {
    let server: Server;
    let peer: Promise<Socket>;
    beforeAll(async () => {
      let got: (s: Socket) => void;
      peer = new Promise((r) => (got = r));
      server = createServer((s) => {
        s.pause(); // read nothing: the kernel buffers fill, then Node's queue
        got(s);
      });
      await new Promise<void>((r) => server.listen(0, LOCAL, () => r()));
    });
    afterAll(async () => {
      (await peer).destroy();
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('write() refuses past the high-water mark, taking nothing; onWritable once drained', async () => {
      const addr = server.address();
      const c = new Conn(plain(typeof addr === 'object' && addr ? addr.port : 0));
      await c.opened();
      const chunk = new Uint8Array(64 * 1024).fill(0x42);
      let sent = 0;
      // Loopback buffers hold a few MiB; the loop is bounded so a broken limit fails, not hangs.
      while (sent < 256 * 1024 * 1024 && c.link.write(chunk, 0, chunk.length)) {
        sent += chunk.length;
        if (sent % (1 << 20) === 0) await sleep(1); // let the kernel take what it will
      }
      expect(sent).toBeLessThan(256 * 1024 * 1024);
      expect(c.writables).toBe(0);
      const s = await peer;
      let received = 0;
      s.on('data', (b: Buffer) => (received += b.length));
      s.resume();
      await c.until('onWritable', () => (c.writables ? true : undefined));
      expect(c.writables).toBe(1);
      // Everything accepted arrives, and the refused write took nothing.
      await poll('the peer to read every byte', () => received >= sent);
      expect(received).toBe(sent);
      expect(sent).toBeGreaterThan(WRITE_HIGH_WATER);
    });
  });
});

describe('Mosquitto, plain', () => {
  let broker: Broker;
  let proxy: Proxy;
  beforeAll(async () => {
    broker = await startMosquitto();
    proxy = await startProxy(broker.port);
  });
  afterAll(async () => {
    await proxy?.stop();
    await broker?.stop();
  });

  it('CONNECT → CONNACK 0; QoS 1 round trip on one link; DISCONNECT → closed by peer', async () => {
    const c = new Conn(plain(broker.port));
    expect(await c.connect({ clientId: uid('plain'), keepAliveSec: 60 })).toEqual({ type: CONNACK, returnCode: 0, sessionPresent: false });
    await roundTrip(c, 'xs/node/plain');
    expect(await c.disconnect()).toBe('closed by peer');
  });

  it('close() before the link is up: one onClose("closed"), never onOpen', async () => {
    const c = new Conn(plain(broker.port));
    c.close();
    expect(await c.closed()).toBe('closed');
    await sleep(50);
    expect(c.opens).toBe(0);
  });

  it('close() on an open link: onClose("closed") later, never inside close()', async () => {
    const c = new Conn(plain(broker.port));
    await c.connect({ clientId: uid('close') });
    c.close();
    expect(c.closes).toBe(0);
    expect(await c.closed()).toBe('closed');
  });

  it('a broker that disappears: one onClose', async () => {
    // A second broker, killed under an open link.
    const b = await startMosquitto();
    try {
      const c = new Conn(plain(b.port));
      await c.connect({ clientId: uid('killed') });
      await b.kill();
      expect(await c.closed()).toMatch(/closed by peer|ECONNRESET/);
    } finally {
      await b.stop();
    }
  });

  it('through the proxy: works; after blackhole() a PINGREQ gets no answer and the link stays open', async () => {
    const c = new Conn(plain(proxy.port));
    expect(await c.connect({ clientId: uid('proxy'), keepAliveSec: 60 })).toMatchObject({ returnCode: 0 });
    expect(c.send(writePingreq)).toBe(true);
    await c.take(PINGRESP);
    proxy.blackhole();
    try {
      expect(c.send(writePingreq)).toBe(true);
      // The half-open link: no PINGRESP, no error, no close. Only the client's keepalive can tell.
      await expect(c.take(PINGRESP, undefined, 1000)).rejects.toThrow(/timed out/);
      expect(c.closes).toBe(0);
      expect(c.send(writePingreq)).toBe(true); // still writable
    } finally {
      proxy.resume();
    }
    proxy.cutAll();
    expect(await c.closed()).toMatch(/closed by peer|ECONNRESET/);
  });
});

describe('Mosquitto, password auth', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startMosquitto({
      auth: { users: { alice: 's3cret', bob: 'hunter2' }, acl: 'user alice\ntopic readwrite xs/#\n' },
    });
  });
  afterAll(async () => broker?.stop());

  it('wrong password → CONNACK 5, then the broker closes', async () => {
    const c = new Conn(plain(broker.port));
    expect(await c.connect({ clientId: uid('auth'), username: 'alice', password: 'wrong' })).toEqual({
      type: CONNACK,
      returnCode: 5,
      sessionPresent: false,
    });
    expect(await c.closed()).toBe('closed by peer');
  });

  it('anonymous → CONNACK 5', async () => {
    const c = new Conn(plain(broker.port));
    expect(await c.connect({ clientId: uid('anon') })).toMatchObject({ returnCode: 5 });
    await c.closed();
  });

  it('right password → CONNACK 0; a publish the ACL denies still gets its PUBACK', async () => {
    const c = new Conn(plain(broker.port));
    expect(await c.connect({ clientId: uid('auth'), username: 'alice', password: 's3cret' })).toMatchObject({ returnCode: 0 });
    await roundTrip(c, 'xs/auth');
    c.publish(7, 'denied/topic', 'x', 1);
    expect(await c.take(PUBACK)).toEqual({ type: PUBACK, packetId: 7 });
    // Bob has a password but no ACL line: he gets in, and may not read anything.
    const b = new Conn(plain(broker.port));
    expect(await b.connect({ clientId: uid('bob'), username: 'bob', password: 'hunter2' })).toMatchObject({ returnCode: 0 });
    await c.disconnect();
    await b.disconnect();
  });
});

describe('Mosquitto, persistence across SIGKILL', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startMosquitto({ persistence: true });
  });
  afterAll(async () => broker?.stop());

  it('a queued QoS 1 message for a persistent session survives kill -9 and restart', () => withLog(broker, async () => {
    const subId = uid('pers-sub');
    const pubId = uid('pers-pub');
    const topic = 'xs/persist';
    const sub = new Conn(plain(broker.port));
    expect(await sub.connect({ clientId: subId, clean: false })).toMatchObject({ returnCode: 0, sessionPresent: false });
    expect(await sub.subscribe(1, topic, 1)).toMatchObject({ codes: [1] });
    await sub.disconnect();

    const pub = new Conn(plain(broker.port));
    await pub.connect({ clientId: pubId });
    pub.publish(1, topic, 'kept through kill -9', 1);
    await pub.take(PUBACK);
    // Autosave runs in the broker's loop after a change: wait until the save that follows the
    // publish is complete (events in its log), not a fixed time.
    await broker.saved(await broker.waitForLog(new RegExp(`Received PUBLISH from ${pubId} `)));

    await broker.kill(); // SIGKILL, with the publisher's link still open
    expect(await pub.closed()).toMatch(/closed by peer|ECONNRESET/);
    await broker.restart();

    const again = new Conn(plain(broker.port));
    expect(await again.connect({ clientId: subId, clean: false })).toEqual({ type: CONNACK, returnCode: 0, sessionPresent: true });
    const m = await again.take(PUBLISH);
    expect(m).toMatchObject({ qos: 1, topic, payload: 'kept through kill -9' });
    expect(again.send((b, p) => writeAck(b, p, PUBACK, m.packetId!))).toBe(true);
    await again.disconnect();
  }));
});

describe('Mosquitto, TLS', () => {
  let broker: Broker;
  let mutual: Broker;
  let proxy: Proxy;
  beforeAll(async () => {
    [broker, mutual] = await Promise.all([startMosquitto({ tls: true }), startMosquitto({ tls: { requireCertificate: true } })]);
    proxy = await startProxy(broker.tlsPort!);
  });
  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([broker?.stop(), mutual?.stop()]);
  });

  it('CA-signed server certificate, servername localhost → CONNACK 0 and a round trip', async () => {
    const c = new Conn({ host: LOCAL, port: broker.tlsPort!, tls: { ca: broker.caPem, servername: 'localhost' } });
    expect(await c.connect({ clientId: uid('tls') })).toMatchObject({ returnCode: 0 });
    await roundTrip(c, 'xs/tls');
    await c.disconnect();
  });

  it('by IP address (no SNI, checked against the IP SAN), CA as bytes → CONNACK 0', async () => {
    const c = new Conn({ host: LOCAL, port: broker.tlsPort!, tls: { ca: new TextEncoder().encode(broker.caPem) } });
    expect(await c.connect({ clientId: uid('tls-ip') })).toMatchObject({ returnCode: 0 });
  });

  it('CAs as an array (node:tls, MQTT.js), strings and bytes, another CA beside the right one → CONNACK 0', async () => {
    const c = new Conn({ host: LOCAL, port: broker.tlsPort!, tls: { ca: [broker.otherCaPem, new TextEncoder().encode(broker.caPem)], servername: 'localhost' } as unknown as Target['tls'] });
    expect(await c.connect({ clientId: uid('tls-ca-array') })).toMatchObject({ returnCode: 0 });
    await c.disconnect();
    const only = new Conn({ host: LOCAL, port: broker.tlsPort!, tls: { ca: [broker.otherCaPem], servername: 'localhost' } as unknown as Target['tls'] });
    expect(await only.closed()).toMatch(/certificate|verify/i); // each entry is a CA, not a pass
  });

  it('a client trusting only another CA: onClose with a certificate error, nothing in clear', async () => {
    const before = proxy.captured().up.length;
    const c = new Conn({ host: LOCAL, port: proxy.port, tls: { ca: broker.otherCaPem, servername: 'localhost' } });
    // Written before the handshake: Node must hold it for the TLS session, never send it plain.
    expect(c.send((b, p) => writeConnect(b, p, { clientId: uid('tls-bad-ca') }))).toBe(true);
    expect(await c.closed()).toMatch(/certificate|verify/i);
    expect(c.opens).toBe(0);
    expect(c.bytesIn).toBe(0);
    const up = proxy.captured().up.subarray(before);
    expect(up[0]).toBe(0x16); // a TLS handshake record, the ClientHello
    expect(up.includes(Buffer.from('MQTT'))).toBe(false);
    expect(up.includes(Buffer.from('tls-bad-ca'))).toBe(false);
  });

  it('a server name the certificate does not cover: onClose, no CONNACK', async () => {
    const c = new Conn({ host: LOCAL, port: broker.tlsPort!, tls: { ca: broker.caPem, servername: 'mqtt.example.com' } });
    expect(await c.closed()).toMatch(/altnames|hostname/i);
    expect(c.opens).toBe(0);
  });

  it('plain MQTT to the TLS port gets nowhere', async () => {
    const c = new Conn(plain(broker.tlsPort!));
    await c.opened();
    c.send((b, p) => writeConnect(b, p, { clientId: uid('plain-to-tls') }));
    await c.closed();
    expect(c.packets.filter((p) => p.type === CONNACK)).toEqual([]);
  });

  it('mutual TLS with a client certificate from the CA → CONNACK 0', async () => {
    const c = new Conn({
      host: LOCAL,
      port: mutual.tlsPort!,
      tls: { ca: mutual.caPem, cert: mutual.clientCertPem, key: mutual.clientKeyPem, servername: 'localhost' },
    });
    expect(await c.connect({ clientId: uid('mtls') })).toMatchObject({ returnCode: 0 });
    await roundTrip(c, 'xs/mtls');
    await c.disconnect();
  });

  it('mutual TLS without a client certificate: closed, no CONNACK', async () => {
    const c = new Conn({ host: LOCAL, port: mutual.tlsPort!, tls: { ca: mutual.caPem, servername: 'localhost' } });
    // With TLS 1.3 the client's handshake may complete before the server refuses: onOpen, then an alert.
    const opened = c.opened().then(
      () => c.send((b, p) => writeConnect(b, p, { clientId: uid('mtls-none') })),
      () => false,
    );
    const reason = await c.closed();
    await opened;
    expect(reason).toMatch(/certificate|alert|closed by peer|ECONNRESET/i);
    expect(c.packets.filter((p) => p.type === CONNACK)).toEqual([]);
  });

  it('mutual TLS with a client certificate from another CA: closed, no CONNACK', async () => {
    const c = new Conn({
      host: LOCAL,
      port: mutual.tlsPort!,
      tls: { ca: mutual.caPem, cert: mutual.otherClientCertPem, key: mutual.otherClientKeyPem, servername: 'localhost' },
    });
    const opened = c.opened().then(
      () => c.send((b, p) => writeConnect(b, p, { clientId: uid('mtls-other') })),
      () => false,
    );
    const reason = await c.closed();
    await opened;
    expect(reason).toMatch(/unknown ca|certificate|alert|closed by peer|ECONNRESET/i);
    expect(c.packets.filter((p) => p.type === CONNACK)).toEqual([]);
  });
});

describe('Aedes', () => {
  let aedes: AedesBroker;
  beforeAll(async () => {
    aedes = await startAedes();
  });
  afterAll(async () => aedes?.stop());

  it('CONNECT → CONNACK 0; QoS 1 subscribe and publish round trip', async () => {
    const c = new Conn(plain(aedes.port));
    expect(await c.connect({ clientId: uid('aedes'), keepAliveSec: 30 })).toEqual({ type: CONNACK, returnCode: 0, sessionPresent: false });
    await roundTrip(c, 'xs/aedes');
    expect(await c.disconnect()).toBe('closed by peer');
  });
});
