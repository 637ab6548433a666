// Behaviours of the codec and the session a mutation pass found untested (2026-12-07): each test
// here fails with a small bug seeded in the code (a bound off by one, a reset skipped on reconnect, a
// timeout not wrap-safe, a ring filled past its end) and passes on the code as it is.
import { describe, expect, it } from 'vitest';
import * as C from '../src/index.js';
import { base, C_BASE, C_KEPT, connected, PUB, run } from './session/transcripts.js';
import { decodeChunks, feedings, hex as H } from './helpers.js';

const whole = () => () => 1 << 30;

describe('the session: what a reconnect forgets', () => {
  it('an ack owed when the link dies is forgotten: the next connection reads its CONNACK and sends no stale ack', () => {
    for (const [, sizes] of feedings(7)) {
      run({ ...base, clean: false }, [
        ['start'], ['out', C_KEPT], ['in', '20 02 00 00'],
        ['check', (t) => void (t.blocked = true)],
        ['in', PUB('c/1', 'a', 1, 1)], // delivered; its PUBACK is owed
        ['check', (t) => expect(t.messages.length).toBe(1)],
        ['lost'],
        ['check', (t) => void ((t.blocked = false), (t.held = ''))],
        ['start'], ['out', C_KEPT], ['in', '20 02 01 00'],
        ['check', (t) => expect(t.connected).toEqual([[false, true], [true, true]])],
        ['out', ''], // no PUBACK 1 from the dead connection
      ], sizes);
    }
  });

  it('a broker that lost the session frees the incoming QoS 2 ids: a new message reusing one is delivered', () => {
    for (const [, sizes] of feedings(9)) {
      const t = run({ ...base, clean: false }, [
        ['start'], ['out', C_KEPT], ['in', '20 02 00 00'],
        ['in', PUB('q', 'one', 2, 7)], ['out', '50 02 0007'], // PUBREC; PUBREL never comes
        ['lost'],
        ['start'], ['out', C_KEPT], ['in', '20 02 00 00'], // session lost
        ['in', PUB('q', 'two', 2, 7)], ['out', '50 02 0007'],
      ], sizes);
      expect(t.messages.map((m) => m.payload)).toEqual(['6f6e65', '74776f']);
    }
  });
});

describe('the decoder: bounds exact to the byte', () => {
  it('maxMessageSize is inclusive: a PUBLISH of exactly that remaining length is taken, one byte more is MESSAGE_TOO_LARGE before its body', () => {
    const ok = decodeChunks(H('30 05 0001 74 6162'), () => 1, { maxMessageSize: 5 });
    expect([ok.status, ok.packets.length]).toEqual([0, 1]);
    const big = decodeChunks(H('30 06 0001 74 616263'), () => 1, { maxMessageSize: 5 });
    expect([big.status, big.consumed]).toEqual([C.MESSAGE_TOO_LARGE, 2]);
  });
  it('a SUBACK exactly the receive buffer is taken; one byte larger is PACKET_TOO_LARGE at its length byte', () => {
    const ok = decodeChunks(H('90 10 0001' + '00'.repeat(14)), () => 1, { bufferSize: 16 });
    expect([ok.status, ok.packets.length]).toEqual([0, 1]);
    const big = decodeChunks(H('90 11 0001' + '00'.repeat(15)), () => 1, { bufferSize: 16 });
    expect([big.status, big.consumed]).toEqual([C.PACKET_TOO_LARGE, 2]);
  });
  it('a PUBLISH streamed (larger than the receive buffer) with an empty topic is EMPTY_TOPIC at its topic length (case 15; a decoder that accepted it looped for ever, and this test then hangs)', () => {
    const d = new C.Decoder(16);
    d.awaitingConnack = false; // (as after a CONNACK)
    const bytes = H('30 14 0000' + '61'.repeat(18));
    let at = 0;
    let ev = 0;
    for (let i = 0; i < 64 && at < bytes.length && ev >= 0; i++) {
      ev = d.push(bytes, at, 1);
      at += d.consumed;
    }
    expect([ev, at]).toEqual([C.EMPTY_TOPIC, 4]);
  });
  it('a topic length one or two past the remaining length is BAD_TOPIC_LENGTH (case 22), not a generic BAD_LENGTH', () => {
    expect(decodeChunks(H('30 04 0003 6162'), () => 1).status).toBe(C.BAD_TOPIC_LENGTH);
    expect(decodeChunks(H('32 04 0003 6162'), () => 1).status).toBe(C.BAD_TOPIC_LENGTH); // also for QoS 1
  });
});

describe('the session: the window after a reconnect', () => {
  it('a PUBREL resent after a reconnect holds its window place: window 1, the queued QoS 1 waits for the PUBCOMP', () => {
    run({ ...base, clean: false, inflightWindow: 1 }, [
      ['start'], ['out', C_KEPT], ['in', '20 02 00 00'],
      ['publish', 'a', 'x', 2, 1], ['out', PUB('a', 'x', 2, 1)],
      ['in', '50 02 0001'], ['out', '62 02 0001'], // PUBREC → PUBREL
      ['publish', 'b', 'y', 1, 2], ['out', ''], // window full (A awaits PUBCOMP)
      ['lost'],
      ['start'], ['out', C_KEPT], ['in', '20 02 01 00'],
      ['out', '62 02 0001'], // PUBREL again, and B still waits
      ['in', '70 02 0001'], ['out', PUB('b', 'y', 1, 2)],
    ], () => () => 1 << 30);
  });
});

describe('the session: QoS 2 received', () => {
  it('a QoS 2 PUBLISH larger than the receive buffer: every piece delivered, PUBREC once after the last; a DUP resend before PUBREL is not delivered again', () => {
    for (const [, sizes] of feedings(11)) {
      const t = run({ ...base, rxBufferSize: 32 }, [
        ...connected,
        ['in', PUB('big', 'x'.repeat(200), 2, 3)],
        ['out', '50 02 0003'],
        ['in', PUB('big', 'x'.repeat(200), 2, 3, true)],
        ['out', '50 02 0003'],
      ], sizes);
      expect(t.messages.map((m) => m.payload).join('')).toBe('78'.repeat(200));
    }
  });
  it('qos2Window open incoming QoS 2 exchanges at most; one more closes with QOS2_TABLE_FULL (the broker resends it later)', () => {
    run({ ...base, qos2Window: 2 }, [
      ...connected,
      ['in', PUB('q', 'a', 2, 1) + PUB('q', 'b', 2, 2)],
      ['out', '50 02 0001 50 02 0002'],
      ['in', PUB('q', 'c', 2, 3)],
      ['closed', C.QOS2_TABLE_FULL],
      ['check', (t) => expect(t.messages.length).toBe(2)],
    ], () => () => 1 << 30);
  });
});

describe('the session: timeouts across a 32-bit wrap of the tick (fault 12)', () => {
  it('the CONNACK timeout across a 32-bit wrap of the tick', () => {
    run({ ...base, connackTimeoutMs: 5000 }, [
      ['start'], ['out', C_BASE], ['advance', 4999], ['out', ''], ['advance', 1], ['closed', C.CONNACK_TIMEOUT],
    ], () => () => 1 << 30, 0xffffffff - 2000);
  });
  it('the PINGRESP timeout across a 32-bit wrap of the tick', () => {
    run(base, [
      ...connected, ['advance', 10000], ['out', 'c0 00'], ['advance', 4999], ['check', (t) => expect(t.closed).toEqual([])],
      ['advance', 1], ['closed', C.KEEPALIVE_TIMEOUT],
    ], () => () => 1 << 30, 0xffffffff - 12000);
  });
});

describe('the session: keepalive, (un)subscribes, owed acks', () => {
  it('a connection closed while a PINGRESP was awaited: the next one starts with a full keepalive period, no stale ping deadline', () => {
    run(base, [
      ...connected, ['advance', 10000], ['out', 'c0 00'], ['advance', 5000], ['closed', C.KEEPALIVE_TIMEOUT],
      ...connected, ['advance', 9999], ['out', ''], ['check', (t) => expect(t.closed).toEqual([])],
      ['advance', 1], ['out', 'c0 00'],
    ], () => () => 1 << 30);
  });
  it('a QoS 1 PUBLISH sent from the outbox counts as sending for keepalive [MQTT-3.1.2-23]', () => {
    run(base, [
      ...connected, ['advance', 6000],
      ['publish', 'a', 'x', 1, 1], ['out', PUB('a', 'x', 1, 1)], ['in', '40 02 0001'],
      ['advance', 9999], ['out', ''], ['advance', 1], ['out', 'c0 00'],
    ], () => () => 1 << 30);
  });
  it('8 (un)subscribes open at once at most: the 9th is WOULD_BLOCK, and the table stays whole', () => {
    const t = run({ ...base, outboxMessages: 1 }, [...connected], () => () => 1 << 30);
    for (let i = 1; i <= 8; i++) expect(t.s.subscribe(['t/' + i], [0], t.now)).toBe(i);
    expect(t.s.subscribe(['t/9'], [0], t.now)).toBe(C.WOULD_BLOCK);
    expect(t.s.publish('p', 'x', 1, false, t.now)).toBe(9);
  });
  it('receive() given the held bytes again (no pump()) sends the owed ack first, then reads on', () => {
    run(base, [
      ...connected,
      ['check', (t) => void (t.blocked = true)],
      ['in', PUB('c/1', 'a', 1, 1) + PUB('c/2', 'b', 1, 2)],
      ['check', (t) => void (t.blocked = false)],
      ['in', ''], // the held bytes, given again as a host that polls would
      ['out', '40 02 0001 40 02 0002'],
      ['check', (t) => expect([t.messages.length, t.held]).toEqual([2, ''])],
    ], () => () => 1 << 30);
  });
});

describe('the outbox: its bounds exact', () => {
  // QoS 1 PUBLISH 'a' with a k-byte payload is 7 + k bytes: three 10-byte messages fill a 30-byte ring exactly.
  const M = (p: string, id: number, dup = false) => PUB('a', p, 1, id, dup);
  it('outboxMessages is exact: with room for bytes, the (max+1)th QoS 1 message is OUTBOX_FULL', () => {
    run({ ...base, outboxMessages: 2 }, [
      ...connected,
      ['publish', 'a', 'x', 1, 1], ['publish', 'a', 'y', 1, 2], ['publish', 'a', 'z', 1, C.OUTBOX_FULL],
      ['out', M('x', 1) + M('y', 2)],
    ], () => () => 1 << 30);
  });
  it('the ring is filled to the byte and never past it; every message is resent intact', () => {
    run({ ...base, clean: false, outboxBytes: 30 }, [
      ['start'], ['out', C_KEPT], ['in', '20 02 00 00'],
      ['publish', 'a', 'AAA', 1, 1], ['publish', 'a', 'BBB', 1, 2],
      ['publish', 'a', 'CCCC', 1, C.OUTBOX_FULL], // 11 bytes at 20: one past the end (M76)
      ['publish', 'a', 'CCC', 1, 3], // exactly to the end
      ['out', M('AAA', 1) + M('BBB', 2) + M('CCC', 3)],
      ['in', '40 02 0001'], // A's 10 bytes at the start are free
      ['publish', 'a', 'DDDD', 1, C.OUTBOX_FULL], // 11 bytes at 0 would overwrite B's first (M78)
      ['publish', 'a', 'DDD', 1, 4],
      ['out', M('DDD', 4)],
      ['in', '40 02 0002'], // B's 10 bytes free: between D (ends at 10) and C (starts at 20)
      ['publish', 'a', 'EEEE', 1, C.OUTBOX_FULL], // would overwrite C's first (M77)
      ['publish', 'a', 'EEE', 1, 5],
      ['out', M('EEE', 5)],
      ['lost'], ['start'], ['out', C_KEPT], ['in', '20 02 01 00'],
      ['out', M('CCC', 3, true) + M('DDD', 4, true) + M('EEE', 5, true)], // intact, in order
    ], () => () => 1 << 30);
  });
});

describe('SUBACK checks', () => {
  it('a SUBACK with fewer return codes than filters closes too (SUBACK_COUNT_MISMATCH)', () => {
    run(base, [
      ...connected,
      ['subscribe', ['a', 'b'], [1, 1]],
      ['out', '82 0a 0001 0001 61 01 0001 62 01'],
      ['in', '90 03 0001 01'],
      ['closed', C.SUBACK_COUNT_MISMATCH],
    ], () => () => 1 << 30);
  });
});

describe('UTF-8: topics', () => {
  it('a topic cut inside a character is BAD_UTF8 even when the byte after the topic would complete it (E2 82 | AC)', () => {
    // topic "a" + E2 82 (length 3), payload AC: "€" split across topic and payload
    expect(decodeChunks(H('30 06 0003 61e282 ac'), () => 1 << 30).status).toBe(C.BAD_UTF8);
    expect(decodeChunks(H('30 06 0003 61e282 ac'), () => 1).status).toBe(C.BAD_UTF8);
  });
  it('validateTopic / validateFilter / topicBytes refuse 65536 bytes (RangeError) and take 65535', () => {
    expect(() => C.validateTopic('a'.repeat(65535))).not.toThrow();
    expect(() => C.validateTopic('a'.repeat(65536))).toThrow(RangeError);
    expect(() => C.validateFilter('a/' + 'b'.repeat(65534))).toThrow(RangeError);
    expect(() => C.topicBytes('\u20ac'.repeat(21846))).toThrow(RangeError); // 65538 bytes
  });
});

describe('the encoder: NO_MEMORY exact', () => {
  it('a PUBLISH one byte larger than the buffer is NO_MEMORY, also for a >2 MB string of 3-byte characters (4-byte length)', () => {
    const N = 699050; // body 3N + 5 >= 2^21: a 4-byte remaining length; total 3N + 10
    const p = '\u20ac'.repeat(N);
    expect(C.writePublish(new Uint8Array(3 * N + 9), 0, '\u20ac', p, 0, false, false, 0)).toBe(C.NO_MEMORY);
    expect(C.writePublish(new Uint8Array(3 * N + 10), 0, '\u20ac', p, 0, false, false, 0)).toBe(3 * N + 10);
  });
});

describe('the window', () => {
  it('an open SUBSCRIBE takes no place in the QoS 1/2 in-flight window', () => {
    run({ ...base, inflightWindow: 1 }, [
      ...connected,
      ['subscribe', ['a'], [1]], ['out', '82 06 0001 0001 61 01'],
      ['publish', 'a', 'x', 1, 2], ['out', PUB('a', 'x', 1, 2)],
    ], () => () => 1 << 30);
  });
});
