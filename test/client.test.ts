// The client on the simulator host: a virtual clock, an in-memory network with faults, and a scripted
// broker. Reconnect with backoff and jitter, final refusals, resubscription, offline queueing,
// keepalive on a black-holed link, handlers outside the socket callback, 0 QoS 1 messages lost.
import { describe, expect, it } from 'vitest';
import * as C from '../src/index.js';
import type { ClientOptions, Message } from '../src/index.js';
import { SimHost, SimNetwork, VirtualClock } from '../hosts/sim/index.js';
import { ScriptedBroker } from '../hosts/sim/broker.js';
import { toHex } from './helpers.js';

const enc = new TextEncoder();

function setup(opts: Partial<ClientOptions> = {}, startMs = 5000) {
  const clock = new VirtualClock(startMs);
  const network = new SimNetwork(clock);
  const host = new SimHost(clock, network, 42);
  const broker = new ScriptedBroker(network);
  const events: Array<[string, ...unknown[]]> = [];
  const client = new C.Client(
    host,
    { host: 'broker', port: 1883, clientId: 'dev1', keepAliveSec: 10, ...opts },
    {
      onConnect: (p, k) => events.push(['connect', p, k]),
      onDisconnect: (s, retry) => events.push(['disconnect', C.statusName(s), retry]),
      onPublished: (id) => events.push(['published', id]),
      onSubscribed: (f, granted) => events.push(['subscribed', f, granted]),
      onUnsubscribed: (f) => events.push(['unsubscribed', f]),
    },
  );
  return { clock, network, host, broker, client, events };
}

/** The link's onClose right after the onData that brought the next bytes, in one socket turn (lwIP: onReadable, then onError), once `closeAfterData` is set. */
function closingAfterData(network: SimNetwork): { closeAfterData: boolean } {
  const st = { closeAfterData: false };
  const open = network.open.bind(network);
  network.open = (target, ev) =>
    // The events' methods stay the link's (LinkEvents is called as an object's methods): wrapped, not spread.
    open(target, Object.assign(Object.create(ev) as C.LinkEvents, {
      onData: (b: Uint8Array, o: number, l: number) => {
        const taken = ev.onData(b, o, l);
        if (st.closeAfterData) {
          st.closeAfterData = false;
          ev.onClose('closed by peer');
        }
        return taken;
      },
    }));
  return st;
}

describe('client on the simulator', () => {
  it('connects, subscribes, dispatches by wildcard on bytes; handlers run outside the socket callback and may publish', () => {
    const { clock, broker, client, network } = setup();
    let inSocketCallback = false;
    // Mark when the link's onData (the socket callback) is on the stack.
    const open = network.open.bind(network);
    network.open = (target, ev) =>
      // The events' methods stay the link's (LinkEvents is called as an object's methods): wrapped, not spread.
      open(target, Object.assign(Object.create(ev) as C.LinkEvents, {
        onData: (b: Uint8Array, o: number, l: number) => {
          inSocketCallback = true;
          try {
            return ev.onData(b, o, l);
          } finally {
            inSocketCallback = false;
          }
        },
      }));
    const got: string[] = [];
    client.subscribe('devices/+/cmd/#', 1, (m: Message) => {
      expect(inSocketCallback).toBe(false);
      const before = m.text;
      // Publishing from the handler is safe: it does not disturb the message being handled.
      expect(client.publish('devices/dev1/ack', 'ok ' + before, 1)).toBeGreaterThan(0);
      expect(m.text).toBe(before);
      got.push(m.topic + ' ' + m.text + ' q' + m.qos);
    });
    client.subscribe('other/#', 0, () => got.push('wrong'));
    client.start();
    clock.advance(10);
    expect(client.online).toBe(true);
    expect(broker.of(C.SUBSCRIBE).map((p) => p.filters)).toEqual([['devices/+/cmd/#'], ['other/#']]);
    broker.publish('devices/dev1/cmd/interval', 'set 5', 1, 3);
    broker.publish('devices/dev2/status', 'no match', 0);
    clock.advance(10);
    expect(got).toEqual(['devices/dev1/cmd/interval set 5 q1']);
    expect(broker.of(C.PUBACK).map((p) => p.id)).toEqual([3]);
    expect(broker.of(C.PUBLISH).map((p) => [p.topic, p.text])).toEqual([['devices/dev1/ack', 'ok set 5']]);
  });

  it('string topics: the last 4 are sent from their cached bytes; a fifth evicts the oldest, and every message goes to its own topic', () => {
    const { clock, broker, client } = setup();
    client.start();
    clock.advance(10);
    const topics = ['t/a', 't/b', 't/c', 't/d', 't/e', 't/ü'];
    const sent: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const t of topics) {
        expect(client.publish(t, t + round, 0)).toBe(0);
        sent.push(t + ' ' + t + round);
      }
      for (const t of ['t/a', 't/a', 't/e']) {
        expect(client.publish(t, 'again', 0)).toBe(0);
        sent.push(t + ' again');
      }
    }
    clock.advance(10);
    expect(broker.of(C.PUBLISH).map((p) => p.topic + ' ' + p.text)).toEqual(sent);
    expect(() => client.publish('t/+', 'x')).toThrow(TypeError); // a bad topic still throws, cached or not
  });

  it('missing or bad options are a TypeError at once, naming the option (not a crash inside, not endless retries)', () => {
    const clock = new VirtualClock();
    const host = new SimHost(clock, new SimNetwork(clock));
    const bad: Array<[unknown, RegExp]> = [
      [undefined, /^Client options must be an object$/],
      [{}, /^options\.host must be the broker's name or address$/],
      [{ host: 'b' }, /^options\.port must be an integer from 1 to 65535$/],
      [{ host: 'b', port: 70000 }, /^options\.port must be an integer from 1 to 65535$/],
      [{ host: 'b', port: 1883, clientId: 7 }, /^clientId must be a string$/],
      [{ host: 'b', port: 1883, clean: false }, /^a persistent session needs a client id$/],
    ];
    for (const [o, re] of bad) expect(() => new C.Client(host, o as ClientOptions), JSON.stringify(o)).toThrow(re);
    // A CONNECT that can never fit the transmit buffer (here a 300-byte will) would fail every attempt.
    const big = { host: 'b', port: 1883, clientId: 'd', will: { topic: 'w', payload: 'x'.repeat(300) } };
    const size = C.sizeOfConnect(big);
    expect(() => new C.Client(host, { ...big, txBufferSize: size - 1 })).toThrow(RangeError);
    expect(() => new C.Client(host, { ...big, txBufferSize: size - 1 })).toThrow(/txBufferSize/);
    expect(() => new C.Client(host, { ...big, txBufferSize: size })).not.toThrow();
    // No client id with a clean session is MQTT 3.1.1's "the broker assigns one" [MQTT-3.1.3-6].
    expect(() => new C.Client(host, { host: 'b', port: 1883 })).not.toThrow();
  });

  it('the zero-allocation message view: raw bytes and offsets, strings only when asked', () => {
    const { clock, broker, client } = setup();
    let raw = '';
    client.subscribe('t/#', 0, (m) => {
      raw = toHex(m.topicData, m.topicOffset, m.topicOffset + m.topicLength) + '|' + toHex(m.data, m.payloadOffset, m.payloadOffset + m.payloadLength);
    });
    client.start();
    clock.advance(10);
    broker.publish('t/é', 'hi', 0);
    clock.advance(10);
    expect(raw).toBe(toHex(enc.encode('t/é')) + '|' + toHex(enc.encode('hi')));
  });

  it('offline: QoS 1 is queued and sent on connect; QoS 0 is refused, or dropped and counted', () => {
    const a = setup();
    expect(a.client.publish('t', 'queued', 1)).toBe(1);
    expect(a.client.publish('t', 'now?', 0)).toBe(C.NOT_CONNECTED);
    a.client.start();
    a.clock.advance(10);
    expect(a.broker.of(C.PUBLISH).map((p) => p.text)).toEqual(['queued']);
    expect(a.events).toContainEqual(['published', 1]);
    const b = setup({ offlineQos0: 'drop' });
    expect(b.client.publish('t', 'x', 0)).toBe(C.QOS0_DROPPED);
    expect(b.client.dropped).toBe(1);
  });

  it('QoS 0 on a full link: WOULD_BLOCK, then onWritable says when to try again, and the retry goes', () => {
    const { clock, network, host, broker } = setup();
    const writable: number[] = [];
    const client = new C.Client(host, { host: 'broker', port: 1883, clientId: 'w', keepAliveSec: 10 }, { onWritable: () => writable.push(clock.nowMs()) });
    client.start();
    clock.advance(10);
    expect(client.online).toBe(true);
    network.links.at(-1)!.writeLimit(40).delayMs(5);
    let r = 0;
    let sent = 0;
    while ((r = client.publish('t', 'x'.repeat(10), 0)) === 0) sent++;
    expect(C.statusName(r)).toBe('WOULD_BLOCK');
    expect(sent).toBeGreaterThan(0);
    expect(writable).toEqual([]);
    clock.advance(10);
    expect(writable.length).toBe(1);
    expect(client.publish('t', 'again', 0)).toBe(0);
    clock.advance(10);
    expect(broker.of(C.PUBLISH).map((p) => p.text).slice(-1)).toEqual(['again']);
    expect(broker.of(C.PUBLISH).length).toBe(sent + 1);
  });

  it('back-pressure (issue 11 item 3): 40 QoS 1 messages while the link takes one PUBACK at a time: no close, all delivered once, acked in order', () => {
    const { clock, network, broker, client, events } = setup();
    const got: string[] = [];
    client.subscribe('c/#', 1, (m) => got.push(m.text));
    client.start();
    clock.advance(10);
    network.links.at(-1)!.writeLimit(4).delayMs(5); // one 4-byte PUBACK in flight at a time
    for (let i = 1; i <= 40; i++) broker.publish('c/' + i, 'm' + i, 1, i);
    clock.advance(1000);
    expect(events.filter((e) => e[0] === 'disconnect')).toEqual([]);
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => 'm' + (i + 1)));
    expect(broker.of(C.PUBACK).map((p) => (p.body[0] << 8) | p.body[1])).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('back-pressure: a link still full at the keepalive deadline is no error; the PINGREQ goes when it drains, and the connection stays', () => {
    const { clock, network, broker, client, events } = setup();
    client.start();
    clock.advance(10);
    expect(client.online).toBe(true);
    clock.advance(9500);
    network.links.at(-1)!.writeLimit(10).delayMs(1000);
    expect(client.publish('t', 'x'.repeat(10), 0)).toBe(0); // 14 bytes in flight for 1 s: the link is full
    clock.advance(600); // the keepalive deadline (10 s of broker silence) passes while it is full
    expect(broker.of(C.PINGREQ)).toEqual([]);
    clock.advance(3000);
    expect(broker.of(C.PINGREQ).length).toBe(1);
    expect(events.filter((e) => e[0] === 'disconnect')).toEqual([]);
    expect(client.online).toBe(true);
  });

  it('a handler that throws loses nothing: the other handlers and messages run, every QoS 1 is acked, the error is reported', () => {
    const { clock, host, broker } = setup();
    const errors: string[] = [];
    const got: string[] = [];
    const client = new C.Client(host, { host: 'broker', port: 1883, clientId: 'h', keepAliveSec: 10 }, { onHandlerError: (e, f) => errors.push(`${f}: ${(e as Error).message}`) });
    client.subscribe('c/#', 1, (m) => {
      if (m.text === 'bad') throw new Error('boom');
    });
    client.subscribe('c/+', 1, (m) => got.push(m.text));
    client.start();
    clock.advance(10);
    broker.publish('c/1', 'bad', 1, 11);
    broker.publish('c/2', 'good', 1, 12);
    clock.advance(10);
    expect(got).toEqual(['bad', 'good']);
    expect(errors).toEqual(['c/#: boom']);
    expect(broker.of(C.PUBACK).map((p) => p.id)).toEqual([11, 12]);
    expect(client.online).toBe(true);
  });

  it('a handler that throws, with no onHandlerError: thrown again later from a deferred task, after the chunk is handled', () => {
    const { clock, host, broker } = setup();
    const client = new C.Client(host, { host: 'broker', port: 1883, clientId: 'h2', keepAliveSec: 10 }, {});
    const got: string[] = [];
    client.subscribe('c/#', 1, (m) => {
      got.push(m.text);
      if (m.text === 'bad') throw new Error('boom');
    });
    client.start();
    clock.advance(10);
    broker.publish('c/1', 'bad', 1, 21);
    broker.publish('c/2', 'good', 1, 22);
    expect(() => clock.advance(10)).toThrow('boom');
    clock.advance(10);
    expect(got).toEqual(['bad', 'good']);
    expect(broker.of(C.PUBACK).map((p) => p.id)).toEqual([21, 22]);
  });

  it('an event callback that throws loses nothing either: the bytes after it are handled, CONNACK\'s resends go, every filter is reported, the error goes to onHandlerError', () => {
    const { clock, host, broker } = setup();
    const errors: string[] = [];
    const seen: string[] = [];
    const got: string[] = [];
    const boom = (what: string) => {
      seen.push(what);
      throw new Error(what);
    };
    const client = new C.Client(host, { host: 'broker', port: 1883, clientId: 'ev', keepAliveSec: 10 }, {
      onConnect: () => boom('connect'),
      onPublished: (id) => boom('published ' + id),
      onSubscribed: (f) => boom('subscribed ' + f),
      onMessage: (m) => got.push(m.topic + ' ' + m.text),
      onHandlerError: (e, f) => errors.push(`${f}: ${(e as Error).message}`),
    });
    expect(client.publish('t', 'offline', 1)).toBe(1); // queued: goes after the CONNACK, whatever onConnect does
    client.subscribe(['s/1', 's/2'], 1, (m) => got.push('handler ' + m.text));
    client.start();
    clock.advance(10);
    expect(broker.of(C.PUBLISH).map((p) => p.text)).toEqual(['offline']);
    expect(seen).toEqual(['connect', 'subscribed s/1', 'subscribed s/2', 'published 1']); // SUBSCRIBE goes before the resend
    broker.ackPublishes = false;
    expect(client.publish('t', 'two', 1)).toBe(3); // (2: the SUBSCRIBE's)
    expect(client.publish('t', 'three', 1)).toBe(4);
    clock.advance(10);
    // A PUBACK and a QoS 1 PUBLISH in one chunk; then a PUBACK and the first 4 bytes of a PUBLISH.
    const pub = (id: number, text: string) => {
      const b = new Uint8Array(64);
      return Array.from(b.subarray(0, C.writePublish(b, 0, 'b', text, 1, false, false, id)));
    };
    broker.send([0x40, 2, 0, 3, ...pub(9, 'whole')]);
    clock.advance(10);
    broker.send([0x40, 2, 0, 4, ...pub(10, 'split').slice(0, 4)]);
    clock.advance(10);
    broker.send(pub(10, 'split').slice(4));
    clock.advance(10);
    expect(got).toEqual(['b whole', 'b split']);
    expect(broker.of(C.PUBACK).map((p) => p.id)).toEqual([9, 10]);
    expect(errors).toEqual([': connect', ': subscribed s/1', ': subscribed s/2', ': published 1', ': published 3', ': published 4']);
    expect(client.online).toBe(true);
    expect(client.session.queued).toBe(0);
  });

  it('an event callback that throws, with no onHandlerError (or one that throws too): thrown again from a deferred task, nothing lost; onEnd still comes', () => {
    const { clock, host, broker } = setup();
    const got: string[] = [];
    const seen: string[] = [];
    let handlerError = false;
    const client = new C.Client(host, { host: 'broker', port: 1883, clientId: 'ev2', keepAliveSec: 10 }, {
      onPublished: (id) => {
        throw new Error('published ' + id);
      },
      onDisconnect: (s) => {
        seen.push('disconnect ' + C.statusName(s));
        throw new Error('disconnect');
      },
      onEnd: (left) => seen.push('end ' + left),
      onMessage: (m) => got.push(m.text),
      onHandlerError: (e) => {
        if (handlerError) throw e;
      },
    });
    client.start();
    clock.advance(10);
    broker.ackPublishes = false;
    client.publish('t', 'one', 1);
    clock.advance(10);
    handlerError = true;
    broker.send([0x40, 2, 0, 1]);
    broker.publish('b', 'after', 1, 7);
    expect(() => clock.advance(10)).toThrow('published 1');
    clock.advance(10);
    expect(got).toEqual(['after']);
    expect(broker.of(C.PUBACK).map((p) => p.id)).toEqual([7]);
    // end() with nothing outstanding: stop(), whose onDisconnect throws, then onEnd all the same.
    client.end(1000);
    expect(seen).toEqual(['disconnect STOPPED', 'end 0']);
    expect(() => clock.advance(10)).toThrow('disconnect');
  });

  it('a QoS 2 message completed by a CONNACK without the session is reported after onConnect; an end() it finishes stops after it', () => {
    const { clock, host, broker } = setup();
    const seen: string[] = [];
    const client = new C.Client(host, { host: 'broker', port: 1883, clientId: 'q2', clean: false, keepAliveSec: 10 }, {
      onConnect: (p, k) => seen.push(`connect ${p} ${k} online ${client.online}`),
      onDisconnect: (s, r) => seen.push(`disconnect ${C.statusName(s)} ${r}`),
      onPublished: (id) => seen.push(`published ${id}`),
      onEnd: (left) => seen.push(`end ${left}`),
    });
    client.start();
    clock.advance(10);
    broker.ackPublishes = false;
    expect(client.publish('a', 'q2', 2)).toBe(1);
    clock.advance(10);
    broker.send([0x50, 2, 0, 1]); // PUBREC: the client sends PUBREL, and the link goes before PUBCOMP
    clock.advance(10);
    broker.peer.close();
    clock.advance(10);
    client.end(60_000);
    clock.advance(70_000);
    expect(seen.slice(1)).toEqual([
      expect.stringMatching(/^disconnect CONNECTION_LOST \d+$/),
      'connect false false online true',
      'published 1',
      'disconnect STOPPED -1',
      'end 0',
    ]);
    expect(broker.of(C.PUBREL).length).toBe(1); // none on the connection that lost the session
  });

  it('stop() from a handler: no handler runs after it, for this message or the rest of the chunk; DISCONNECT goes', () => {
    const { clock, broker, client, events } = setup();
    const got: string[] = [];
    client.subscribe('a/#', 1, (m) => {
      got.push('h1 ' + m.text);
      if (m.text === 'stop') client.stop();
    });
    client.subscribe('a/+', 1, (m) => got.push('h2 ' + m.text));
    client.start();
    clock.advance(10);
    broker.publish('a/b', 'one', 1, 1);
    broker.publish('a/b', 'stop', 1, 2);
    broker.publish('a/b', 'three', 1, 3);
    clock.advance(10);
    expect(got).toEqual(['h1 one', 'h2 one', 'h1 stop']);
    expect(broker.of(C.DISCONNECT).length).toBe(1);
    expect(client.online).toBe(false);
    clock.advance(600_000);
    expect(broker.of(C.CONNECT).length).toBe(1); // stopped: no reconnect
    expect(events.filter((e) => e[0] === 'disconnect')).toEqual([['disconnect', 'STOPPED', -1]]); // reported once
  });

  it('fault 7: CONNACK 5 (and 1, 2, 4) stops the client with a clear status; no retry', () => {
    for (const rc of [1, 2, 4, 5]) {
      const { clock, broker, client, events } = setup();
      broker.connack = () => [0, rc];
      client.start();
      clock.advance(600_000);
      expect(broker.of(C.CONNECT).length).toBe(1);
      expect(events).toEqual([['disconnect', C.statusName(-40 - rc), -1]]);
      expect(client.publish('t', 'x', 1)).toBe(C.STOPPED);
    }
  });

  it('fault 7: CONNACK 3 (server unavailable) backs off and retries', () => {
    const { clock, broker, client, events } = setup();
    let n = 0;
    broker.connack = () => [0, n++ < 2 ? 3 : 0];
    client.start();
    clock.advance(120_000);
    expect(broker.of(C.CONNECT).length).toBe(3);
    expect(client.online).toBe(true);
    expect(events.filter((e) => e[0] === 'disconnect').map((e) => e[1])).toEqual(['REFUSED_SERVER_UNAVAILABLE', 'REFUSED_SERVER_UNAVAILABLE']);
  });

  it('reconnects with exponential backoff and full jitter, capped', () => {
    const { clock, network, client, events } = setup({ reconnectMinMs: 1000, reconnectMaxMs: 16000 });
    network.refuse('broker', 1883, true);
    client.start();
    clock.advance(600_000);
    const delays = events.filter((e) => e[0] === 'disconnect').map((e) => e[2] as number);
    expect(delays.length).toBeGreaterThan(20);
    delays.forEach((d, i) => {
      const bound = Math.min(16000, 1000 * 2 ** i);
      expect(d).toBeGreaterThanOrEqual(250);
      expect(d).toBeLessThan(Math.max(bound, 251));
    });
    // Jitter: the capped delays are not all the same.
    expect(new Set(delays.slice(5)).size).toBeGreaterThan(5);
    network.refuse('broker', 1883, false);
    clock.advance(20_000);
    expect(client.online).toBe(true);
  });

  it('fault 14: a connection dropped right after CONNACK (a client-id takeover loop) keeps backing off', () => {
    const { clock, broker, client, events } = setup({ reconnectMinMs: 1000, reconnectMaxMs: 64000 });
    broker.closeAfterConnack = true;
    client.start();
    clock.advance(300_000);
    const delays = events.filter((e) => e[0] === 'disconnect').map((e) => e[2] as number);
    // Had each CONNACK reset the backoff, every delay would stay under 1 s.
    expect(Math.max(...delays)).toBeGreaterThan(4000);
    expect(broker.of(C.CONNECT).length).toBeLessThan(40);
  });

  it('resubscribes when the broker lost the session, not when it kept it (fault 4)', () => {
    const { clock, broker, client, events } = setup({ clean: false });
    let present = 0;
    broker.connack = () => [present, 0];
    client.subscribe('a/#', 1, () => {});
    client.start();
    clock.advance(10);
    expect(broker.of(C.SUBSCRIBE).length).toBe(1);
    present = 1;
    broker.peer.close();
    clock.advance(70_000);
    expect(client.online).toBe(true);
    expect(broker.of(C.SUBSCRIBE).length).toBe(1); // kept: no new SUBSCRIBE
    present = 0;
    broker.peer.close();
    clock.advance(70_000);
    expect(broker.of(C.SUBSCRIBE).length).toBe(2); // lost: subscribed again
    expect(events.filter((e) => e[0] === 'connect')).toEqual([
      ['connect', false, true],
      ['connect', true, true],
      ['connect', false, false],
    ]);
  });

  it('messages that arrive in the same socket turn as the peer\'s close are still dispatched (lwIP: onReadable, then onError)', () => {
    const { clock, broker, host, network } = setup();
    const peer = closingAfterData(network);
    const got: string[] = [];
    const seen: string[] = [];
    const client = new C.Client(host, { host: 'broker', port: 1883, clientId: 'last', keepAliveSec: 10 }, { onDisconnect: (s, _r, why) => seen.push(C.statusName(s) + ' ' + why) });
    client.subscribe('a/#', 0, (m) => got.push(m.text));
    client.start();
    clock.advance(10);
    peer.closeAfterData = true;
    broker.publish('a/b', 'last words', 0);
    clock.advance(10);
    expect(got).toEqual(['last words']);
    expect(seen).toEqual(['CONNECTION_LOST closed by peer']);
  });

  it('stop() from the handler of a message that came with the peer\'s close (its drop still deferred) takes the session offline: the QoS 1 message in flight goes again after start(), and a SUBSCRIBE open then is no record left behind', () => {
    const { clock, broker, client, network } = setup();
    const peer = closingAfterData(network);
    client.subscribe('cmd', 1, (m) => {
      if (m.text === 'stop') client.stop();
    });
    client.start();
    clock.advance(10);
    broker.ackPublishes = false;
    client.publish('t', 'precious', 1);
    broker.ackSubscribes = false;
    client.subscribe('quiet', 0, () => {});
    clock.advance(10);
    peer.closeAfterData = true;
    broker.publish('cmd', 'stop', 0);
    clock.advance(10);
    expect([client.online, client.session.state]).toEqual([false, 0]);
    const open = (): number => Array.from((client.session as unknown as { _ob: { _st: Uint8Array } })._ob._st).filter((st) => st >= 5).length;
    expect(open()).toBe(0); // the SUBSCRIBE's record: freed with the connection
    broker.ackPublishes = true;
    broker.ackSubscribes = true;
    client.start();
    clock.advance(100);
    // Again (without DUP: this broker keeps no session, so it is new to it); it was never sent again.
    expect(broker.of(C.PUBLISH).map((p) => [p.text, p.id])).toEqual([['precious', 2], ['precious', 2]]);
    expect(client.session.queued).toBe(0);
    expect(broker.of(C.SUBSCRIBE).filter((p) => p.filters![0] === 'quiet').length).toBe(2); // sent again, answered
    expect(open()).toBe(0);
  });

  it('stop() then start() in a handler ends that dispatch: no later handler sees the message (a new connection is coming)', () => {
    const { clock, broker, client } = setup();
    const got: string[] = [];
    client.subscribe('a/#', 0, (m) => {
      got.push('h1 ' + m.text);
      if (m.text === 'restart') {
        client.stop();
        client.start();
      }
    });
    client.subscribe('a/+', 0, (m) => got.push('h2 ' + m.text));
    client.start();
    clock.advance(10);
    broker.publish('a/b', 'restart', 0);
    clock.advance(10);
    expect(got).toEqual(['h1 restart']);
  });

  it('an end() waiting only for an unsubscription finishes at a CONNACK without the session, and onConnect does not follow its onDisconnect(STOPPED) and onEnd', () => {
    const clock = new VirtualClock(5000);
    const network = new SimNetwork(clock);
    const host = new SimHost(clock, network, 42);
    const broker = new ScriptedBroker(network);
    const seen: unknown[][] = [];
    const client = new C.Client(
      host,
      { host: 'broker', port: 1883, clientId: 'dev1', keepAliveSec: 10, clean: false },
      { onConnect: (p) => seen.push(['connect', p]), onDisconnect: (s, r) => seen.push(['disconnect', C.statusName(s), r]), onEnd: (left) => seen.push(['end', left]) },
    );
    client.subscribe('a', 0, () => {});
    client.start();
    clock.advance(10);
    broker.peer!.close();
    clock.advance(1);
    client.unsubscribe('a');
    client.end(60_000);
    clock.advance(70_000);
    expect(seen.slice(1)).toEqual([['disconnect', 'CONNECTION_LOST', expect.any(Number)], ['disconnect', 'STOPPED', -1], ['end', 0]]);
  });

  it('end() on a client never started reports at once (onEnd with what the outbox holds) and connects to nothing', () => {
    const clock = new VirtualClock(5000);
    const network = new SimNetwork(clock);
    const broker = new ScriptedBroker(network);
    const ends: number[] = [];
    const client = new C.Client(new SimHost(clock, network, 42), { host: 'broker', port: 1883, clientId: 'idle', keepAliveSec: 10 }, { onEnd: (left) => ends.push(left) });
    expect(client.publish('t', 'kept', 1)).toBeGreaterThan(0);
    client.end(60_000);
    expect(ends).toEqual([1]);
    clock.advance(70_000);
    expect([ends, broker.log.length, client.session.queued]).toEqual([[1], 0, 1]);
  });

  it('reconnectMinMs and rxQueueBytes that are not positive are the defaults: 0 made a reconnect loop with no delay, and a queue that never took a CONNACK', () => {
    const { clock, broker, client, events } = setup({ reconnectMinMs: 0, rxQueueBytes: 0 });
    client.start();
    clock.advance(10);
    expect(client.online).toBe(true);
    broker.peer!.close();
    clock.advance(1);
    const retry = events.find((e) => e[0] === 'disconnect')![2] as number;
    expect(retry).toBeGreaterThanOrEqual(250); // the default 1000 / 4 at least
  });

  it('onDisconnect carries the link\'s reason when the link failed (refused, reset), and none when the protocol ended it', () => {
    const { clock, broker, host, network } = setup();
    const seen: Array<[string, string]> = [];
    const client = new C.Client(host, { host: 'broker', port: 1883, clientId: 'r', keepAliveSec: 10 }, { onDisconnect: (s, _retry, reason) => seen.push([C.statusName(s), reason]) });
    network.refuse('broker', 1883);
    client.start();
    clock.advance(10);
    expect(seen).toEqual([['CONNECTION_LOST', 'refused']]);
    network.refuse('broker', 1883, false);
    clock.advance(5_000);
    expect(client.online).toBe(true);
    network.links[network.links.length - 1].reset();
    clock.advance(10);
    expect(seen[1]).toEqual(['CONNECTION_LOST', 'reset']);
    clock.advance(60_000);
    expect(client.online).toBe(true);
    network.links[network.links.length - 1].blackhole();
    clock.advance(20_000);
    expect(seen[2]).toEqual(['KEEPALIVE_TIMEOUT', '']);
    expect(broker.of(C.CONNECT).length).toBeGreaterThanOrEqual(2);
  });

  it('fault 5: a black-holed link is found by keepalive within 1.5 × keepalive; in-flight QoS 1 is resent with DUP', () => {
    const { clock, broker, client, events, network } = setup({ clean: false, keepAliveSec: 10 });
    broker.connack = () => [broker.peers.length > 1 ? 1 : 0, 0];
    client.start();
    clock.advance(10);
    broker.ackPublishes = false;
    const t0 = clock.nowMs();
    network.links[network.links.length - 1].blackhole();
    client.publish('t', 'must arrive', 1);
    clock.advance(15_000);
    const drop = events.find((e) => e[0] === 'disconnect');
    expect(drop?.[1]).toBe('KEEPALIVE_TIMEOUT');
    expect(clock.nowMs() - t0).toBeLessThanOrEqual(15_000);
    broker.ackPublishes = true;
    clock.advance(70_000);
    const pubs = broker.of(C.PUBLISH).filter((p) => p.text === 'must arrive');
    expect(pubs.at(-1)!.flags & 8).toBe(8); // DUP on the resend
    expect(events).toContainEqual(['published', 1]);
  });

  it('more subscriptions than open exchanges allowed (8): all are sent as SUBACKs free slots', () => {
    const { clock, broker, client } = setup();
    for (let i = 0; i < 12; i++) client.subscribe('t/' + i, 1, () => {});
    client.start();
    clock.advance(1000);
    expect(broker.of(C.SUBSCRIBE).flatMap((p) => p.filters)).toEqual(Array.from({ length: 12 }, (_, i) => 't/' + i));
  });

  it('a handler that unsubscribes during dispatch does not make the next handler miss the message', () => {
    const { clock, broker, client } = setup();
    const calls: string[] = [];
    client.subscribe('a/#', 0, () => {
      calls.push('h1');
      client.unsubscribe('a/#');
    });
    client.subscribe('a/b', 0, () => calls.push('h2'));
    client.start();
    clock.advance(100);
    broker.publish('a/b', 'x', 0);
    clock.advance(100);
    expect(calls).toEqual(['h1', 'h2']);
    expect(broker.of(C.UNSUBSCRIBE).flatMap((p) => p.filters)).toEqual(['a/#']);
  });

  it('an unsubscribe made offline reaches the broker after a reconnect that kept the session', () => {
    const { clock, broker, client } = setup({ clean: false });
    broker.connack = () => [broker.peers.length > 1 ? 1 : 0, 0];
    client.subscribe('s/#', 1, () => {});
    client.start();
    clock.advance(100);
    broker.peer.close();
    clock.advance(10);
    expect(client.online).toBe(false);
    client.unsubscribe('s/#');
    clock.advance(70_000);
    expect(client.online).toBe(true);
    expect(broker.of(C.UNSUBSCRIBE).flatMap((p) => p.filters)).toEqual(['s/#']);
  });

  it('an unsubscribe made offline is not owed after a reconnect where the broker lost the session: it has nothing to unsubscribe', () => {
    const { clock, broker, client } = setup({ clean: false });
    client.subscribe('s/#', 1, () => {});
    client.subscribe('t/#', 1, () => {});
    client.start();
    clock.advance(100);
    broker.peer.close();
    clock.advance(10);
    expect(client.online).toBe(false);
    client.unsubscribe('s/#');
    clock.advance(70_000); // the broker answers session present = 0: it lost everything
    expect(client.online).toBe(true);
    clock.advance(100);
    expect(broker.of(C.UNSUBSCRIBE)).toEqual([]);
    expect(broker.of(C.SUBSCRIBE).flatMap((p) => p.filters)).toEqual(['s/#', 't/#', 't/#']); // t/# again, s/# not
  });

  it('bytes that arrive with the close (a CONNACK 5 and then FIN in one turn) are handled before the drop', () => {
    // A host that delivers data and close back to back, as a socket error path may.
    const deferred: Array<() => void> = [];
    let ev: C.LinkEvents | null = null;
    const host: C.Host = {
      nowMs: () => 0,
      setTimer: () => 1,
      clearTimer: () => {},
      defer: (fn) => void deferred.push(fn),
      random: () => 0.5,
      open: (_t, e) => {
        ev = e;
        return { write: () => true, resume: () => {}, close: () => {} };
      },
    };
    const events: string[] = [];
    const client = new C.Client(host, { host: 'x', port: 1, clientId: 'c' }, { onDisconnect: (st, retry) => events.push(C.statusName(st) + ' ' + retry) });
    client.start();
    ev!.onOpen();
    ev!.onData(Uint8Array.from([0x20, 2, 0, 5]), 0, 4);
    ev!.onClose('closed by peer');
    while (deferred.length) deferred.shift()!();
    expect(events).toEqual(['REFUSED_NOT_AUTHORIZED -1']);
  });

  it('connect timeout: a link that never opens is given up after openTimeoutMs, then retried', () => {
    const { clock, network, client, events, broker } = setup({ openTimeoutMs: 3000, reconnectMinMs: 1000, reconnectMaxMs: 1000 });
    network.faults = { blackhole: true }; // the SYN vanishes: no open, no close
    client.start();
    clock.advance(2999);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events.map((e) => e[1])).toEqual(['CONNECTION_LOST']);
    network.faults = {};
    clock.advance(5000);
    expect(client.online).toBe(true);
    expect(broker.of(C.CONNECT).length).toBe(1);
  });

  it('fault 9: input dribbled one byte at a time still parses; every message delivered and acked', () => {
    const { clock, broker, client, network } = setup();
    network.faults = { dribble: true };
    const got: string[] = [];
    client.subscribe('d/#', 1, (m) => got.push(m.text));
    client.start();
    clock.advance(100);
    for (let i = 0; i < 20; i++) broker.publish('d/' + i, 'slow ' + i, 1, i + 1);
    clock.advance(1000);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => 'slow ' + i));
    expect(broker.of(C.PUBACK).map((p) => p.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('fault 15: TLS required by the broker and not given, or given to a plain broker: never online, never plain', () => {
    const clock = new VirtualClock(0);
    const network = new SimNetwork(clock);
    const host = new SimHost(clock, network, 1);
    let accepted = 0;
    network.listen('secure', 8883, () => accepted++, { tls: true });
    network.listen('plain', 1883, () => accepted++);
    const events: string[] = [];
    const a = new C.Client(host, { host: 'secure', port: 8883, clientId: 'a' }, { onDisconnect: (s) => events.push('a ' + C.statusName(s)) });
    const b = new C.Client(host, { host: 'plain', port: 1883, clientId: 'b', tls: { ca: 'x' } }, { onDisconnect: (s) => events.push('b ' + C.statusName(s)) });
    a.start();
    b.start();
    clock.advance(30_000);
    expect(accepted).toBe(0);
    expect(a.online || b.online).toBe(false);
    expect(events.filter((e) => e.startsWith('a')).length).toBeGreaterThan(2); // it keeps trying, over TLS only
    expect(network.links.every((l) => l.peer === null || l.peer.received.length === 0)).toBe(true);
  });

  it('subscribe() with several filters sends one SUBSCRIBE; onSubscribed reports each filter with its granted QoS', () => {
    const { clock, broker, client, events } = setup();
    client.subscribe(['m/a', 'm/b/#', 'm/c'], [0, 2, 1], () => {});
    client.subscribe('m/d', 1, () => {});
    client.start();
    clock.advance(10);
    expect(broker.of(C.SUBSCRIBE).map((p) => p.filters)).toEqual([['m/a', 'm/b/#', 'm/c'], ['m/d']]);
    expect(events.filter((e) => e[0] === 'subscribed')).toEqual([
      ['subscribed', 'm/a', 0],
      ['subscribed', 'm/b/#', 2],
      ['subscribed', 'm/c', 1],
      ['subscribed', 'm/d', 1],
    ]);
    // One QoS for all the filters.
    client.subscribe(['n/1', 'n/2'], 1, () => {});
    clock.advance(10);
    expect(broker.of(C.SUBSCRIBE).at(-1)!.filters).toEqual(['n/1', 'n/2']);
    expect(events.slice(-2)).toEqual([
      ['subscribed', 'n/1', 1],
      ['subscribed', 'n/2', 1],
    ]);
  });

  it('a SUBACK refusal (0x80) reaches onSubscribed for its filter only, and is not retried', () => {
    const { clock, broker, client, events } = setup();
    client.start();
    clock.advance(10);
    const sent = broker.log.length;
    client.subscribe(['r/ok', 'r/no'], 1, () => {});
    // The scripted broker grants what is asked: its own SUBACK is dropped, and this one answered by hand.
    const link = broker.peer;
    const write = link.write.bind(link);
    link.write = (b: Uint8Array) => (b[0] === 0x90 ? true : write(b));
    clock.advance(10);
    const id = broker.log.slice(sent).find((p) => p.type === C.SUBSCRIBE)!.id!;
    link.write = write;
    broker.send([0x90, 4, id >> 8, id & 255, 1, 0x80]);
    clock.advance(10);
    expect(events.filter((e) => e[0] === 'subscribed')).toEqual([
      ['subscribed', 'r/ok', 1],
      ['subscribed', 'r/no', 0x80],
    ]);
    clock.advance(60_000);
    expect(broker.of(C.SUBSCRIBE).length).toBe(1);
  });

  it('subscribing a filter again replaces its handler (delivered once, to the new one) and sends its new QoS', () => {
    const { clock, broker, client } = setup();
    const got: string[] = [];
    client.subscribe('x/#', 0, (m) => got.push('old ' + m.text));
    client.subscribe(['x/#', 'y'], 1, (m) => got.push('new ' + m.text));
    client.start();
    clock.advance(10);
    broker.publish('x/1', 'a', 1, 5);
    clock.advance(10);
    expect(got).toEqual(['new a']);
    expect(broker.of(C.SUBSCRIBE).map((p) => p.filters)).toEqual([['x/#', 'y']]); // the first never went
    client.subscribe('x/#', 0, (m) => got.push('newer ' + m.text));
    clock.advance(10);
    expect(broker.of(C.SUBSCRIBE).map((p) => p.filters)).toEqual([['x/#', 'y'], ['x/#']]);
    expect(broker.of(C.SUBSCRIBE).at(-1)!.body.at(-1)).toBe(0); // the new QoS
    broker.publish('x/2', 'b', 0);
    clock.advance(10);
    expect(got).toEqual(['new a', 'newer b']);
  });

  it('unsubscribe() with several filters: one UNSUBSCRIBE; onUnsubscribed reports each at the UNSUBACK', () => {
    const { clock, broker, client, events } = setup();
    client.subscribe(['u/a', 'u/b'], 1, () => {});
    client.start();
    clock.advance(10);
    client.unsubscribe(['u/a', 'u/b']);
    clock.advance(10);
    const un = broker.of(C.UNSUBSCRIBE);
    expect(un.map((p) => p.filters)).toEqual([['u/a', 'u/b']]);
    expect(events.filter((e) => e[0] === 'unsubscribed')).toEqual([]);
    broker.send([0xb0, 2, un[0].id! >> 8, un[0].id! & 255]); // UNSUBACK (the scripted broker sends none)
    clock.advance(10);
    expect(events.filter((e) => e[0] === 'unsubscribed')).toEqual([
      ['unsubscribed', 'u/a'],
      ['unsubscribed', 'u/b'],
    ]);
  });

  it('an unsubscribe owed when the broker lost the session is not sent (nothing to undo), and is reported done', () => {
    const { clock, broker, client, events } = setup({ clean: false });
    let present = 0;
    broker.connack = () => [present, 0];
    client.subscribe('s/#', 1, () => {});
    client.start();
    clock.advance(100);
    broker.peer.close();
    clock.advance(10);
    client.unsubscribe('s/#');
    present = 0; // the broker lost our session: the subscription is gone with it
    clock.advance(70_000);
    expect(client.online).toBe(true);
    expect(broker.of(C.UNSUBSCRIBE)).toEqual([]);
    expect(events.filter((e) => e[0] === 'unsubscribed')).toEqual([['unsubscribed', 's/#']]);
    expect(broker.of(C.SUBSCRIBE).length).toBe(1); // nor subscribed again
  });

  it('onMessage catches what no handler matched (a kept session delivering before subscribe()); handlers first, then it only when none matched', () => {
    const { clock, broker, host } = setup();
    const seen: string[] = [];
    const client = new C.Client(
      host,
      { host: 'broker', port: 1883, clientId: 'cm', keepAliveSec: 10, clean: false },
      { onMessage: (m) => seen.push(`any ${m.topic} ${m.text} q${m.qos} id${m.packetId}${m.dup ? ' dup' : ''}`) },
    );
    broker.connack = () => [1, 0];
    client.subscribe('h/#', 1, (m) => seen.push(`h ${m.topic}`));
    client.start();
    clock.advance(10);
    broker.publish('old/1', 'kept', 1, 7, true); // from the kept session: no handler for it
    broker.publish('h/1', 'handled', 1, 8);
    broker.publish('old/2', 'zero', 0);
    clock.advance(10);
    expect(seen).toEqual(['any old/1 kept q1 id7 dup', 'h h/1', 'any old/2 zero q0 id0']);
    expect(broker.of(C.PUBACK).map((p) => p.id)).toEqual([7, 8]); // acknowledged like the rest
  });

  it('Message exposes packetId and dup; text of bytes that are not UTF-8 is U+FFFD, not an exception in the handler', () => {
    const { clock, broker, client } = setup();
    const got: Array<[number, boolean, string]> = [];
    client.subscribe('b', 1, (m) => got.push([m.packetId, m.dup, m.text]));
    client.start();
    clock.advance(10);
    const buf = new Uint8Array(32);
    const n = C.writePublish(buf, 0, 'b', Uint8Array.from([0xf7, 0xbf, 0xbf, 0xbf]), 1, false, true, 300);
    broker.send(buf.slice(0, n));
    clock.advance(10);
    expect(got).toEqual([[300, true, '\ufffd'.repeat(4)]]);
  });

  it('subscribe() throws for filters whose SUBSCRIBE could never fit txBufferSize, or a bad filter or QoS, and changes nothing', () => {
    const { clock, broker, client } = setup({ txBufferSize: 64 });
    expect(() => client.subscribe(['a'.repeat(30), 'b'.repeat(30)], 0, () => {})).toThrow(RangeError);
    expect(() => client.subscribe(['ok', 'a/#/b'], 0, () => {})).toThrow(TypeError);
    expect(() => client.subscribe(['ok', 'ok2'], [0, 3], () => {})).toThrow(RangeError);
    expect(() => client.unsubscribe('a+')).toThrow(TypeError);
    expect(() => client.subscribe('ok', 0, undefined as unknown as C.Handler)).toThrow('handler must be a function');
    client.subscribe('a'.repeat(40), 0, () => {});
    client.start();
    clock.advance(10);
    expect(broker.of(C.SUBSCRIBE).map((p) => p.filters)).toEqual([['a'.repeat(40)]]);
  });

  it('stop() keeps the outbox and start() resumes it: every QoS 1 message accepted is delivered and acknowledged', () => {
    const { clock, broker, client, events } = setup();
    client.start();
    clock.advance(10);
    broker.ackPublishes = false;
    for (let i = 0; i < 5; i++) expect(client.publish('t', 'm' + i, 1)).toBeGreaterThan(0);
    clock.advance(10);
    client.stop();
    expect(client.session.queued).toBe(5);
    expect(client.publish('t', 'late', 1)).toBe(C.STOPPED);
    clock.advance(60_000);
    expect(broker.of(C.CONNECT).length).toBe(1);
    broker.ackPublishes = true;
    client.start();
    clock.advance(10);
    expect(client.online).toBe(true);
    expect(client.session.queued).toBe(0);
    expect(events.filter((e) => e[0] === 'published').length).toBe(5);
    expect(broker.of(C.PUBLISH).map((p) => p.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm0', 'm1', 'm2', 'm3', 'm4']);
    expect(events.filter((e) => e[0] === 'disconnect')).toEqual([['disconnect', 'STOPPED', -1]]);
  });

  it('end(timeoutMs): waits for the acknowledgements, then DISCONNECT and onEnd(0); or stops at the bound and reports what was left', () => {
    const { clock, broker, host, network } = setup();
    const seen: string[] = [];
    const client = new C.Client(
      host,
      { host: 'broker', port: 1883, clientId: 'e', keepAliveSec: 10 },
      { onEnd: (left) => seen.push(`end ${left} at ${clock.nowMs()}`), onDisconnect: (s, r) => seen.push(`${C.statusName(s)} ${r}`) },
    );
    client.start();
    clock.advance(10);
    network.links.at(-1)!.delayMs(50); // each way: a PUBACK comes 100 ms after its PUBLISH
    for (let i = 0; i < 3; i++) client.publish('t', 'e' + i, 1);
    const t0 = clock.nowMs();
    client.end(5000);
    expect(seen).toEqual([]);
    clock.advance(200);
    expect(seen).toEqual(['STOPPED -1', `end 0 at ${t0 + 100}`]); // there and back: 2 × 50 ms
    expect(broker.of(C.DISCONNECT).length).toBe(1);
    expect(client.online).toBe(false);

    // The broker stops acknowledging: end() gives up at its bound, and what is left stays queued.
    client.start();
    clock.advance(200);
    broker.ackPublishes = false;
    client.publish('t', 'never acked', 1);
    const t1 = clock.nowMs();
    client.end(3000);
    clock.advance(10_000);
    expect(seen.slice(2)).toEqual(['STOPPED -1', `end 1 at ${t1 + 3000}`]);
    expect(client.session.queued).toBe(1);
    // With nothing outstanding it ends at once; stopped, it reports at once too.
    client.end(1000);
    expect(seen.at(-1)).toBe(`end 1 at ${t1 + 3000 + 7000}`);
  });

  it('every way of going offline is reported once to onDisconnect: stop() while opening or online, not while waiting to retry', () => {
    const { clock, network, client, events } = setup({ reconnectMinMs: 1000, reconnectMaxMs: 1000 });
    const disconnects = () => events.filter((e) => e[0] === 'disconnect');
    network.faults = { blackhole: true };
    client.start();
    clock.advance(10);
    client.stop(); // opening
    expect(disconnects()).toEqual([['disconnect', 'STOPPED', -1]]);
    client.stop();
    expect(disconnects().length).toBe(1);
    network.faults = {};
    network.refuse('broker', 1883);
    client.start();
    clock.advance(10);
    expect(disconnects().length).toBe(2); // refused: CONNECTION_LOST, retry
    client.stop(); // waiting to retry: offline already, and reported
    expect(disconnects().length).toBe(2);
    network.refuse('broker', 1883, false);
    client.start();
    clock.advance(10);
    expect(client.online).toBe(true);
    client.stop();
    expect(disconnects().map((e) => e[1])).toEqual(['STOPPED', 'CONNECTION_LOST', 'STOPPED']);
  });

  it('0 QoS 1 messages lost through random cuts of the link in both directions', () => {
    const { clock, broker, client, events, network } = setup({ clean: false, reconnectMinMs: 100, reconnectMaxMs: 2000, outboxMessages: 64, outboxBytes: 8192 });
    broker.connack = () => [broker.peers.length > 1 ? 1 : 0, 0];
    client.start();
    let seed = 99;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      if (client.publish('t/' + i, 'm' + i, 1) > 0) accepted++;
      if (rnd() < 0.08) {
        const link = network.links[network.links.length - 1];
        link.cutAfter(Math.floor(rnd() * 40), rnd() < 0.5 ? 'toServer' : 'toClient');
      }
      clock.advance(Math.floor(rnd() * 200));
    }
    clock.advance(120_000);
    const published = events.filter((e) => e[0] === 'published').length;
    expect(accepted).toBeGreaterThan(250);
    expect(published).toBe(accepted);
    expect(client.session.queued).toBe(0);
    expect(broker.peers.length).toBeGreaterThan(3); // the cuts happened
  });
});
