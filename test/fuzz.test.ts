// Decoder fuzz: 100,000 random and mutated inputs per run, in random chunkings and configurations.
// The decoder must never throw, never touch memory outside its arrays, always make progress, and
// end each call in a packet, a fragment, NEED_MORE or a remote status.
import { describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import * as C from '../src/index.js';
import { decodeCases, encodeCases } from './fixtures/packets.js';
import { concat, decodeChunks, hex, rng, toHex } from './helpers.js';

const RUNS = 100_000;
const GUARDED_EVERY = 10; // one input in 10 runs on Proxy-guarded arrays

/** Valid first bytes of what a server sends a client (CONNACK aside): PUBLISH (QoS 0-2, DUP, RETAIN), the acks, SUBACK, UNSUBACK, PINGRESP. */
const SERVER_FIRST_BYTES = [0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x3a, 0x3b, 0x3c, 0x3d, 0x40, 0x50, 0x62, 0x70, 0x90, 0xb0, 0xd0];

/**
 * The fuzz's seeds: what a server sends a client, each getting past its first byte. The fixtures'
 * decode cases (valid, and invalid past the first byte: a bad length, a zero packet id, a wildcard
 * in a topic…; not those refused at byte 0, which the fixtures test exactly), the encode cases a
 * broker sends too (PUBLISH, the acks; not CONNECT, SUBSCRIBE…), and mqtt-packet's bytes for the
 * server packet types.
 */
function serverSeeds(): { connacks: Uint8Array[]; packets: Uint8Array[] } {
  const connacks: Uint8Array[] = [];
  const packets: Uint8Array[] = [];
  for (const c of decodeCases) {
    const b = hex(c.bytes);
    if (c.awaitingConnack) {
      if (b[0] === 0x20 && !c.status) connacks.push(b);
      continue;
    }
    if (SERVER_FIRST_BYTES.includes(b[0]) && c.failsAt !== 1 && c.name.indexOf('before CONNACK') < 0) packets.push(b);
  }
  for (const c of encodeCases) {
    const b = hex(c.bytes);
    if (SERVER_FIRST_BYTES.includes(b[0])) packets.push(b);
  }
  const generated: mqttPacket.Packet[] = [
    { cmd: 'suback', messageId: 7, granted: [0, 1, 2, 0x80] },
    { cmd: 'unsuback', messageId: 8 } as mqttPacket.Packet,
    { cmd: 'pingresp' },
    { cmd: 'publish', topic: 'devices/+x/cmd', payload: Buffer.from('set 10'), qos: 2, dup: true, retain: false, messageId: 300 },
    { cmd: 'publish', topic: 'a', payload: Buffer.alloc(130, 1), qos: 1, dup: false, retain: true, messageId: 1 },
  ];
  for (const p of generated) packets.push(new Uint8Array(mqttPacket.generate(p)));
  return { connacks, packets };
}

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
    const { connacks, packets: seeds } = serverSeeds();
    const pick = (a: Uint8Array[]) => a[Math.floor(r() * a.length)];
    const stats = { packets: 0, fragments: 0, needMore: 0, errors: new Map<number, number>(), atFirstByte: 0 };
    for (let run = 0; run < RUNS; run++) {
      // A client's decoder before CONNACK takes only a CONNACK: a stream that starts elsewhere would
      // end at its first byte, testing nothing past it. So the configuration and the stream agree.
      const awaitingConnack = r() < 0.3;
      // Input: noise (most of it behind a valid first byte), a mutated known packet, or several
      // known packets with a mutation. Mutations spare the stream's first byte 9 times in 10: every
      // first byte is tested exhaustively below, and a short seed (PINGRESP, an ack) would otherwise
      // spend a third of its runs there.
      let input: Uint8Array;
      const kind = r();
      if (kind < 0.2) {
        input = new Uint8Array(1 + Math.floor(r() * 64));
        for (let i = 0; i < input.length; i++) input[i] = Math.floor(r() * 256);
        if (r() < 0.8) input[0] = awaitingConnack ? 0x20 : SERVER_FIRST_BYTES[Math.floor(r() * SERVER_FIRST_BYTES.length)];
      } else {
        const parts: number[] = [];
        if (awaitingConnack) parts.push(...pick(connacks));
        const n = kind < 0.6 ? 1 : 1 + Math.floor(r() * 4);
        for (let k = awaitingConnack ? 1 : 0; k < n; k++) parts.push(...pick(seeds));
        const mutations = Math.floor(r() * 4);
        for (let m = 0; m < mutations && parts.length; m++) {
          const at = parts.length > 1 && r() < 0.9 ? 1 + Math.floor(r() * (parts.length - 1)) : Math.floor(r() * parts.length);
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
      dec.awaitingConnack = awaitingConnack;
      const guarded = run % GUARDED_EVERY === 0;
      if (guarded) Object.defineProperty(dec, 'buffer', { value: guard(dec.buffer) });

      let pos = 0;
      let ended = false;
      let taken = 0; // bytes consumed, the failing byte included
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
          taken += used;
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
            if (taken <= 1) stats.atFirstByte++;
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
    expect(stats.packets).toBeGreaterThan(RUNS / 4); // 10% with the client→server seeds
    expect(stats.fragments).toBeGreaterThan(RUNS / 10);
    expect(stats.needMore).toBeGreaterThan(RUNS / 10);
    expect(stats.errors.size).toBeGreaterThanOrEqual(20);
    // Most inputs get past the first byte (client→server seeds made ~68% fail there, unexplored).
    expect(stats.atFirstByte, 'inputs refused at their first byte').toBeLessThan(RUNS * 0.1);
  });

  it('the seeds are server→client packets, and a client decoder takes the valid ones', () => {
    const { connacks, packets } = serverSeeds();
    expect(connacks.length).toBeGreaterThan(3);
    expect(packets.length).toBeGreaterThan(30);
    for (const b of [...connacks, ...packets]) expect(SERVER_FIRST_BYTES.includes(b[0]) || b[0] === 0x20, toHex(b)).toBe(true);
    // Each gets past its first byte (after a CONNACK), and most decode cleanly.
    let valid = 0;
    for (const b of packets) {
      const d = decodeChunks(concat(connacks[0], b), () => 1 << 30, { awaitingConnack: true, bufferSize: 1024 });
      expect(d.consumed, toHex(b)).toBeGreaterThan(connacks[0].length + 1);
      if (d.status === 0) valid++;
    }
    expect(valid).toBeGreaterThanOrEqual(30);
  });

  it('every first byte, awaiting CONNACK or not: a packet type the client takes gets past it, any other is refused at it', () => {
    // What a client accepts as a first byte [MQTT-2.2.2-2] [MQTT-3.3.1-4] [MQTT-3.2.0-1]: CONNACK
    // (0x20) only while awaiting it, then the server packets with their fixed flags.
    for (const awaitingConnack of [true, false]) {
      for (let b = 0; b < 256; b++) {
        const dec = new C.Decoder(64);
        dec.awaitingConnack = awaitingConnack;
        const ev = dec.push(Uint8Array.of(b), 0, 1);
        const takes = awaitingConnack ? b === 0x20 : SERVER_FIRST_BYTES.includes(b);
        const what = `${awaitingConnack ? 'awaiting CONNACK' : 'online'}: 0x${b.toString(16)} → ${C.statusName(ev)}`;
        expect(ev === C.NEED_MORE, what).toBe(takes);
        if (!takes) expect(C.isRemoteError(ev) && dec.consumed === 1, what).toBe(true);
      }
    }
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
