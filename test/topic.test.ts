// Topic filter matching on bytes [MQTT-4.7], with the spec's own examples, checked against a
// straightforward string reference implementation on random topics.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decoder, EV_PACKET, decodeUtf8, matchTopic, topicBytes, validateFilter, validateTopic, writePublish } from '../src/index.js';
import { rng } from './helpers.js';

const enc = new TextEncoder();
function match(filter: string, topic: string): boolean {
  const f = enc.encode(' ' + filter + ' '); // padded: offsets must be honoured, not assumed 0
  const t = enc.encode('  ' + topic + ' ');
  return matchTopic(f, 1, f.length - 1, t, 2, t.length - 1);
}

/** The reference: split on '/', level by level. */
function reference(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

describe('matchTopic', () => {
  it.each([
    // [MQTT-4.7.1-2] '#': "sport/tennis/player1/#"
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    // [MQTT-4.7.1-3] '+'
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player2', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['+', 'a', true],
    ['a/+/c', 'a//c', true],
    ['+/b', 'a/b', true],
    // Exact and near misses
    ['a/b', 'a/b', true],
    ['a/b', 'a/bc', false],
    ['a/bc', 'a/b', false],
    ['a/b', 'a', false],
    ['a', 'a/b', false],
    ['a/b/#', 'a/b', true],
    ['a/b/#', 'a/bx', false],
    ['a/b/#', 'a', false],
    // [MQTT-4.7.2-1] '$' topics are not matched by a leading wildcard
    ['#', '$SYS/broker/load', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['a/#', 'a/$b', true],
    // Case and UTF-8
    ['ACCOUNTS', 'Accounts', false],
    ['é/+', 'é/😀', true],
    ['+/😀', 'é/😀', true],
  ])('%j vs %j → %s', (filter, topic, want) => {
    expect(match(filter, topic)).toBe(want);
    expect(reference(filter, topic)).toBe(want);
  });

  it('agrees with the reference on 20,000 random filter/topic pairs', () => {
    const r = rng(4711);
    const levels = ['a', 'b', '', 'ab', '$x', 'é'];
    const pick = <T,>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    let matches = 0;
    for (let i = 0; i < 20000; i++) {
      const tl = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(levels));
      const topic = tl.join('/') || 'a';
      const fl = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick([...levels, '+', '+']));
      if (r() < 0.3) fl.push('#');
      const filter = fl.join('/') || '+';
      validateFilter(filter);
      validateTopic(topic);
      const want = reference(filter, topic);
      if (want) matches++;
      expect(match(filter, topic), `${filter} vs ${topic}`).toBe(want);
    }
    expect(matches).toBeGreaterThan(1000); // the generator exercises both outcomes
  });
});

describe('validateFilter / validateTopic', () => {
  it.each(['a/#/b', 'a#', 'a+/b', '', 'a/+b', '#a', 'a\u0000', '\uD800'])('filter %j is refused', (f) => {
    expect(() => validateFilter(f)).toThrow(TypeError);
  });
  it.each(['#', '+', '+/+/#', 'a/b', '/', '$SYS/#', 'é/😀'])('filter %j is accepted', (f) => {
    expect(() => validateFilter(f)).not.toThrow();
  });
  it.each(['', 'a/+', '#', 'a\u0000', '\uDC00'])('topic %j is refused', (t) => {
    expect(() => validateTopic(t)).toThrow(TypeError);
  });
});

describe('topicBytes', () => {
  it('gives the UTF-8 of a topic, which publishes exactly as the string does', () => {
    const b = topicBytes('devices/é/😀/t');
    expect(Array.from(b)).toEqual(Array.from(new TextEncoder().encode('devices/é/😀/t')));
    const a = new Uint8Array(64);
    const c = new Uint8Array(64);
    const n = writePublish(a, 0, 'devices/é/😀/t', 'x', 1, false, false, 5);
    expect(writePublish(c, 0, b, 'x', 1, false, false, 5)).toBe(n);
    expect(c).toEqual(a);
    const d = new Decoder(64);
    d.awaitingConnack = false;
    expect(d.push(c, 0, n)).toBe(EV_PACKET);
  });

  it('refuses what is not a topic name, as validateTopic does', () => {
    for (const bad of ['', 'a/+', 'a/#', 'a\u0000b', 'x\ud800']) expect(() => topicBytes(bad), JSON.stringify(bad)).toThrow(TypeError);
  });
});

describe('decodeUtf8', () => {
  const td = new TextDecoder(); // the reference: WHATWG's decoder, U+FFFD for each ill-formed sequence
  const hex = (h: string) => Uint8Array.from(h.split(' ').map((x) => parseInt(x, 16)));

  it('stays inside [start, end): a sequence cut by `end` is U+FFFD, not completed from the bytes after it', () => {
    const b = hex('61 e2 82 ac');
    expect(decodeUtf8(b, 0, 2)).toBe('a\ufffd');
    expect(decodeUtf8(b, 0, 3)).toBe('a\ufffd');
    expect(decodeUtf8(b, 0, 4)).toBe('a€');
    expect(decodeUtf8(b, 2, 4)).toBe('\ufffd\ufffd'); // continuation bytes without their lead
    expect(decodeUtf8(b, 1, 1)).toBe('');
  });

  it('decodes bytes that are not UTF-8 to U+FFFD instead of throwing', () => {
    for (const h of ['f7 bf bf bf', 'f4 90 80 80', 'ed a0 80', 'c0 af', 'e0 80 af', 'ff', 'f0 9f 98', '80 61']) {
      const b = hex(h);
      expect(decodeUtf8(b, 0, b.length), h).toBe(td.decode(b));
    }
    expect(decodeUtf8(hex('f7 bf bf bf'), 0, 4)).toBe('\ufffd'.repeat(4));
  });

  it('agrees with TextDecoder on random bytes, read from the middle of a larger buffer', () => {
    // Bytes drawn mostly from the values where UTF-8 decoding branches, so that near-valid
    // sequences (and their every way of going wrong) are common.
    const interesting = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xff];
    const byte = fc.oneof(fc.constantFrom(...interesting), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 24 }), fc.array(byte, { maxLength: 4 }), fc.array(byte, { maxLength: 4 }), (mid, before, after) => {
        const all = Uint8Array.from([...before, ...mid, ...after]);
        const got = decodeUtf8(all, before.length, before.length + mid.length);
        expect(got).toBe(td.decode(Uint8Array.from(mid)));
      }),
      { numRuns: 20000 },
    );
  });

  it('round-trips any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        const b = new TextEncoder().encode(text);
        expect(decodeUtf8(b, 0, b.length)).toBe(text);
      }),
    );
  });
});
