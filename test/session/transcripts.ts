// The session transcripts (design.md): ['out', bytes the session must send], ['in', bytes from the
// broker], ['advance', ms] …, each incoming stream replayed whole, byte by byte and in random splits.
// Faults are those of ../shared/protocol-cases.md; no QoS 1 message is lost. Engine-neutral: run by
// test/session.test.ts under vitest on V8 and by tools/xs/entries/transcripts.ts inside XS (xsnap),
// so the assertions are this file's own `eq`, which throws.
import * as C from '../../src/index.js';
import { Session } from '../../src/session/session.js';
import type { SessionOptions } from '../../src/session/session.js';
import { feedings, hex, toHex } from '../helpers.js';

/** Throws unless `actual` and `expected` are the same JSON value. */
export function eq(actual: unknown, expected: unknown, what = 'value'): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

export type Step =
  | ['start']
  | ['out', string]
  | ['in', string]
  | ['advance', number]
  | ['publish', string, string, number, number?] // topic, payload, qos, expected result
  | ['subscribe', string[], number[], number?]
  | ['lost']
  | ['pump'] // the link takes bytes again: pump(), then the bytes receive() left are given again
  | ['closed', number] // the session closed the connection with this status
  | ['check', (t: Transcript) => void];

export interface Transcript {
  s: Session;
  now: number;
  sent: string[]; // hex of everything sent, in order, not yet matched by an 'out' step
  closed: number[];
  messages: Array<{ ev: number; topic: string; payload: string; qos: number; dup: boolean; id: number; at: number; total: number }>;
  published: number[];
  connected: Array<[boolean, boolean]>;
  subacks: Array<[number, number[]]>;
  blocked: boolean;
  /** Called in onMessage, after the message is recorded (a handler's side effects). */
  hook?: () => void;
  /** Incoming hex that receive() did not take (an ack waits for the link), given again by 'pump'. */
  held: string;
}

// Incoming bytes only, and the generated streams below: every 'out' a session must send is written by
// hand (CONNECT, PUBLISH QoS 0/1/2, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, PINGREQ,
// DISCONNECT), so the encoder is never its own oracle.
export const PUB = (topic: string, payload: string, qos: number, id = 0, dup = false, retain = false) => {
  const b = new Uint8Array(70000);
  return toHex(b, 0, C.writePublish(b, 0, topic, payload, qos, retain, dup, id));
};
export const ack = (type: number, id: number) => ((type << 4) | (type === 6 ? 2 : 0)).toString(16) + '02' + id.toString(16).padStart(4, '0');
export const PUBACK = (id: number) => ack(4, id);

export function run(opts: SessionOptions, steps: Step[], chunks: () => () => number, startMs = 1000): Transcript {
  const t: Transcript = { now: startMs, sent: [], closed: [], messages: [], published: [], connected: [], subacks: [], blocked: false, held: '' } as unknown as Transcript;
  t.s = new Session(opts, {
    send(b, o, l) {
      if (t.blocked) return false;
      t.sent.push(toHex(b, o, o + l));
      return true;
    },
    onConnected: (p, k) => t.connected.push([p, k]),
    onMessage(ev) {
      const d = t.s.message;
      t.messages.push({
        ev,
        topic: C.decodeUtf8(d.topicData, d.topicOffset, d.topicOffset + d.topicLength),
        payload: toHex(d.data, d.payloadOffset, d.payloadOffset + d.payloadLength),
        qos: d.qos,
        dup: d.dup,
        id: d.packetId,
        at: d.fragmentOffset,
        total: d.messageLength,
      });
      t.hook?.();
    },
    onPublished: (id) => t.published.push(id),
    onSubscribed: (id, codes, off, n) => t.subacks.push([id, Array.from(codes.subarray(off, off + n))]),
    onUnsubscribed: () => {},
    onClose: (st) => t.closed.push(st),
  });
  const sizes = chunks();
  for (const step of steps) {
    switch (step[0]) {
      case 'start':
        t.held = ''; // a new connection: what the old one left is gone
        eq(t.s.start(t.now), 0, 'start');
        break;
      case 'out': {
        const got = t.sent.join('');
        t.sent.length = 0;
        eq(got, toHex(hex(step[1])), 'out');
        break;
      }
      case 'pump':
      case 'in': {
        // 'pump': then what receive() left is given again, as the client's queue does.
        if (step[0] === 'pump') t.s.pump(t.now);
        // Bytes held back stay in front of new ones: receive() never skips any.
        const bytes = hex(t.held + (step[0] === 'in' ? step[1] : '').replace(/\s/g, ''));
        t.held = '';
        let pos = 0;
        while (pos < bytes.length) {
          const n = Math.min(sizes(), bytes.length - pos);
          const took = t.s.receive(bytes.slice(pos, pos + n), 0, n, t.now);
          if (took >= 0 && took < n) {
            t.held = toHex(bytes, pos + took, bytes.length);
            break;
          }
          pos += n;
        }
        break;
      }
      case 'advance': {
        // Time passes as a host would drive it: tick at each deadline the session asks for.
        let left = step[1];
        for (;;) {
          const d = t.s.nextDeadline(t.now);
          if (d < 0 || d > left) break;
          t.now = (t.now + d) >>> 0;
          left -= d;
          t.s.tick(t.now);
          if (d === 0 && t.s.nextDeadline(t.now) === 0) break;
        }
        t.now = (t.now + left) >>> 0;
        t.s.tick(t.now);
        break;
      }
      case 'publish': {
        const r = t.s.publish(step[1], step[2], step[3], false, t.now);
        if (step[4] !== undefined) eq(C.statusName(r), C.statusName(step[4]), 'publish result');
        break;
      }
      case 'subscribe':
        t.s.subscribe(step[1], step[2], t.now);
        break;
      case 'lost':
        t.s.linkLost();
        break;
      case 'closed':
        eq(t.closed.map(C.statusName), [C.statusName(step[1])], 'closed');
        t.closed.length = 0;
        break;
      case 'check':
        step[1](t);
        break;
    }
  }
  eq(t.closed.map(C.statusName), [], 'unexpected close');
  eq(t.sent, [], 'unmatched output');
  return t;
}

export interface TranscriptCase {
  name: string;
  opts: SessionOptions;
  steps: Step[];
  startMs?: number;
}

/** Every transcript, in order. */
export const TRANSCRIPTS: TranscriptCase[] = [];
function add(name: string, opts: SessionOptions, steps: Step[], startMs?: number): void {
  TRANSCRIPTS.push({ name, opts, steps, startMs });
}

/** The ways a transcript's incoming bytes are fed: whole, byte by byte, random splits (seeded by the name). */
export function feedingsOf(c: TranscriptCase): Array<[string, () => () => number]> {
  return feedings(c.name.length);
}


export const base: SessionOptions = { clientId: 'dev1', keepAliveSec: 10 };
// CONNECT written by hand: "MQTT" level 4, flags 02 (clean) or 00, keepalive 10, client id "dev1".
export const C_BASE = '10 10 0004 4d515454 04 02 000a 0004 64657631';
export const C_KEPT = '10 10 0004 4d515454 04 00 000a 0004 64657631';
export const connected: Step[] = [['start'], ['out', C_BASE], ['in', '20 02 00 00']];

function define(): void {
  add('connect, then PINGREQ after a keepalive period of silence, PINGRESP', base, [
    ...connected,
    ['check', (t) => eq(t.connected, [[false, true]])],
    ['advance', 9999],
    ['out', ''],
    ['advance', 1],
    ['out', 'c0 00'],
    ['in', 'd0 00'],
    ['advance', 10000],
    ['out', 'c0 00'],
    ['in', 'd0 00'],
  ]);

  add('fault 5: a half-open link (no PINGRESP) is declared dead within 1.5 × keepalive', base, [
    ...connected,
    ['advance', 10000],
    ['out', 'c0 00'],
    ['advance', 4999],
    ['check', (t) => eq(t.closed, [])],
    ['advance', 1],
    ['closed', C.KEEPALIVE_TIMEOUT],
  ]);

  add('fault 5, not a false alarm: a PINGRESP behind a large message still arriving; bytes keep the link alive', base, [
    ...connected,
    ['advance', 10000],
    ['out', 'c0 00'],
    ['in', PUB('big', 'x'.repeat(3000), 1, 5).slice(0, 2000)], // 1,000 of 3,000+ bytes, still arriving…
    ['advance', 4000],
    ['in', PUB('big', 'x'.repeat(3000), 1, 5).slice(2000, 4000)],
    ['advance', 4000], // 8 s after the PINGREQ: past the 5 s ping timeout, but bytes keep coming
    ['in', PUB('big', 'x'.repeat(3000), 1, 5).slice(4000) + 'd0 00'],
    ['out', '40 02 0005'], // PUBACK
    ['check', (t) => eq([t.closed, t.messages.reduce((n, m) => n + m.payload.length / 2, 0)], [[], 3000])], // all of it, in pieces
    ['advance', 4999],
    ['out', ''],
  ]);

  add('fault 5: a client that only publishes QoS 0 still pings when the broker is silent', base, [
    ...connected,
    ['advance', 4000],
    ['publish', 't', 'a', 0, 0],
    ['out', '30 04 0001 74 61'], // PUBLISH QoS 0: "t", "a"
    ['advance', 4000],
    ['publish', 't', 'b', 0, 0],
    ['out', '30 04 0001 74 62'],
    ['advance', 2000], // 10 s since the broker last spoke, though we sent 2 s ago
    ['out', 'c0 00'],
    ['advance', 5000],
    ['closed', C.KEEPALIVE_TIMEOUT],
  ]);

  add('fault 12: keepalive across a 32-bit wrap of the tick', base, [...connected, ['advance', 10000], ['out', 'c0 00'], ['in', 'd0 00'], ['advance', 9999], ['out', ''], ['advance', 1], ['out', 'c0 00']], 0xffffffff - 12000);

  add('fault 6: no CONNACK: closed after the connect timeout', { ...base, connackTimeoutMs: 5000 }, [['start'], ['out', C_BASE], ['advance', 4999], ['out', ''], ['advance', 1], ['closed', C.CONNACK_TIMEOUT]]);

  for (const [rc, status] of [
    [1, C.REFUSED_PROTOCOL_VERSION],
    [2, C.REFUSED_IDENTIFIER],
    [3, C.REFUSED_SERVER_UNAVAILABLE],
    [4, C.REFUSED_BAD_CREDENTIALS],
    [5, C.REFUSED_NOT_AUTHORIZED],
  ]) {
    add(`fault 7: CONNACK ${rc} closes with ${C.statusName(status)}; a queued QoS 1 message stays queued`, base, [
      ['publish', 'q', 'kept', 1, 1],
      ['start'],
      ['out', C_BASE],
      ['in', `20 02 00 0${rc}`],
      ['closed', status],
      ['check', (t) => eq([t.s.queued, t.connected.length, t.published.length], [1, 0, 0])],
    ]);
  }

  add('QoS 1 out: sent, PUBACK completes it; an unsolicited PUBACK is ignored (case 31)', base, [
    ...connected,
    ['publish', 'a/b', 'x', 1, 1],
    ['out', '32 08 0003 612f62 0001 78'], // PUBLISH QoS 1: "a/b", id 1, "x"
    ['in', '40 02 0007'],
    ['check', (t) => eq([t.published, t.s.queued], [[], 1])],
    ['in', '40 02 0001'],
    ['check', (t) => eq([t.published, t.s.queued], [[1], 0])],
  ]);

  add('the in-flight window: 5 messages, window 2, each PUBACK lets the next go, in order', { ...base, inflightWindow: 2 }, [
    ...connected,
    ...[1, 2, 3, 4, 5].map((i): Step => ['publish', 't', 'm' + i, 1, i]),
    // PUBLISH QoS 1: "t", id i, "m" i
    ['out', '32 07 0001 74 0001 6d31' + '32 07 0001 74 0002 6d32'],
    ['in', '40 02 0001'],
    ['out', '32 07 0001 74 0003 6d33'],
    ['in', '40 02 0002' + '40 02 0003'],
    ['out', '32 07 0001 74 0004 6d34' + '32 07 0001 74 0005 6d35'],
    ['in', '40 02 0005' + '40 02 0004'], // out of order: still all complete
    ['check', (t) => eq([t.published, t.s.queued], [[1, 2, 3, 5, 4], 0])],
  ]);

  add('fault 2: in flight when the link drops; session kept: resent first, same ids, DUP, in order', { ...base, clean: false }, [
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 00 00'],
    ['publish', 't', 'one', 1, 1],
    ['publish', 't', 'two', 1, 2],
    ['out', '32 08 0001 74 0001 6f6e65' + '32 08 0001 74 0002 74776f'],
    ['lost'],
    ['publish', 't', 'three', 1, 3], // offline: queued behind them
    ['publish', 't', 'zero', 0, C.NOT_CONNECTED], // fault 13: QoS 0 is not queued
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 01 00'],
    ['out', '3a 08 0001 74 0001 6f6e65' + '3a 08 0001 74 0002 74776f' + '32 0a 0001 74 0003 7468726565'], // DUP (3a) on the resent two
    ['check', (t) => eq(t.connected, [[false, true], [true, true]])],
    ['in', PUBACK(1) + PUBACK(2) + PUBACK(3)],
    ['check', (t) => eq([t.published, t.s.queued], [[1, 2, 3], 0])],
  ]);

  add('fault 4: the broker lost the session: messages sent anew (no DUP), the loss reported', { ...base, clean: false }, [
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 00 00'],
    ['publish', 't', 'one', 1, 1],
    ['out', '32 08 0001 74 0001 6f6e65'],
    ['lost'],
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 00 00'],
    ['out', '32 08 0001 74 0001 6f6e65'], // no DUP: new to a broker that lost the session
    ['check', (t) => eq(t.connected, [[false, true], [false, false]])],
    ['in', PUBACK(1)],
    ['check', (t) => eq(t.published, [1])],
  ]);

  add('fault 1: a drop in the middle of an incoming packet: nothing delivered or acked; the resend is', { ...base, clean: false }, [
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 00 00'],
    ['in', PUB('c/1', 'cmd', 1, 9).slice(0, 12)],
    ['lost'],
    ['check', (t) => eq(t.messages, [])],
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 01 00' + '3a 0a 0003 632f31 0009 636d64'], // PUBLISH QoS 1, DUP: "c/1", id 9, "cmd"
    ['out', '40 02 0009'],
    ['check', (t) => eq(t.messages.map((m) => [m.topic, m.dup]), [['c/1', true]])],
  ]);

  add('QoS 1 in: delivered, then PUBACK; redelivered with DUP: delivered and acked again (cases 25, 26)', base, [
    ...connected,
    ['in', '32 16 0010 6e657665722f73756273637269626564 0004 6869'], // "never/subscribed", id 4, "hi"
    ['out', '40 02 0004'],
    ['in', '3a 16 0010 6e657665722f73756273637269626564 0004 6869'], // the same with DUP
    ['out', '40 02 0004'],
    ['check', (t) => eq(t.messages.map((m) => [m.topic, m.payload, m.qos, m.id]), [['never/subscribed', '6869', 1, 4], ['never/subscribed', '6869', 1, 4]])],
  ]);

  add('QoS 2 in: delivered exactly once though the broker resends; PUBREC, PUBREL → PUBCOMP', base, [
    ...connected,
    ['in', '34 0a 0002 7132 0007 6f6e6365'], // PUBLISH QoS 2: "q2", id 7, "once"
    ['out', '50 02 0007'], // PUBREC
    ['in', '3c 0a 0002 7132 0007 6f6e6365'], // again, DUP
    ['out', '50 02 0007'],
    ['in', '62 02 0007'], // PUBREL
    ['out', '70 02 0007'], // PUBCOMP
    ['in', '34 0b 0002 7132 0007 616761696e'], // the id is free again: a new message, "again"
    ['out', '50 02 0007'],
    ['check', (t) => eq(t.messages.map((m) => m.payload), [toHex(new TextEncoder().encode('once')), toHex(new TextEncoder().encode('again'))])],
  ]);

  add('case 32: a PUBREC for an id we hold no record of is answered with PUBREL (as libmosquitto does), and its PUBCOMP ignored; nothing is reported, nothing closes', base, [
    ...connected,
    ['in', '50 02 0003'],
    ['out', '62 02 0003'],
    ['in', '70 02 0003'],
    ['out', ''],
    ['in', '70 02 0009'], // a PUBCOMP for nothing at all: ignored too
    ['out', ''],
    ['publish', 't', 'two', 2, 1], // the session goes on: a QoS 2 exchange of its own completes
    ['out', '34 08 0001 74 0001 74776f'],
    ['in', '50 02 0001'],
    ['out', '62 02 0001'],
    ['in', '70 02 0001'],
    ['check', (t) => eq([t.published, t.closed, t.s.queued], [[1], [], 0])],
  ]);

  add('a remaining length of exactly 128 (length bytes 80 01), out and in; bytes written by hand', base, [
    ...connected,
    ['publish', 't', 'a'.repeat(123), 1, 1], // 2 + 1 + 2 + 123 = 128
    ['out', '32 80 01 0001 74 0001' + '61'.repeat(123)],
    ['in', '32 80 01 0001 75 0009' + '62'.repeat(123) + '40 02 0001'],
    ['out', '40 02 0009'],
    ['check', (t) => eq([t.messages.map((m) => [m.topic, m.payload.length / 2, m.id]), t.published], [[['u', 123, 9]], [1]])],
  ]);

  // ---- QoS 2 out (issue 11 item 1). Bytes written by hand, not by the encoder under test:
  // PUBLISH QoS 2 is 34 (DUP: 3c), PUBREC 50 02, PUBREL 62 02 (flags 0010), PUBCOMP 70 02.
  add('QoS 2 out: PUBLISH, PUBREC → PUBREL, PUBCOMP completes it (onPublished at PUBCOMP, not before)', base, [
    ...connected,
    ['publish', 'a/b', 'x', 2, 1],
    ['out', '34 08 0003 612f62 0001 78'],
    ['check', (t) => eq([t.published, t.s.queued], [[], 1])],
    ['in', '50 02 0001'],
    ['out', '62 02 0001'],
    ['check', (t) => eq([t.published, t.s.queued], [[], 1])],
    ['in', '70 02 0001'],
    ['check', (t) => eq([t.published, t.s.queued], [[1], 0])],
    ['out', ''],
  ]);

  add('QoS 2 out, session kept across a reconnect: PUBREL where PUBCOMP never came, PUBLISH with DUP where PUBREC never came, in order [MQTT-4.4.0-1]', { ...base, clean: false }, [
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 00 00'],
    ['publish', 't', 'one', 2, 1],
    ['publish', 't', 'two', 2, 2],
    ['publish', 't', 'three', 1, 3],
    ['out', '34 08 0001 74 0001 6f6e65' + '34 08 0001 74 0002 74776f' + '32 0a 0001 74 0003 7468726565'],
    ['in', '50 02 0001'],
    ['out', '62 02 0001'],
    ['lost'],
    ['publish', 't', 'four', 2, 4], // offline: queued behind them, no DUP
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 01 00'],
    ['out', '62 02 0001' + '3c 08 0001 74 0002 74776f' + '3a 0a 0001 74 0003 7468726565' + '34 09 0001 74 0004 666f7572'],
    ['in', '70 02 0001'],
    ['check', (t) => eq(t.published, [1])],
    ['in', '50 02 0002' + '40 02 0003' + '50 02 0004'],
    ['out', '62 02 0002' + '62 02 0004'],
    ['in', '70 02 0004' + '70 02 0002'],
    ['check', (t) => eq([t.published, t.s.queued], [[1, 3, 4, 2], 0])],
  ]);

  add('QoS 2 out, the broker lost the session: past PUBREC it is complete (no PUBCOMP can come); before, sent anew without DUP', { ...base, clean: false }, [
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 00 00'],
    ['publish', 't', 'one', 2, 1],
    ['publish', 't', 'two', 2, 2],
    ['out', '34 08 0001 74 0001 6f6e65' + '34 08 0001 74 0002 74776f'],
    ['in', '50 02 0001'],
    ['out', '62 02 0001'],
    ['lost'],
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 00 00'],
    ['out', '34 08 0001 74 0002 74776f'],
    ['check', (t) => eq([t.published, t.s.queued, t.connected[1]], [[1], 1, [false, false]])],
  ]);

  add('QoS 2 out: a PUBREC again (a resend crossed it) is answered again; a PUBACK for it is ignored (case 31)', base, [
    ...connected,
    ['publish', 't', 'one', 2, 1],
    ['out', '34 08 0001 74 0001 6f6e65'],
    ['in', '40 02 0001'],
    ['check', (t) => eq([t.published, t.s.queued], [[], 1])],
    ['in', '50 02 0001'],
    ['out', '62 02 0001'],
    ['in', '50 02 0001'],
    ['out', '62 02 0001'],
    ['in', '70 02 0001'],
    ['check', (t) => eq([t.published, t.s.queued], [[1], 0])],
  ]);

  add('QoS 2 out: a PUBREC for a message not resent yet on this connection (the link was full at CONNACK) is left for the resend\'s', { ...base, clean: false }, [
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 00 00'],
    ['publish', 't', 'one', 2, 1],
    ['out', '34 08 0001 74 0001 6f6e65'],
    ['lost'],
    ['start'],
    ['out', C_KEPT],
    ['check', (t) => void (t.blocked = true)],
    ['in', '20 02 01 00' + '50 02 0001'],
    ['check', (t) => eq([t.closed, t.s.queued], [[], 1])],
    ['check', (t) => void (t.blocked = false)],
    ['pump'],
    ['out', '3c 08 0001 74 0001 6f6e65'],
    ['in', '50 02 0001'],
    ['out', '62 02 0001'],
    ['in', '70 02 0001'],
    ['check', (t) => eq([t.published, t.s.queued], [[1], 0])],
  ]);

  add('QoS 2 out: a PUBCOMP before the PUBREC closes (UNEXPECTED_ACK), and so does a PUBREC for a QoS 1 message', base, [
    ...connected,
    ['publish', 't', 'one', 2, 1],
    ['out', '34 08 0001 74 0001 6f6e65'],
    ['in', '70 02 0001'],
    ['closed', C.UNEXPECTED_ACK],
    ['start'],
    ['out', C_BASE],
    ['in', '20 02 00 00'],
    ['out', '34 08 0001 74 0001 6f6e65'], // clean session: sent anew
    ['publish', 't', 'q1', 1, 2],
    ['out', '32 07 0001 74 0002 7131'],
    ['in', '50 02 0002'],
    ['closed', C.UNEXPECTED_ACK],
    ['check', (t) => eq([t.published, t.s.queued], [[], 2])],
  ]);

  add('a PUBREC for the id of an open SUBSCRIBE closes (UNEXPECTED_ACK): it is no QoS 2 exchange', base, [
    ...connected,
    ['subscribe', ['c/#'], [1]],
    ['out', '82 08 0001 0003 632f23 01'],
    ['in', '50 02 0001'],
    ['closed', C.UNEXPECTED_ACK],
  ]);

  for (const [bytes, status] of [
    ['52 02 0001', C.BAD_FLAGS],
    ['50 03 0001 00', C.BAD_LENGTH],
    ['50 02 0000', C.PACKET_ID_ZERO],
    ['72 02 0001', C.BAD_FLAGS],
    ['70 01 00', C.BAD_LENGTH],
  ] as const) {
    add(`QoS 2 out: a malformed PUBREC or PUBCOMP (${bytes}) closes with ${C.statusName(status)}; the message stays`, base, [
      ...connected,
      ['publish', 't', 'one', 2, 1],
      ['out', '34 08 0001 74 0001 6f6e65'],
      ['in', bytes],
      ['closed', status],
      ['check', (t) => eq([t.published, t.s.queued], [[], 1])],
    ]);
  }

  add('QoS 2 out: the message holds its window place until PUBCOMP, its outbox bytes only until PUBREC', { ...base, inflightWindow: 1, outboxBytes: 40 }, [
    ...connected,
    ['publish', 't', 'a'.repeat(10), 2, 1], // 17 bytes
    ['publish', 't', 'b'.repeat(10), 2, 2], // 17 bytes: 34 of 40 used
    ['publish', 't', 'c'.repeat(10), 2, C.OUTBOX_FULL],
    ['out', '34 0f 0001 74 0001' + '61'.repeat(10)],
    ['in', '50 02 0001'],
    ['out', '62 02 0001'], // no more: the window (1) is taken until PUBCOMP
    ['publish', 't', 'c'.repeat(10), 2, 3], // the first one's bytes are free again
    ['out', ''],
    ['in', '70 02 0001'],
    ['out', '34 0f 0001 74 0002' + '62'.repeat(10)],
    ['in', '50 02 0002' + '70 02 0002'],
    ['out', '62 02 0002' + '34 0f 0001 74 0003' + '63'.repeat(10)],
    ['in', '50 02 0003' + '70 02 0003'],
    ['out', '62 02 0003'],
    ['check', (t) => eq([t.published, t.s.queued], [[1, 2, 3], 0])],
  ]);

  add('back-pressure (issue 11 item 3): an ack the full link will not take stops reading; the rest is read, delivered and acked once it takes bytes again', base, [
    ...connected,
    ['check', (t) => void (t.blocked = true)],
    ['in', PUB('c/1', 'a', 1, 1) + PUB('c/2', 'b', 1, 2) + PUB('q/3', 'c', 2, 3)],
    ['check', (t) => eq([t.messages.length, t.closed, t.held.length > 0], [1, [], true])],
    ['check', (t) => void (t.blocked = false)],
    ['pump'],
    ['out', '40 02 0001' + '40 02 0002' + '50 02 0003'], // PUBACK, PUBACK, PUBREC
    ['check', (t) => eq([t.messages.length, t.held], [3, ''])],
  ]);

  add('back-pressure: a full link at the keepalive deadline is no error; PINGREQ goes when it takes bytes again; a link that takes nothing for the ping timeout is dead', base, [
    ...connected,
    ['publish', 't', 'a', 0, 0], // a QoS 0 publisher: it sent just now…
    ['out', '30 04 0001 74 61'],
    ['check', (t) => void (t.blocked = true)],
    ['advance', 10000], // …but the broker has been silent a keepalive period: ping, and the link is full
    ['check', (t) => eq(t.closed, [])],
    ['advance', 3000],
    ['check', (t) => void (t.blocked = false)],
    ['pump'],
    ['out', 'c0 00'],
    ['in', 'd0 00'],
    ['advance', 10000],
    ['out', 'c0 00'],
    ['in', 'd0 00'],
    ['check', (t) => void (t.blocked = true)],
    ['advance', 10000],
    ['advance', 4999],
    ['check', (t) => eq(t.closed, [])],
    ['advance', 1],
    ['closed', C.KEEPALIVE_TIMEOUT],
  ]);

  add('20 QoS 2 messages in flight at once (Mosquitto\'s default) are all taken', base, [
    ...connected,
    ['in', Array.from({ length: 20 }, (_, i) => PUB('q2/' + i, 'v', 2, i + 1)).join('')],
    ['out', Array.from({ length: 20 }, (_, i) => ack(5, i + 1)).join('')],
    ['check', (t) => eq(t.messages.length, 20)],
  ]);

  add('fault 16: a PUBLISH straight after CONNACK, before the SUBACK, is delivered and acked', base, [
    ['start'],
    ['out', C_BASE],
    ['subscribe', ['c/#'], [1]],
    ['in', '20 02 00 00' + PUB('c/x', 'early', 1, 3)],
    ['out', PUBACK(3)],
    ['check', (t) => eq(t.messages.length, 1)],
  ]);

  add('fault 8: SUBACK 0x80 for one filter is reported and the connection stays', base, [
    ...connected,
    ['subscribe', ['ok/#', 'denied/#'], [1, 0]],
    ['out', '82 14 0001 0004 6f6b2f23 01 0008 64656e6965642f23 00'],
    ['in', '90 04 0001 01 80'],
    ['check', (t) => eq(t.subacks, [[1, [1, 0x80]]])],
    ['advance', 10000],
    ['out', 'c0 00'],
  ]);

  add('issue 11 item 2: QoS 2 after a SUBACK granting at most 1, and before any SUBACK (a kept session), is delivered once and PUBREC\'d', base, [
    ...connected,
    ['in', '34 06 0001 62 0009 79'], // b, a subscription of an earlier run, at QoS 2
    ['out', '50 02 0009'],
    ['subscribe', ['a'], [1]],
    ['out', '82 06 0001 0001 61 01'],
    ['in', '90 03 0001 01'],
    ['in', '34 06 0001 61 0001 78'],
    ['out', '50 02 0001'],
    ['in', '62 02 0001' + '62 02 0009'],
    ['out', '70 02 0001' + '70 02 0009'],
    ['check', (t) => eq(t.messages.map((m) => [m.topic, m.qos]), [['b', 2], ['a', 2]])],
  ]);

  add('cases 35, 36: a SUBACK that does not match its SUBSCRIBE closes', base, [
    ...connected,
    ['subscribe', ['a'], [1]],
    ['out', '82 06 0001 0001 61 01'],
    ['in', '90 04 0001 01 01'],
    ['closed', C.SUBACK_COUNT_MISMATCH],
    ['start'],
    ['out', C_BASE],
    ['in', '20 02 00 00'],
    ['subscribe', ['a'], [1]],
    ['out', '82 06 0002 0001 61 01'],
    ['in', '90 03 0002 02'], // case 36: QoS 2 granted where 1 was asked
    ['closed', C.SUBACK_QOS_ABOVE_REQUESTED],
  ]);

  add('fault 10: a PUBLISH larger than the receive buffer arrives in pieces, acked once after the last', { ...base, rxBufferSize: 32 }, [
    ...connected,
    ['in', PUB('big', 'x'.repeat(200), 1, 2)],
    ['out', PUBACK(2)],
    [
      'check',
      (t) => {
        eq(t.messages.every((m) => m.ev === C.EV_FRAGMENT && m.total === 200 && m.topic === 'big'), true);
        eq(t.messages.map((m) => m.payload).join(''), '78'.repeat(200));
        eq(t.messages[0].at, 0);
      },
    ],
  ]);

  add('fault 13: a full outbox refuses with a status and never overwrites', { ...base, outboxBytes: 64, outboxMessages: 4 }, [
    ...connected,
    ['publish', 't', 'a'.repeat(20), 1, 1],
    ['publish', 't', 'b'.repeat(20), 1, 2],
    ['publish', 't', 'c'.repeat(20), 1, C.OUTBOX_FULL],
    ['out', '32 19 0001 74 0001' + '61'.repeat(20) + '32 19 0001 74 0002' + '62'.repeat(20)], // 2 + 1 + 2 + 20 = 25 (19)
    ['in', '40 02 0001'],
    ['publish', 't', 'c'.repeat(20), 1, 3], // room again, at the start of the ring
    ['out', '32 19 0001 74 0003' + '63'.repeat(20)],
    ['in', '40 02 0002' + '40 02 0003'],
    ['check', (t) => eq([t.published, t.s.queued], [[1, 2, 3], 0])],
  ]);

  add('a remote protocol error closes once with its status (case 4 through the session)', base, [...connected, ['in', 'f0 00'], ['closed', C.RESERVED_PACKET_TYPE]]);

  add('issue 11 item 4: CONNACK session present = 1 after a clean-session CONNECT closes [MQTT-3.2.2-1]', base, [
    ['start'],
    ['out', C_BASE],
    ['in', '20 02 01 00'],
    ['closed', C.SESSION_PRESENT_ON_CLEAN],
    ['check', (t) => eq([t.connected, t.s.state], [[], 0])],
  ]);

  add('issue 11 item 5: a QoS 1 or 2 message larger than the whole outbox is NO_MEMORY (never fits), not OUTBOX_FULL', { ...base, outboxBytes: 64 }, [
    ...connected,
    ['publish', 't', 'a'.repeat(59), 1, C.NO_MEMORY], // 2 + 1 + 2 + 59 = 64 bytes of body: 66 in all
    ['publish', 't', 'a'.repeat(59), 2, C.NO_MEMORY],
    ['publish', 't', 'a'.repeat(57), 1, 1], // exactly 64
    ['out', '32 3e 0001 74 0001' + '61'.repeat(57)],
    ['publish', 't', 'b', 1, C.OUTBOX_FULL], // fits, but not now
    ['publish', 't', 'a'.repeat(59), 1, C.NO_MEMORY], // full, and never fits: NO_MEMORY still
    ['in', PUBACK(1)],
  ]);

  add('issue 11 item 7: disconnect() from onMessage: DISCONNECT is the last packet; no PUBACK or PUBREC after it [MQTT-3.14.4-1]', base, [
    ...connected,
    ['check', (t) => void (t.hook = () => t.s.disconnect(t.now))],
    ['in', '32 06 0001 61 0005 78' + '32 06 0001 61 0006 78'],
    ['out', 'e0 00'],
    ['check', (t) => eq([t.messages.length, t.s.state], [1, 0])],
    ['start'],
    ['out', C_BASE],
    ['in', '20 02 00 00' + '34 06 0001 61 0007 78'],
    ['out', 'e0 00'],
  ]);

  // ---- seeded bugs the suite did not catch (issue 11, "Tests that could not fail")
  add('ack order [MQTT-4.6.0-2]: an ack for a later PUBLISH never goes ahead of one still owed, even once the link takes bytes again', base, [
    ...connected,
    ['check', (t) => void (t.blocked = true)],
    ['in', '32 06 0001 61 0001 78' + '32 06 0001 61 0002 78'],
    ['check', (t) => void (t.blocked = false)], // the link takes bytes again, before pump() is called
    ['in', '34 06 0001 61 0003 78'],
    ['pump'],
    ['out', '40 02 0001' + '40 02 0002' + '50 02 0003'],
  ]);

  add('a PUBACK completes only a message sent on this connection: not one queued behind the window, nor one marked for resend', { ...base, clean: false, inflightWindow: 1 }, [
    ['start'],
    ['out', C_KEPT],
    ['in', '20 02 00 00'],
    ['publish', 't', 'one', 1, 1],
    ['publish', 't', 'two', 1, 2],
    ['out', '32 08 0001 74 0001 6f6e65'],
    ['in', '40 02 0002'], // 2 is only queued
    ['check', (t) => eq([t.published, t.s.queued], [[], 2])],
    ['lost'],
    ['start'],
    ['out', C_KEPT],
    ['check', (t) => void (t.blocked = true)], // the resend cannot go yet
    ['in', '20 02 01 00'],
    ['in', '40 02 0001'], // 1 is marked for resend, not sent on this connection
    ['check', (t) => eq([t.published, t.s.queued], [[], 2])],
    ['check', (t) => void (t.blocked = false)],
    ['pump'],
    ['out', '3a 08 0001 74 0001 6f6e65'],
    ['in', '40 02 0001'],
    ['out', '32 08 0001 74 0002 74776f'],
    ['in', '40 02 0002'],
    ['check', (t) => eq([t.published, t.s.queued], [[1, 2], 0])],
  ]);

  add('back-pressure, not an owed-ack ring: 40 QoS 1 messages while the link is full: one read, nothing closed, nothing overwritten; then all, acked in order', base, [
    ...connected,
    ['check', (t) => void (t.blocked = true)],
    ['in', Array.from({ length: 40 }, (_, i) => '32 06 0001 61 ' + (i + 1).toString(16).padStart(4, '0') + ' 78').join('')],
    ['check', (t) => eq([t.messages.length, t.closed], [1, []])],
    ['pump'], // still full: nothing more
    ['check', (t) => eq([t.messages.length, t.closed], [1, []])],
    ['check', (t) => void (t.blocked = false)],
    ['pump'],
    ['out', Array.from({ length: 40 }, (_, i) => '40 02 ' + (i + 1).toString(16).padStart(4, '0')).join('')],
    ['check', (t) => eq([t.messages.map((m) => m.id), t.held], [Array.from({ length: 40 }, (_, i) => i + 1), ''])],
  ]);
}
define();

/** Case 39: 1000 QoS 1 PUBLISH in one segment, fed whole, byte by byte and in random splits: all delivered, 1000 PUBACKs in order. Returns the feedings run. */
export function case39(): number {
  let stream = '';
  let acks = '';
  for (let id = 1; id <= 1000; id++) {
    stream += PUB('s/' + id, 'v' + id, 1, id);
    acks += PUBACK(id);
  }
  let n = 0;
  for (const [how, sizes] of feedings(39)) {
    const t = run(base, [...connected, ['in', stream], ['out', acks]], sizes);
    eq(t.messages.length, 1000, how);
    n++;
  }
  return n;
}

/**
 * 5000 random steps of QoS 1 and 2 publishes, drops, reconnects (session kept or not) and acks
 * (PUBACK; PUBREC, then PUBCOMP for each PUBREL), then connect and ack until nothing is left: every
 * accepted message is completed, none lost. Returns how
 * many messages were accepted.
 */
export function randomMix(): number {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const t = run({ ...base, clean: false, outboxMessages: 16, outboxBytes: 1024, inflightWindow: 4 }, [], () => () => 1 << 30);
  const s = t.s;
  const replies: string[] = []; // the broker's answers to what was sent, in order
  let accepted = 0;
  let online = false;
  const dec = new C.Decoder(2048);
  dec.awaitingConnack = false;
  const drain = () => {
    // Each send is one packet; PUBLISH is answered with PUBACK (QoS 1) or PUBREC (QoS 2), PUBREL
    // with PUBCOMP (CONNECT is not for a client decoder).
    for (const h of t.sent.splice(0)) {
      if (h.startsWith('62')) replies.push(ack(7, parseInt(h.slice(4), 16)));
      if (h[0] !== '3') continue;
      const b = hex(h);
      dec.reset();
      dec.awaitingConnack = false;
      eq(dec.push(b, 0, b.length), C.EV_PACKET, 'decoding what was sent');
      replies.push(dec.qos === 2 ? ack(5, dec.packetId) : PUBACK(dec.packetId));
    }
  };
  const qos = () => (rnd() < 0.5 ? 1 : 2);
  for (let step = 0; step < 5000; step++) {
    const r = rnd();
    if (!online) {
      if (r < 0.3) {
        s.start(t.now);
        s.receive(hex(r < 0.15 ? '20 02 01 00' : '20 02 00 00'), 0, 4, t.now);
        online = true;
        dec.reset();
        dec.awaitingConnack = false;
      } else if (s.publish('t', 'm' + step, qos(), false, t.now) > 0) accepted++;
    } else if (r < 0.5) {
      if (s.publish('t', 'm' + step, qos(), false, t.now) > 0) accepted++;
    } else if (r < 0.9) {
      drain();
      const pending = replies.splice(0, 1 + Math.floor(rnd() * 3));
      for (const a of pending) s.receive(hex(a), 0, 4, t.now);
    } else {
      s.linkLost();
      online = false;
      replies.length = 0;
      t.sent.length = 0;
    }
  }
  // Finally: connect, and ack everything until nothing is left.
  for (let round = 0; round < 100 && s.queued; round++) {
    if (!online) {
      s.start(t.now);
      s.receive(hex('20 02 01 00'), 0, 4, t.now);
      online = true;
      dec.reset();
      dec.awaitingConnack = false;
    }
    drain();
    for (const a of replies.splice(0)) s.receive(hex(a), 0, 4, t.now);
  }
  if (!(accepted > 500)) throw new Error('only ' + accepted + ' messages accepted');
  eq(s.queued, 0, 'queued at the end');
  eq(t.published.length, accepted, 'acknowledged of accepted'); // none lost
  eq(t.closed, [], 'closes');
  return accepted;
}
