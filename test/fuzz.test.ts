// Decoder fuzz: 100,000 random and mutated inputs per run, in random chunkings and configurations.
// The decoder must never throw, never touch memory outside its arrays, always make progress, and
// end each call in a packet, a fragment, NEED_MORE or a remote status.
import { describe, expect, it } from 'vitest';
import * as C from '../src/index.js';
import { decodeCases, encodeCases } from './fixtures/packets.js';
import { hex, rng } from './helpers.js';

const RUNS = 100_000;
const GUARDED_EVERY = 10; // one input in 10 runs on Proxy-guarded arrays

/** A Uint8Array whose every out-of-range index read or write throws, instead of silently yielding undefined. */
function guard(a: Uint8Array): Uint8Array {
  return new Proxy(a, {
    get(t, k) {
      if (typeof k === 'string' && /^-?\d+$/.test(k) && !(+k >= 0 && +k < t.length)) throw new Error(`read outside: [${k}] of ${t.length}`);
      const v = Reflect.get(t, k, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
    set(t, k, v) {
      if (typeof k === 'string' && /^-?\d+$/.test(k) && !(+k >= 0 && +k < t.length)) throw new Error(`write outside: [${k}] of ${t.length}`);
      return Reflect.set(t, k, v, t);
    },
  });
}

describe('decoder fuzz', () => {
  it(`${RUNS} random and mutated inputs: no throw, no access out of bounds, always progress`, () => {
    const r = rng(Number(process.env.FUZZ_SEED ?? 20261122));
    const seeds: Uint8Array[] = decodeCases.map((c) => hex(c.bytes));
    for (const c of encodeCases) {
      const b = new Uint8Array(1024);
      seeds.push(b.slice(0, c.encode(b, 0)));
    }
    const stats = { packets: 0, fragments: 0, needMore: 0, errors: new Map<number, number>() };
    for (let run = 0; run < RUNS; run++) {
      // Input: pure noise, a mutated known packet, or several known packets with a mutation.
      let input: Uint8Array;
      const kind = r();
      if (kind < 0.2) {
        input = new Uint8Array(1 + Math.floor(r() * 64));
        for (let i = 0; i < input.length; i++) input[i] = Math.floor(r() * 256);
      } else {
        const parts: number[] = [];
        const n = kind < 0.6 ? 1 : 1 + Math.floor(r() * 4);
        for (let k = 0; k < n; k++) parts.push(...seeds[Math.floor(r() * seeds.length)]);
        const mutations = Math.floor(r() * 4);
        for (let m = 0; m < mutations && parts.length; m++) {
          const at = Math.floor(r() * parts.length);
          const op = r();
          if (op < 0.5) parts[at] = Math.floor(r() * 256);
          else if (op < 0.7) parts[at] ^= 1 << Math.floor(r() * 8);
          else if (op < 0.85) parts.splice(at, 1);
          else parts.splice(at, 0, Math.floor(r() * 256));
        }
        if (r() < 0.1) parts.length = Math.floor(r() * parts.length); // truncated
        input = Uint8Array.from(parts);
      }
      const dec = new C.Decoder(16 + Math.floor(r() * 300), r() < 0.2 ? 1 + Math.floor(r() * 500) : undefined);
      dec.awaitingConnack = r() < 0.3;
      const guarded = run % GUARDED_EVERY === 0;
      if (guarded) Object.defineProperty(dec, 'buffer', { value: guard(dec.buffer) });

      let pos = 0;
      let ended = false;
      while (pos < input.length && !ended) {
        const n = Math.min(input.length - pos, 1 + Math.floor(r() * (r() < 0.5 ? 4 : 80)));
        // The chunk sits inside a larger array, at an offset: the decoder must stay within [off, off+n).
        const off = Math.floor(r() * 3);
        const backing = new Uint8Array(off + n + 2).fill(0xa5);
        backing.set(input.subarray(pos, pos + n), off);
        const chunk = guarded ? guard(backing) : backing;
        let o = off;
        const end = off + n;
        while (o < end) {
          let ev: number;
          try {
            ev = dec.push(chunk, o, end - o);
          } catch (e) {
            throw new Error(`run ${run}: push threw ${(e as Error).message} on ${Buffer.from(input).toString('hex')}`);
          }
          const used = dec.consumed;
          if (!(used >= 0 && used <= end - o)) throw new Error(`run ${run}: consumed ${used} of ${end - o}`);
          o += used;
          if (ev === C.NEED_MORE) {
            if (o !== end) throw new Error(`run ${run}: NEED_MORE with input left`);
            stats.needMore++;
          } else if (ev === C.EV_PACKET || ev === C.EV_FRAGMENT) {
            if (used === 0) throw new Error(`run ${run}: an event consumed nothing`);
            if (ev === C.EV_PACKET) stats.packets++;
            else stats.fragments++;
            if (dec.type === C.PUBLISH) {
              if (!(dec.topicOffset >= 0 && dec.topicLength > 0 && dec.topicOffset + dec.topicLength <= dec.topicData.length)) {
                throw new Error(`run ${run}: topic view out of bounds`);
              }
              if (!(dec.payloadOffset >= 0 && dec.payloadLength >= 0 && dec.payloadOffset + dec.payloadLength <= dec.data.length)) {
                throw new Error(`run ${run}: payload view out of bounds`);
              }
              if (ev === C.EV_FRAGMENT && dec.data === chunk && dec.payloadOffset + dec.payloadLength > end) {
                throw new Error(`run ${run}: fragment beyond the pushed bytes`);
              }
            }
          } else {
            if (!C.isRemoteError(ev)) throw new Error(`run ${run}: unexpected result ${ev}`);
            stats.errors.set(ev, (stats.errors.get(ev) ?? 0) + 1);
            // Sticky: the same status again, consuming nothing.
            if (dec.push(chunk, o, end - o) !== ev || dec.consumed !== 0) throw new Error(`run ${run}: error did not stick`);
            ended = true;
            break;
          }
        }
        pos += n;
      }
    }
    if (process.env.FUZZ_STATS) console.log(stats);
    // The fuzz reaches every outcome, and a broad range of statuses: it is not idling on one path.
    expect(stats.packets).toBeGreaterThan(RUNS / 20);
    expect(stats.fragments).toBeGreaterThan(100);
    expect(stats.needMore).toBeGreaterThan(RUNS / 10);
    expect(stats.errors.size).toBeGreaterThanOrEqual(20);
  });

  it('the guard catches an out-of-bounds read (the fuzz can fail)', () => {
    const g = guard(new Uint8Array(2));
    expect(() => g[2]).toThrow(/read outside/);
    expect(() => {
      g[5] = 1;
    }).toThrow(/write outside/);
    expect(g[1]).toBe(0);
  });
});
