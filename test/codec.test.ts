// The fixture table drives the decoder (whole, byte by byte, random splits), the encoder, and the
// round trips; plus the codec's edges: NO_MEMORY without partial writes, streaming, stickiness.
import { describe, expect, it } from 'vitest';
import * as C from '../src/index.js';
import { Outbox, SUB } from '../src/session/outbox.js';
import { decodeCases, encodeCases } from './fixtures/packets.js';
import { concat, decodeChunks, feedings, hex, makeDecoder, rng, toHex } from './helpers.js';

describe('decoder: fixture table, every case fed whole, byte by byte and in random splits', () => {
  for (const c of decodeCases) {
    describe(c.name, () => {
      for (const [how, sizes] of feedings(c.name.length * 7919)) {
        it(how, () => {
          const r = decodeChunks(hex(c.bytes), sizes(), c);
          expect(r.packets).toEqual(c.packets ?? []);
          expect(C.statusName(r.status)).toBe(C.statusName(c.status ?? 0));
          if (c.failsAt !== undefined) expect(r.consumed).toBe(c.failsAt);
          else expect(r.consumed).toBe(hex(c.bytes).length);
        });
      }
    });
  }
});

describe('decoder behaviour', () => {
  it('an error sticks until reset(), which starts a new connection awaiting CONNACK', () => {
    const d = makeDecoder();
    const bad = hex('00 00');
    expect(d.push(bad, 0, 2)).toBe(C.RESERVED_PACKET_TYPE);
    const good = hex('40 02 0001');
    expect(d.push(good, 0, 4)).toBe(C.RESERVED_PACKET_TYPE);
    expect(d.consumed).toBe(0);
    d.reset();
    expect(d.awaitingConnack).toBe(true);
    expect(d.push(good, 0, 4)).toBe(C.PACKET_BEFORE_CONNACK);
    d.reset();
    const ok = hex('20 02 00 00 40 02 0001');
    expect(d.push(ok, 0, 8)).toBe(C.EV_PACKET);
    expect(d.push(ok, 4, 4)).toBe(C.EV_PACKET);
    expect(d.packetId).toBe(1);
  });

  it('reset() drops a partial packet: a drop mid-packet delivers nothing of it (fault 1)', () => {
    const d = makeDecoder();
    const pub = hex('32 09 0003 612f62 0001 6869');
    expect(d.push(pub, 0, 6)).toBe(C.NEED_MORE);
    d.reset();
    d.awaitingConnack = false;
    const ack = hex('40 02 0002');
    expect(d.push(ack, 0, 4)).toBe(C.EV_PACKET);
    expect(d.type).toBe(C.PUBACK);
    expect(d.packetId).toBe(2);
  });

  it('parses a packet that lies whole in the chunk in place, and gathers a split one in its buffer', () => {
    const d = makeDecoder();
    const pub = hex('30 04 0001 74 21');
    expect(d.push(pub, 0, pub.length)).toBe(C.EV_PACKET);
    expect(d.data).toBe(pub);
    expect(d.push(pub, 0, 3)).toBe(C.NEED_MORE);
    expect(d.push(pub, 3, 3)).toBe(C.EV_PACKET);
    expect(d.data).toBe(d.buffer);
    expect(toHex(d.data, d.payloadOffset, d.payloadOffset + d.payloadLength)).toBe('21');
  });

  it('1000 QoS 1 PUBLISH packets in one segment all parse, ids in order (case 39)', () => {
    const parts: Uint8Array[] = [];
    const one = new Uint8Array(64);
    for (let id = 1; id <= 1000; id++) {
      const end = C.writePublish(one, 0, 'devices/d1/cmd', 'payload ' + id, 1, false, false, id);
      parts.push(one.slice(0, end));
    }
    const stream = concat(...parts);
    for (const [how, sizes] of feedings(39)) {
      const r = decodeChunks(stream, sizes());
      expect(r.status, how).toBe(0);
      expect(r.packets.map((p) => p.packetId)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
      expect(r.packets[999].payload).toBe(toHex(new TextEncoder().encode('payload 1000')));
    }
  });

  it('streams a 256 MB PUBLISH in fragments with offsets and total length (case 3, fault 10)', () => {
    const d = makeDecoder({ bufferSize: 64 });
    const head = hex('32 ff ff ff 7f  0001 74  0007');
    const total = 268435455 - 5;
    expect(d.push(head, 0, head.length)).toBe(C.NEED_MORE);
    const chunk = new Uint8Array(1 << 20).fill(0xab);
    let seen = 0;
    for (let i = 0; i < 8; i++) {
      let off = 0;
      while (off < chunk.length) {
        expect(d.push(chunk, off, chunk.length - off)).toBe(C.EV_FRAGMENT);
        expect(d.fragmentOffset).toBe(seen);
        expect(d.messageLength).toBe(total);
        expect(d.packetId).toBe(7);
        expect(toHex(d.topicData, d.topicOffset, d.topicOffset + d.topicLength)).toBe('74');
        expect(d.data).toBe(chunk); // straight from the input: no copy of the payload
        seen += d.payloadLength;
        off += d.consumed;
      }
    }
    expect(seen).toBe(8 << 20);
  });

  it('the last fragment ends exactly at the message, and the next packet follows in the same chunk', () => {
    const d = makeDecoder({ bufferSize: 16 });
    const msg = concat(hex('30 20 0001 74'), new Uint8Array(29).fill(1), hex('d0 00'));
    const evs: number[] = [];
    let off = 0;
    while (off < msg.length) {
      const ev = d.push(msg, off, msg.length - off);
      evs.push(ev);
      if (ev === C.EV_FRAGMENT) expect(d.fragmentOffset + d.payloadLength).toBe(29);
      off += d.consumed;
    }
    expect(evs).toEqual([C.EV_FRAGMENT, C.EV_PACKET]);
    expect(d.type).toBe(C.PINGRESP);
  });

  it('refuses a receive buffer under 16 bytes', () => {
    expect(() => new C.Decoder(8)).toThrow(RangeError);
    expect(() => new C.Decoder(new Uint8Array(8))).toThrow(RangeError);
  });

  it('takes a receive buffer of the caller\'s (a view of a shared ArrayBuffer), and decodes into it', () => {
    const shared = new ArrayBuffer(64);
    const mine = new Uint8Array(shared, 32, 16);
    const d = new C.Decoder(mine);
    expect(d.buffer).toBe(mine);
    const connack = hex('20 02 00 00');
    expect(d.push(connack, 0, 4)).toBe(C.EV_PACKET);
    // SUBACK for id 7 with one code, split so the decoder must keep its bytes in the buffer.
    const bytes = hex('90 03 00 07 01');
    expect(d.push(bytes, 0, 2)).toBe(C.NEED_MORE);
    expect(d.push(bytes, 2, 3)).toBe(C.EV_PACKET);
    expect(d.type).toBe(C.SUBACK);
    expect(d.packetId).toBe(7);
    expect(d.data).toBe(mine); // gathered in the given buffer
    expect(d.data[d.payloadOffset]).toBe(1);
    expect(new Uint8Array(shared, 0, 32).every((x) => x === 0)).toBe(true); // nothing outside its view
  });
});

describe('encoder: fixture table', () => {
  for (const c of encodeCases) {
    describe(c.name, () => {
      it('writes the exact bytes, at offset 0 and at an offset', () => {
        const want = toHex(hex(c.bytes));
        const buf = new Uint8Array(1024);
        const end = c.encode(buf, 0);
        expect(toHex(buf, 0, end)).toBe(want);
        const buf2 = new Uint8Array(1024).fill(0xee);
        const end2 = c.encode(buf2, 7);
        expect(end2).toBe(7 + end);
        expect(toHex(buf2, 7, end2)).toBe(want);
        expect(buf2[6]).toBe(0xee);
        expect(buf2[end2]).toBe(0xee);
      });

      it('returns NO_MEMORY for a buffer one byte short, writing nothing', () => {
        const n = hex(c.bytes).length;
        for (const [size, pos] of [
          [n - 1, 0],
          [n + 2, 3],
          [0, 0],
        ]) {
          const buf = new Uint8Array(size).fill(0xee);
          expect(c.encode(buf, pos)).toBe(C.NO_MEMORY);
          expect(buf.every((b) => b === 0xee)).toBe(true);
        }
      });

      if (c.decoded) {
        it('round trip: our decoder reads our bytes back, whole, byte by byte and split', () => {
          const buf = new Uint8Array(1024);
          const bytes = buf.slice(0, c.encode(buf, 0));
          for (const [how, sizes] of feedings(3)) {
            const r = decodeChunks(bytes, sizes());
            expect(r.status, how).toBe(0);
            expect(r.packets, how).toEqual([c.decoded]);
          }
        });
      }
    });
  }

  it('every case also fits a buffer of exactly its size (the exact-sizing path)', () => {
    for (const c of encodeCases) {
      const want = hex(c.bytes);
      const buf = new Uint8Array(want.length);
      expect(c.encode(buf, 0), c.name).toBe(want.length);
      expect(toHex(buf), c.name).toBe(toHex(want));
    }
  });

  it('PUBLISH whose multi-byte topic pushes the remaining length past 127 (the body is moved, not garbled)', () => {
    const topic = 'é'.repeat(50); // 50 UTF-16 units, 100 bytes
    const payload = new Uint8Array(30).fill(9);
    const buf = new Uint8Array(1024);
    const end = C.writePublish(buf, 5, topic, payload, 1, false, false, 77);
    // rl = 2 + 100 + 2 + 30 = 134: a 2-byte length, where the all-ASCII guess (84) needed 1.
    expect(end).toBe(5 + 1 + 2 + 134);
    expect(toHex(buf, 5, 8)).toBe('328601');
    const r = decodeChunks(buf.slice(5, end), () => 1 << 30);
    expect(r.packets).toEqual([
      { type: 3, qos: 1, dup: false, retain: false, packetId: 77, topic: 'c3a9'.repeat(50), topicString: topic, payload: '09'.repeat(30) },
    ]);
  });

  it('PUBLISH with the topic as pre-encoded bytes: same packet; invalid bytes refused', () => {
    const a = new Uint8Array(64);
    const b = new Uint8Array(64);
    const enc = new TextEncoder().encode('devices/é/t');
    expect(C.writePublish(a, 0, enc, 'x', 1, true, false, 3)).toBe(C.writePublish(b, 0, 'devices/é/t', 'x', 1, true, false, 3));
    expect(toHex(a)).toBe(toHex(b));
    for (const bad of ['', '2b', '23', '00', 'c328', 'eda080']) {
      expect(() => C.writePublish(a, 0, hex(bad), null, 0, false, false, 0), bad).toThrow(TypeError);
    }
  });

  it('sizeOfConnect and sizeOfPublish agree with what is written', () => {
    const buf = new Uint8Array(70000);
    const o = { clientId: 'id', username: 'u', password: 'pw', will: { topic: 'w/t', payload: 'bye', qos: 1, retain: true } };
    expect(C.sizeOfConnect(o)).toBe(C.writeConnect(buf, 0, o));
    const payload = new Uint8Array(20000);
    expect(C.sizeOfPublish('a/b', payload, 1)).toBe(C.writePublish(buf, 0, 'a/b', payload, 1, false, false, 1));
    expect(C.sizeOfPublish('t', 'x'.repeat(16384), 0)).toBe(1 + 3 + 3 + 16384);
    // writeConnect and writeFilters with no buffer: the size, checked as when writing.
    expect(C.writeConnect(null, 0, o)).toBe(C.writeConnect(buf, 0, o));
    const filters = ['a/+/é', 's/#', 'x'.repeat(200)];
    expect(C.writeFilters(null, 0, 0x82, 7, filters, [0, 1, 2])).toBe(C.writeSubscribe(buf, 0, 7, filters, [0, 1, 2]));
    expect(C.writeFilters(null, 0, 0xa2, 7, filters, null)).toBe(C.writeUnsubscribe(buf, 0, 7, filters));
    expect(() => C.writeFilters(null, 0, 0x82, 7, ['a/#/b'], [0])).toThrow(TypeError);
    expect(() => C.writeFilters(null, 0, 0x82, 7, ['a'], [3])).toThrow(RangeError);
  });
});

describe('encoder refuses misuse at the API, before writing (case 40)', () => {
  const buf = new Uint8Array(300000);
  const p = (topic: string, qos = 0, id = 0, dup = false) => () => C.writePublish(buf, 0, topic, 'x', qos, false, dup, id);
  it.each([
    ['+', 'a/+'],
    ['#', 'a/#'],
    ['empty', ''],
    ['U+0000', 'a\u0000b'],
    ['lone high surrogate', '\uD800'],
    ['lone low surrogate', 'a\uDC00'],
    ['reversed pair', '\uDC00\uD800'],
  ])('topic with %s', (_, topic) => {
    buf.fill(0xee, 0, 16);
    expect(p(topic)).toThrow(TypeError);
    expect(buf[0]).toBe(0xee);
  });
  it('topic over 65535 bytes', () => {
    expect(p('a'.repeat(65536))).toThrow(RangeError);
    expect(p('\u00e9'.repeat(32768))).toThrow(RangeError); // 65536 bytes in 32768 characters
    expect(C.writePublish(buf, 0, 'a'.repeat(65535), null, 0, false, false, 0)).toBe(1 + 3 + 2 + 65535);
  });
  it.each(['a/#/b', 'a#', 'a+/b', '', '+a', 'a/b#', '#/', 'a\u0000'])('filter %j', (f) => {
    expect(() => C.writeSubscribe(buf, 0, 1, [f], [0])).toThrow(TypeError);
    expect(() => C.writeUnsubscribe(buf, 0, 1, [f])).toThrow(TypeError);
  });
  it.each(['#', '+', 'a/+', '+/+', 'a/+/b', 'a/#', '/#', '+/#', '$SYS/#', 'a//b', '/'])('valid filter %j', (f) => {
    expect(C.writeSubscribe(buf, 0, 1, [f], [2])).toBeGreaterThan(0);
  });
  it('no filters at all', () => {
    expect(() => C.writeSubscribe(buf, 0, 1, [], [])).toThrow(TypeError);
    expect(() => C.writeUnsubscribe(buf, 0, 1, [])).toThrow(TypeError);
  });
  it('a payload, filter or field that is neither a string nor a Uint8Array (an ArrayBuffer, a number): TypeError, not a size of NaN', () => {
    for (const bad of [new ArrayBuffer(3), 5] as unknown[]) {
      expect(() => C.writePublish(buf, 0, 't', bad as Uint8Array, 0, false, false, 0)).toThrow(TypeError);
      expect(() => C.sizeOfPublish('t', bad as Uint8Array, 1)).toThrow(TypeError);
      expect(() => C.writeSubscribe(buf, 0, 1, [bad as unknown as string], [0])).toThrow(TypeError);
      expect(() => C.writeConnect(buf, 0, { clientId: 'a', username: 'u', password: bad as Uint8Array })).toThrow(TypeError);
    }
    expect(C.writePublish(buf, 0, 't', null, 0, false, false, 0)).toBe(5); // null: no payload
  });
  it('writeAck with a type that is not an acknowledgement', () => {
    expect(() => C.writeAck(buf, 0, C.CONNECT, 1)).toThrow(RangeError);
    expect(() => C.writeAck(buf, 0, C.SUBACK, 1)).toThrow(RangeError);
  });
  it('packet id 0 or out of range', () => {
    expect(p('t', 1, 0)).toThrow(RangeError);
    expect(p('t', 1, 65536)).toThrow(RangeError);
    expect(p('t', 2, 1.5)).toThrow(RangeError);
    expect(() => C.writeAck(buf, 0, C.PUBACK, 0)).toThrow(RangeError);
    expect(() => C.writeSubscribe(buf, 0, 0, ['a'], [0])).toThrow(RangeError);
    expect(() => C.writeUnsubscribe(buf, 0, 0, ['a'])).toThrow(RangeError);
  });
  it('QoS 3 and DUP on QoS 0', () => {
    expect(p('t', 3, 1)).toThrow(RangeError);
    expect(p('t', -1, 1)).toThrow(RangeError);
    expect(p('t', 0, 0, true)).toThrow(TypeError);
    expect(() => C.writeSubscribe(buf, 0, 1, ['a'], [3])).toThrow(RangeError);
  });
  it('CONNECT: "" with clean=0, a password without a username, will QoS 3, bad keepalive', () => {
    expect(() => C.writeConnect(buf, 0, { clientId: '', clean: false })).toThrow(TypeError);
    expect(C.writeConnect(buf, 0, { clientId: '', clean: true })).toBe(14);
    expect(() => C.writeConnect(buf, 0, { clientId: 'a', password: 'x' })).toThrow(TypeError);
    expect(() => C.writeConnect(buf, 0, { clientId: 'a', will: { topic: 'w', payload: '', qos: 3 } })).toThrow(RangeError);
    expect(() => C.writeConnect(buf, 0, { clientId: 'a', will: { topic: 'w/#', payload: '' } })).toThrow(TypeError);
    expect(() => C.writeConnect(buf, 0, { clientId: 'a', keepAliveSec: 65536 })).toThrow(RangeError);
    expect(() => C.writeConnect(buf, 0, { clientId: 'a', username: 'u', password: new Uint8Array(65536) })).toThrow(RangeError);
  });
});

describe('a string too long by its UTF-16 length alone is refused before it is scanned (issue 11 item 8)', () => {
  // Strings that start with a lone surrogate: scanning them throws TypeError at once, so a
  // RangeError or NO_MEMORY proves the string was never read. The 2^28-unit one is a rope of
  // concatenations (1 MB of memory, its length known without flattening it): scanning it took seconds.
  let huge = 'x'.repeat(1 << 20);
  for (let i = 0; i < 8; i++) huge = huge + huge;
  huge = '\uD800' + huge;
  const small = '\uD800' + 'x'.repeat(2000);
  const buf = new Uint8Array(1024);
  it('writePublish: NO_MEMORY for a buffer it cannot fit, RangeError above what MQTT allows', () => {
    expect(C.writePublish(buf, 0, 't', small, 0, false, false, 0)).toBe(C.NO_MEMORY);
    expect(C.writePublish(buf, 0, 't', small, 1, false, false, 1)).toBe(C.NO_MEMORY);
    expect(() => C.writePublish(buf, 0, 't', huge, 0, false, false, 0)).toThrow(RangeError);
    expect(() => C.writePublish(buf, 0, 't', small.slice(0, 10), 0, false, false, 0)).toThrow(TypeError); // one it must scan
  });
  it('sizeOfPublish: NO_MEMORY above `max`, RangeError above what MQTT allows', () => {
    expect(C.sizeOfPublish('t', small, 1, 1024)).toBe(C.NO_MEMORY);
    expect(() => C.sizeOfPublish('t', huge, 1)).toThrow(RangeError);
    expect(C.sizeOfPublish('t', 'abc', 1, 10)).toBe(10); // exactly max: fits
    expect(C.sizeOfPublish('t', 'abc', 1, 9)).toBe(C.NO_MEMORY);
    expect(C.sizeOfPublish('t', '\u20ac', 0, 8)).toBe(8); // 3 UTF-8 bytes: exact, not the bound
    expect(C.sizeOfPublish('t', '\u20ac', 0, 7)).toBe(C.NO_MEMORY);
  });
  it('Session.publish QoS 1/2: NO_MEMORY for a string longer than the whole outbox, not scanned', () => {
    const s = new C.Session({ clientId: 'x', outboxBytes: 1024 }, { send: () => true } as unknown as C.SessionEvents);
    expect(s.publish('t', small, 1, false, 0)).toBe(C.NO_MEMORY);
    expect(s.publish('t', small, 2, false, 0)).toBe(C.NO_MEMORY);
    expect(s.publish('t', '\u20ac'.repeat(400), 2, false, 0)).toBe(C.NO_MEMORY); // 1,200 bytes: sized exactly
    expect(() => s.publish('t', huge, 1, false, 0)).toThrow(RangeError);
    expect(s.queued).toBe(0);
  });
});

describe('outgoing packet ids, held by the outbox records (case 40: ids wrap 65535 → 1, never 0, never reused while open)', () => {
  it('wraps past 65535 to 1 and skips ids still open', () => {
    const ob = new Outbox(64, 2, 2);
    const first = ob.add(SUB); // id 1, kept open throughout
    expect(ob.id[first]).toBe(1);
    for (let id = 2; id <= 65535; id++) {
      const i = ob.add(SUB);
      expect(ob.id[i]).toBe(id);
      ob.free(i);
    }
    const i = ob.add(SUB); // 65535 → 1, which is open: 2
    expect(ob.id[i]).toBe(2);
    expect(ob.find(1)).toBe(first);
    expect(ob.find(3)).toBe(-1); // no record holds it
  });
  it('walks the whole id space without ever giving 0 or an id in use; compacts in order', () => {
    const ob = new Outbox(64, 2, 2);
    const r = rng(40);
    const open: number[] = []; // ids in the order they were made
    let wrapped = false;
    let last = 0;
    for (let k = 0; k < 200000; k++) {
      if (open.length === 4 || (open.length > 0 && r() < 0.5)) {
        const id = open.splice(Math.floor(r() * open.length), 1)[0];
        ob.free(ob.find(id));
      } else {
        const id = ob.id[ob.add(SUB)];
        expect(id).not.toBe(0);
        expect(open).not.toContain(id);
        if (id < last) wrapped = true;
        last = id;
        open.push(id);
      }
      // The records in use are the open ids, in the order they were made.
      expect(Array.from(ob.id.subarray(0, ob.end)).filter((x) => x)).toEqual(open);
    }
    expect(wrapped).toBe(true);
  });
});

describe('SUBACK matched to its SUBSCRIBE (cases 35, 36)', () => {
  const d = () => makeDecoder();
  it.each([
    ['90 04 0001 00 00', [1], C.SUBACK_COUNT_MISMATCH],
    ['90 03 0001 02', [1], C.SUBACK_QOS_ABOVE_REQUESTED],
    ['90 04 0001 01 80', [1, 2], 0],
    ['90 03 0001 00', [1], 0],
  ] as const)('%s for requested QoS %j', (bytes, req, want) => {
    const dec = d();
    const b = hex(bytes);
    expect(dec.push(b, 0, b.length)).toBe(C.EV_PACKET);
    expect(C.checkSuback(dec.data, dec.payloadOffset, dec.payloadLength, req)).toBe(want);
  });
});

describe('statuses', () => {
  it('every status has a distinct name and is classed', () => {
    const names = new Set<string>();
    for (const [k, v] of Object.entries(C)) {
      if (typeof v !== 'number' || v >= 0 || !/^[A-Z_0-9]+$/.test(k)) continue;
      expect(C.statusName(v)).toBe(k);
      names.add(C.statusName(v));
      expect(C.isRemoteError(v), k).toBe(v > C.NO_MEMORY && v !== C.WOULD_BLOCK); // local: WOULD_BLOCK, -60 and below
    }
    expect(names.size).toBeGreaterThan(25);
  });
});
