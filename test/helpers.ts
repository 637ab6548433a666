// Shared test helpers: hex with comments, feeding a decoder in any chunking, record snapshots.
import { Decoder, EV_FRAGMENT, EV_PACKET, NEED_MORE, PUBLISH, SUBACK, decodeUtf8 } from '../src/index.js';
import { mulberry32 as rng } from '../hosts/sim/index.js';

/** Bytes from hex text; `#` starts a comment to the end of the line. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error('bad hex: ' + text);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Deterministic PRNG, so a failing random split can be replayed from its seed: the simulator's. */
export { rng };

/** What a decoded packet looked like, independent of how the bytes were chunked. */
export interface Snap {
  type: number;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  packetId?: number;
  returnCode?: number;
  sessionPresent?: boolean;
  topic?: string; // hex of the topic bytes
  topicString?: string;
  payload?: string; // hex; fragments of one message joined
  codes?: number[];
  fragmented?: boolean;
}

export interface DecoderOptions {
  awaitingConnack?: boolean;
  bufferSize?: number;
  maxMessageSize?: number;
}

export function makeDecoder(o: DecoderOptions = {}): Decoder {
  const d = new Decoder(o.bufferSize ?? 256, o.maxMessageSize);
  d.awaitingConnack = o.awaitingConnack ?? false;
  return d;
}

export interface DecodeResult {
  packets: Snap[];
  status: number; // 0 when the input ended cleanly (NEED_MORE), else the remote status
  consumed: number; // input bytes consumed in total (up to and including the failing byte)
  fragments: number; // EV_FRAGMENT events seen
}

/**
 * Feeds `bytes` to a fresh decoder in chunks of the given sizes (cycled), checking the decoder's
 * contract on every call: consumed within the chunk, progress or NEED_MORE, record views in bounds.
 */
export function decodeChunks(bytes: Uint8Array, chunkSizes: () => number, o: DecoderOptions = {}): DecodeResult {
  const d = makeDecoder(o);
  const packets: Snap[] = [];
  let status = 0;
  let consumed = 0;
  let fragments = 0;
  let pending: Snap | null = null; // a fragmented message being joined
  let pos = 0;
  outer: while (pos < bytes.length) {
    const n = Math.min(Math.max(1, chunkSizes()), bytes.length - pos);
    // Copy each chunk into its own array, as a socket would deliver it: the decoder must not
    // depend on bytes outside the chunk it was given.
    const chunk = bytes.slice(pos, pos + n);
    pos += n;
    let off = 0;
    while (off < chunk.length) {
      const ev = d.push(chunk, off, chunk.length - off);
      if (d.consumed < 0 || d.consumed > chunk.length - off) throw new Error('consumed out of range');
      off += d.consumed;
      consumed += d.consumed;
      if (ev === NEED_MORE) {
        if (off !== chunk.length) throw new Error('NEED_MORE before the chunk was consumed');
        break;
      }
      if (ev < 0) {
        status = ev;
        break outer;
      }
      checkBounds(d);
      if (ev === EV_FRAGMENT) {
        fragments++;
        if (d.fragmentOffset === 0) pending = { ...snap(d), payload: '', fragmented: true };
        if (!pending) throw new Error('fragment without a start');
        pending.payload += toHex(d.data, d.payloadOffset, d.payloadOffset + d.payloadLength);
        if (d.fragmentOffset + d.payloadLength === d.messageLength) {
          packets.push(pending);
          pending = null;
        }
      } else if (ev === EV_PACKET) packets.push(snap(d));
      else throw new Error('unknown event ' + ev);
    }
  }
  return { packets, status, consumed, fragments };
}

function checkBounds(d: Decoder): void {
  const ok = (arr: Uint8Array, off: number, len: number) => off >= 0 && len >= 0 && off + len <= arr.length;
  if (d.type === PUBLISH && !ok(d.topicData, d.topicOffset, d.topicLength)) throw new Error('topic out of bounds');
  if ((d.type === PUBLISH || d.type === SUBACK) && !ok(d.data, d.payloadOffset, d.payloadLength)) {
    throw new Error('payload out of bounds');
  }
}

export function snap(d: Decoder): Snap {
  const s: Snap = { type: d.type };
  if (d.type === 2) {
    s.returnCode = d.returnCode;
    s.sessionPresent = d.sessionPresent;
  } else if (d.type === PUBLISH) {
    s.qos = d.qos;
    s.dup = d.dup;
    s.retain = d.retain;
    s.packetId = d.packetId;
    s.topic = toHex(d.topicData, d.topicOffset, d.topicOffset + d.topicLength);
    s.topicString = decodeUtf8(d.topicData, d.topicOffset, d.topicOffset + d.topicLength);
    s.payload = toHex(d.data, d.payloadOffset, d.payloadOffset + d.payloadLength);
  } else if (d.type !== 13) {
    s.packetId = d.packetId;
    if (d.type === SUBACK) s.codes = Array.from(d.data.subarray(d.payloadOffset, d.payloadOffset + d.payloadLength));
  }
  return s;
}

/** The three feedings every decode test uses: whole, byte by byte, and random splits. */
export function feedings(seed: number): Array<[string, () => () => number]> {
  return [
    ['whole', () => () => 1 << 30],
    ['byte by byte', () => () => 1],
    [
      'random splits',
      () => {
        const r = rng(seed);
        return () => 1 + Math.floor(r() * 9);
      },
    ],
  ];
}

