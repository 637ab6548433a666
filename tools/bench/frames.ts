// Hand-encoded MQTT 3.1.1 frames for the bench's raw sockets (the ceiling publisher and the shared
// subscriber): no MQTT library, not even ours, so that the ceiling measures the broker and the
// socket and nothing else. Only the few packets those two need.

/** Bytes of a remaining-length varint for `n`. */
export function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    buf[pos++] = b;
  } while (n > 0);
  return pos;
}

/** CONNECT, MQTT 3.1.1, clean session, no will, no credentials. */
export function connectFrame(clientId: string, keepAliveSec: number): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const rl = 10 + 2 + id.length;
  const buf = Buffer.alloc(1 + varintSize(rl) + rl);
  let p = writeVarint(buf, 1, rl);
  buf[0] = 0x10;
  p += buf.write('\x00\x04MQTT\x04\x02', p, 'latin1'); // protocol name, level 4, flags: clean session
  buf.writeUInt16BE(keepAliveSec, p);
  buf.writeUInt16BE(id.length, p + 2);
  id.copy(buf, p + 4);
  return buf;
}

/** SUBSCRIBE one filter. */
export function subscribeFrame(packetId: number, filter: string, qos: number): Buffer {
  const f = Buffer.from(filter, 'utf8');
  const rl = 2 + 2 + f.length + 1;
  const buf = Buffer.alloc(1 + varintSize(rl) + rl);
  buf[0] = 0x82;
  const p = writeVarint(buf, 1, rl);
  buf.writeUInt16BE(packetId, p);
  buf.writeUInt16BE(f.length, p + 2);
  f.copy(buf, p + 4);
  buf[p + 4 + f.length] = qos;
  return buf;
}

export const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** Size of a PUBLISH frame; the payload starts at `size - payloadLength`. */
export function publishSize(topicLength: number, payloadLength: number, qos: number): number {
  const rl = 2 + topicLength + (qos ? 2 : 0) + payloadLength;
  return 1 + varintSize(rl) + rl;
}

/** Writes a PUBLISH at `pos`; returns the end. */
export function writePublishFrame(buf: Buffer, pos: number, topic: Buffer, payload: Uint8Array, qos: number, packetId: number): number {
  const rl = 2 + topic.length + (qos ? 2 : 0) + payload.length;
  buf[pos] = 0x30 | (qos << 1);
  pos = writeVarint(buf, pos + 1, rl);
  buf.writeUInt16BE(topic.length, pos);
  topic.copy(buf, pos + 2);
  pos += 2 + topic.length;
  if (qos) {
    buf.writeUInt16BE(packetId, pos);
    pos += 2;
  }
  buf.set(payload, pos);
  return pos + payload.length;
}

/** The packet id of the seq-th QoS 1 message of a run: 1 … 65535, wrapping (the window is far smaller). */
export function packetIdOf(seq: number): number {
  return (seq % 65535) + 1;
}

// ---- the bench payload: 64 bytes, the same for every client --------------------------------------
// [0, 4)  sequence number, uint32 LE: what the subscriber counts and checks for gaps
// [4, 12) publish-call time, float64 LE, ms on process.hrtime's clock (latency runs; 0 otherwise)
// [12, 64) filler

export const PAYLOAD_BYTES = 64;
export const SEQ_OFFSET = 0;
export const TS_OFFSET = 4;

/** A payload template: zero sequence and time, a fixed filler. */
export function payloadTemplate(): Buffer {
  const b = Buffer.alloc(PAYLOAD_BYTES);
  for (let i = 12; i < PAYLOAD_BYTES; i++) b[i] = 0x61 + (i % 26);
  return b;
}

/**
 * Milliseconds on process.hrtime's monotonic clock, which every thread of the process shares (the
 * subscriber is a worker thread; performance.now() has a different origin in each thread).
 */
export function hrMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
