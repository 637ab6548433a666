/// <reference path="../xs-globals.d.ts" />
// The fixture table of test/codec.test.ts, run inside XS: every decode case fed whole, byte by byte
// and in random splits; every encode case at offset 0 and 7, one byte short (NO_MEMORY, nothing
// written), in an exact-size buffer, and read back by our decoder. Prints one line per failure and
// a last line `XS-RESULT {"pass":n,"fail":n,"decodeCases":n,"encodeCases":n,"failures":[...]}`.
import * as C from '../../../src/index.js';
import { decodeCases, encodeCases } from '../../../test/fixtures/packets.js';
import { decodeChunks, feedings, hex, toHex } from '../../../test/helpers.js';
import { check, result } from './report.js';

/** vitest's toEqual for plain data: undefined properties count as absent. */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => equal(x, (b as unknown[])[i]));
  const ka = Object.keys(a).filter((k) => (a as any)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as any)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => equal((a as any)[k], (b as any)[k]));
}

function expectEq(what: string, got: unknown, want: unknown): void {
  if (!equal(got, want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

for (const c of decodeCases) {
  for (const [how, sizes] of feedings(c.name.length * 7919)) {
    check(`decode ${c.name} [${how}]`, () => {
      const r = decodeChunks(hex(c.bytes), sizes(), c);
      expectEq('packets', r.packets, c.packets ?? []);
      expectEq('status', C.statusName(r.status), C.statusName(c.status ?? 0));
      expectEq('consumed', r.consumed, c.failsAt !== undefined ? c.failsAt : hex(c.bytes).length);
    });
  }
}

for (const c of encodeCases) {
  const want = toHex(hex(c.bytes));
  check(`encode ${c.name} [offset 0 and 7]`, () => {
    const buf = new Uint8Array(1024);
    const end = c.encode(buf, 0);
    expectEq('bytes', toHex(buf, 0, end), want);
    const buf2 = new Uint8Array(1024).fill(0xee);
    const end2 = c.encode(buf2, 7);
    expectEq('end at 7', end2, 7 + end);
    expectEq('bytes at 7', toHex(buf2, 7, end2), want);
    expectEq('guards', [buf2[6], buf2[end2]], [0xee, 0xee]);
  });
  check(`encode ${c.name} [NO_MEMORY, nothing written]`, () => {
    const n = want.length / 2;
    for (const [size, pos] of [
      [n - 1, 0],
      [n + 2, 3],
      [0, 0],
    ]) {
      const buf = new Uint8Array(size).fill(0xee);
      expectEq(`result in ${size} bytes at ${pos}`, c.encode(buf, pos), C.NO_MEMORY);
      expectEq('untouched', buf.every((b) => b === 0xee), true);
    }
  });
  check(`encode ${c.name} [exact-size buffer]`, () => {
    const buf = new Uint8Array(want.length / 2);
    expectEq('end', c.encode(buf, 0), buf.length);
    expectEq('bytes', toHex(buf), want);
  });
  if (c.decoded) {
    check(`encode ${c.name} [round trip]`, () => {
      const buf = new Uint8Array(1024);
      const bytes = buf.slice(0, c.encode(buf, 0));
      for (const [how, sizes] of feedings(3)) {
        const r = decodeChunks(bytes, sizes());
        expectEq(`status (${how})`, r.status, 0);
        expectEq(`packets (${how})`, r.packets, [c.decoded]);
      }
    });
  }
}

result({ decodeCases: decodeCases.length, encodeCases: encodeCases.length });
