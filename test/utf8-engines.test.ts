// The codec reads strings two ways (src/codec/utf8.ts): `s.charCodeAt(i)` / `s.length` on the
// string, which V8 inlines, and the same reads on a String object made once per string, `Object(s)`,
// which XS reads without allocating (on the primitive it boxes at every read). It picks the second
// when XS's own `trace.left` exists. Here a second
// copy of the codec is loaded with a stand-in `trace.left`, so V8 runs the XS form too, and both
// copies must write the same bytes and refuse the same strings, the same way.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as V8 from '../src/codec/index.js';

type Codec = typeof V8;
let XS: Codec;
const g = globalThis as any;
const hadTrace = 'trace' in g;

// Watched: the `this` of each charCodeAt call says which form ran (a String object in the XS form,
// the string itself in the V8 form).
let charCodeAt: ReturnType<typeof vi.spyOn>;

beforeAll(async () => {
  charCodeAt = vi.spyOn(String.prototype, 'charCodeAt');
  g.trace = Object.assign(() => {}, { left: () => {} });
  vi.resetModules();
  // @ts-expect-error the query only makes a fresh module instance, which tsc cannot resolve
  XS = (await import('../src/codec/index.js?xs-form')) as Codec;
});
afterAll(() => {
  charCodeAt.mockRestore();
  if (!hadTrace) delete g.trace;
});

/** What `f` returns, or the class and message of what it throws. */
function outcome(f: () => number): string {
  try {
    return 'ok ' + f();
  } catch (e) {
    return (e as Error).name + ': ' + (e as Error).message;
  }
}

const hex = (b: Uint8Array, end: number) => Buffer.from(b.subarray(0, end)).toString('hex');

describe('the XS form of the string reads behaves as the V8 form', () => {
  it('is a separate copy of the codec', () => {
    expect(XS).not.toBe(V8);
    expect(XS.utf8).not.toBe(V8.utf8);
  });

  it('really reads the XS way in the XS copy, and the plain way in the V8 copy', () => {
    const kinds = () => charCodeAt.mock.contexts.map((t: unknown) => typeof t);
    charCodeAt.mockClear();
    expect(V8.utf8('a/b', V8.STR_TOPIC)).toBe(3);
    expect(kinds()).toEqual(['string', 'string', 'string']);
    charCodeAt.mockClear();
    expect(XS.utf8('a/b', XS.STR_TOPIC)).toBe(3);
    expect(kinds()).toEqual(['object', 'object', 'object']); // the box, made once
  });

  // Any UTF-16 string: lone and reversed surrogates, U+0000, wildcards, astral characters.
  const units = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('a', '/', '+', '#', '\u0000', '\u00e9', '\u20ac', '\uffff') },
    { weight: 2, arbitrary: fc.constantFrom('\ud83d\ude00', '\ud800', '\udc00', '\udbff\udfff') },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  );
  const anyString = fc.string({ unit: units, maxLength: 40 });

  it('utf8(): same length, same bytes, same TypeError for every kind of string (5,000 strings)', () => {
    const a = new Uint8Array(200);
    const b = new Uint8Array(200);
    fc.assert(
      fc.property(anyString, fc.integer({ min: 0, max: 3 }), (s, kind) => {
        expect(outcome(() => XS.utf8(s, kind))).toBe(outcome(() => V8.utf8(s, kind)));
        const x = outcome(() => XS.utf8(s, kind, a, 0));
        expect(x).toBe(outcome(() => V8.utf8(s, kind, b, 0)));
        if (x.startsWith('ok ')) {
          const end = Number(x.slice(3));
          expect(hex(a, end)).toBe(hex(b, end));
          if (kind === 3) expect(hex(a, end)).toBe(Buffer.from(s, 'utf8').toString('hex')); // well-formed strings only reach here
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('writePublish and sizeOfPublish with string topics and payloads: same bytes, same errors', () => {
    const a = new Uint8Array(400);
    const b = new Uint8Array(400);
    fc.assert(
      fc.property(anyString, anyString, fc.constantFrom(0, 1), (topic, payload, qos) => {
        const x = outcome(() => XS.writePublish(a, 0, topic, payload, qos, false, false, 9));
        expect(x).toBe(outcome(() => V8.writePublish(b, 0, topic, payload, qos, false, false, 9)));
        expect(outcome(() => XS.sizeOfPublish(topic, payload, qos))).toBe(outcome(() => V8.sizeOfPublish(topic, payload, qos)));
        if (x.startsWith('ok ')) expect(hex(a, Number(x.slice(3)))).toBe(hex(b, Number(x.slice(3))));
      }),
      { numRuns: 2000 },
    );
  });

  it('the same strings as before are refused, by both forms', () => {
    const buf = new Uint8Array(64);
    for (const C of [XS, V8]) {
      for (const bad of ['a/+', 'a/#', '', 'a\u0000b', '\ud800', 'a\udc00', '\udc00\ud800', 'x\ud83d']) {
        expect(() => C.writePublish(buf, 0, bad, 'x', 0, false, false, 0), JSON.stringify(bad)).toThrow(TypeError);
      }
      // A surrogate pair is one 4-byte character: F0 9F 98 80.
      expect(hex(buf, C.writePublish(buf, 0, 'a\ud83d\ude00', null, 0, false, false, 0))).toBe('3007' + '0005' + '61f09f9880');
      expect(hex(buf, C.utf8('\ud83d\ude00\ud83d\ude00', 3, buf, 0))).toBe('f09f9880f09f9880');
    }
  });
});
