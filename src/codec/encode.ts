// Encoders for every packet a client sends, into the caller's buffer at `pos`. Each returns the
// offset after the packet, or NO_MEMORY when the buffer is too small, in which case nothing of the
// packet is written. Misuse (a wildcard in a topic, QoS 3, packet id 0, …) throws TypeError or
// RangeError at once, as ECMA-419 APIs do; the packet is then not written either (bytes past `pos`
// may have been scribbled on, `buf[pos]` is not touched).
//
// One body function per packet both sizes (`buf` null: validate and advance `pos`) and writes, so
// the two can never disagree (coreMQTT's size-then-serialize split). PUBLISH, the hot path, is
// written in one pass: its body's size lies between its all-ASCII size `lo` and a worst case `hi` (a
// UTF-16 code unit is at most 3 bytes); when the worst case fits, the body is written after a length
// prefix sized for `lo` and moved right in the rare case it came out longer (copyWithin: no
// allocation). Near the end of the buffer it is sized exactly first, so that NO_MEMORY is exact.
import { MAX_REMAINING_LENGTH, NO_MEMORY, PUBACK, PUBCOMP, PUBREL } from './constants.js';
import { sizeOfVarint, writeVarint } from './varint.js';
import { bound, checkUtf8, utf8, fail, STRING, STR_DATA, STR_FILTER, STR_TEXT, STR_TOPIC, XS } from './utf8.js';

/** Binary data: bytes as they are, or a string sent as its UTF-8 bytes. */
export type Data = Uint8Array | string;
type Out = Uint8Array | null; // null: size only

export interface WillOptions {
  topic: string;
  payload: Data;
  qos?: number;
  retain?: boolean;
}

export interface ConnectOptions {
  /** Default '': with a clean session the broker assigns one [MQTT-3.1.3-6]. */
  clientId?: string;
  /** Clean session (default true). A persistent session (false) needs a non-empty clientId. */
  clean?: boolean;
  /** Keepalive in seconds, 0 to 65535 (default 60; 0 turns keepalive off). */
  keepAliveSec?: number;
  username?: string;
  password?: Data;
  will?: WillOptions;
}

/** Protocol name "MQTT" and level 4 [MQTT-3.1.2-1/2]. A typed array: set() copies it twice as fast. */
const PROTOCOL = new Uint8Array([0, 4, 0x4d, 0x51, 0x54, 0x54, 4]);

/** Returns `qos`; throws RangeError unless it is 0, 1 or 2. */
export function checkQos(qos: number): number {
  if (!(qos === 0 || qos === 1 || qos === 2)) fail('QoS must be 0, 1 or 2', 1); // [MQTT-3.3.1-4]
  return qos;
}

/** Returns `id`; throws RangeError unless it is 1..65535. */
export function checkPacketId(id: number): number {
  // [MQTT-2.3.1-1]: a non-zero 16-bit id.
  if (!(id >= 1 && id <= 65535 && id === (id | 0))) fail('packet id must be 1..65535', 1);
  return id;
}

function putU16(buf: Out, pos: number, v: number): number {
  if (buf) {
    buf[pos] = v >> 8;
    buf[pos + 1] = v;
  }
  return pos + 2;
}

function putData(buf: Out, pos: number, d: Data, kind: number): number {
  // A string, or on XS the String object the session boxed it in (utf8.ts): read as UTF-16.
  if (typeof d === STRING || (XS && d instanceof String)) return buf ? utf8(d as string, kind, buf, pos) : pos + utf8(d as string, kind);
  // Else a Uint8Array (a Buffer too; of any realm, so no instanceof). Anything else (an ArrayBuffer, a
  // number) would be sized as NaN.
  d = d as Uint8Array;
  if (!(d.length >= 0)) fail('not a string or Uint8Array');
  // A topic given as bytes (pre-encoded once, the fastest way to publish) is checked as one.
  if (kind === STR_TOPIC && (!d.length || checkUtf8(d, 0, d.length, true))) fail('invalid topic bytes');
  if (buf) buf.set(d, pos);
  return pos + d.length;
}

/**
 * A field with a 2-byte length prefix: a string or binary data of at most 65535 bytes.
 * Sizing checks the limit; writing then needs one pass: the bytes first, their length after.
 */
function putField(buf: Out, pos: number, d: Data, kind: number): number {
  const end = putData(buf, pos + 2, d, kind);
  if (end - pos > 65537) fail('field over 65535 bytes', 1);
  putU16(buf, pos, end - pos - 2);
  return end;
}

/** Total bytes of a packet whose remaining length is `rl`. */
function total(rl: number): number {
  if (rl > MAX_REMAINING_LENGTH) fail('packet over 268435455 bytes', 1);
  return 1 + sizeOfVarint(rl) + rl;
}

/** Writes the fixed header if the whole packet fits; returns where the body goes, or NO_MEMORY. */
function head(buf: Uint8Array, pos: number, first: number, rl: number): number {
  if (pos + total(rl) > buf.length) return NO_MEMORY;
  buf[pos] = first;
  return writeVarint(buf, pos + 1, rl);
}

/** Bytes of the CONNECT packet for `o`. Throws TypeError/RangeError on invalid options. */
export function sizeOfConnect(o: ConnectOptions): number {
  return writeConnect(null, 0, o);
}

/**
 * Writes CONNECT (protocol "MQTT", level 4) at `pos`. Returns the end offset, or NO_MEMORY; with
 * `buf` null, the packet's size (sizeOfConnect). Throws TypeError/RangeError on invalid options.
 */
export function writeConnect(buf: Uint8Array | null, pos: number, o: ConnectOptions): number {
  const w = o.will;
  const user = o.username;
  const pass = o.password;
  const clean = o.clean !== false;
  const keepAlive = o.keepAliveSec ?? 60;
  if (!(keepAlive >= 0 && keepAlive <= 65535 && keepAlive === (keepAlive | 0))) {
    fail('keepAliveSec must be 0..65535', 1);
  }
  const id = o.clientId ?? '';
  if (typeof id !== STRING) fail('clientId must be a string');
  if (!id && !clean) fail('a persistent session needs a client id'); // [MQTT-3.1.3-7]
  if (pass !== undefined && user === undefined) fail('a password needs a username'); // [MQTT-3.1.2-22]
  // Sized (`out` null), then written: CONNECT is sent once a connection, where code size matters
  // more than time. Two passes of one loop, not a body function called twice: on a device each
  // function is flash.
  for (let out: Out = null, p = 0; ; out = buf) {
    if (out) {
      out.set(PROTOCOL, p);
      out[p + 7] =
        (clean ? 2 : 0) |
        (w ? 4 | ((w.qos || 0) << 3) | (w.retain ? 32 : 0) : 0) |
        (pass !== undefined ? 64 : 0) |
        (user !== undefined ? 128 : 0);
      putU16(out, p + 8, keepAlive);
    }
    p = putField(out, p + 10, id, STR_TEXT); // '' with a clean session: the broker assigns one [MQTT-3.1.3-6]
    if (w) {
      checkQos(w.qos || 0);
      p = putField(out, putField(out, p, w.topic, STR_TOPIC), w.payload, STR_DATA);
    }
    if (user !== undefined) p = putField(out, p, user, STR_TEXT);
    if (pass !== undefined) p = putField(out, p, pass, STR_DATA);
    if (out) return p;
    if (!buf) return total(p);
    if ((p = head(buf, pos, 0x10, p)) < 0) return p;
  }
}

function publishBody(buf: Out, pos: number, topic: Data, payload: Data | null, qos: number, id: number): number {
  pos = putField(buf, pos, topic, STR_TOPIC);
  if (qos) pos = putU16(buf, pos, id);
  return payload ? putData(buf, pos, payload, STR_DATA) : pos;
}

/**
 * Bytes of a PUBLISH; with `max`, NO_MEMORY when that is more than `max`. Throws TypeError for an
 * invalid topic, RangeError for QoS or size. A string's UTF-16 length is a lower bound of its UTF-8
 * bytes, so one too long for `max` (or for MQTT) is refused before it is scanned: a 300 MB string
 * is not read for seconds to be refused.
 */
export function sizeOfPublish(topic: Data, payload: Data | null, qos: number, max?: number): number {
  const n = total(2 + bound(topic) + (checkQos(qos) ? 2 : 0) + bound(payload)) > max! ? NO_MEMORY : total(publishBody(null, 0, topic, payload, qos, 0));
  return n > max! ? NO_MEMORY : n;
}

/**
 * Writes PUBLISH at `pos`: the topic (a string, UTF-8-encoded straight into `buf`, or its UTF-8
 * bytes), then the payload (bytes, or a string as UTF-8; null for none). `packetId` is used for
 * QoS 1 and 2 only. Returns the end offset, or NO_MEMORY (nothing written). Allocates nothing.
 * Throws TypeError (topic empty, with a wildcard, U+0000 or a lone surrogate; DUP on QoS 0) or
 * RangeError (QoS not 0..2, packet id not 1..65535, topic over 65535 bytes).
 */
export function writePublish(
  buf: Uint8Array,
  pos: number,
  topic: Data,
  payload: Data | null,
  qos: number,
  retain: boolean,
  dup: boolean,
  packetId: number,
): number {
  if (checkQos(qos)) checkPacketId(packetId);
  else if (dup) fail('DUP on a QoS 0 PUBLISH'); // [MQTT-3.3.1-2]
  const first = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  // Each field's length read once (under XS a string's length costs a box unless the session boxed
  // it: utf8.ts): the all-ASCII size `lo`, and three times that as the worst case (a UTF-16 unit is
  // at most 3 bytes of UTF-8). Bytes are tripled too, so a binary payload over a third of the room
  // left is sized exactly first: a second look at the topic, no allocation.
  const lo = 2 + bound(topic) + (qos ? 2 : 0) + bound(payload);
  const most = 3 * lo;
  if (!(most <= MAX_REMAINING_LENGTH && pos + 1 + sizeOfVarint(most) + most <= buf.length)) {
    // Near the end of the buffer: size exactly, so that NO_MEMORY is exact (a string too long by
    // its UTF-16 length alone is refused before it is scanned).
    const n = sizeOfPublish(topic, payload, qos, buf.length - pos);
    if (n < 0) return n;
  }
  // The body goes after a length prefix sized for its all-ASCII size: never later than its place.
  const b = pos + 1 + sizeOfVarint(lo);
  const end = publishBody(buf, b, topic, payload, qos, packetId);
  // The fixed header before the body: moved right when multi-byte characters pushed its length past
  // the prefix's size.
  const rl = end - b;
  const shift = pos + 1 + sizeOfVarint(rl) - b;
  if (shift) buf.copyWithin(b + shift, b, end);
  buf[pos] = first;
  writeVarint(buf, pos + 1, rl);
  return end + shift;
}

/**
 * Writes PUBACK, PUBREC, PUBREL or PUBCOMP (`type`) for `packetId`: 4 bytes.
 * Returns the end offset, or NO_MEMORY. Throws RangeError for packet id 0 or another type.
 */
export function writeAck(buf: Uint8Array, pos: number, type: number, packetId: number): number {
  if (!(type >= PUBACK && type <= PUBCOMP)) fail('not an ack type', 1);
  checkPacketId(packetId);
  pos = head(buf, pos, (type << 4) | (type === PUBREL ? 2 : 0), 2); // PUBREL's flags are 0010 [MQTT-3.6.1-1]
  return pos < 0 ? pos : putU16(buf, pos, packetId);
}

/**
 * Writes SUBSCRIBE: `filters[i]` requested at `qos[i]`. Returns the end offset, or NO_MEMORY.
 * Throws TypeError (no filter; an invalid one such as `a/#/b`, `a#`, `a+/b`, `""`) or
 * RangeError (QoS, packet id).
 */
export function writeSubscribe(buf: Uint8Array, pos: number, packetId: number, filters: ArrayLike<string>, qos: ArrayLike<number>): number {
  return writeFilters(buf, pos, 0x82, packetId, filters, qos); // flags 0010 [MQTT-3.8.1-1]
}

/** Writes UNSUBSCRIBE. Returns the end offset, or NO_MEMORY. Throws as writeSubscribe. */
export function writeUnsubscribe(buf: Uint8Array, pos: number, packetId: number, filters: ArrayLike<string>): number {
  return writeFilters(buf, pos, 0xa2, packetId, filters, null); // flags 0010 [MQTT-3.10.1-1]
}

/**
 * Writes SUBSCRIBE (`first` 0x82, with `qos`) or UNSUBSCRIBE (0xa2, `qos` null): as those two. With
 * `buf` null, checks the same and returns the packet's size.
 */
export function writeFilters(buf: Uint8Array | null, pos: number, first: number, id: number, filters: ArrayLike<string>, qos: ArrayLike<number> | null): number {
  // Sized (`out` null), then written: (UN)SUBSCRIBE is rare, so code size counts more than time
  // here. Two passes of one loop, not a body function called twice: on a device each function is flash.
  if (!filters.length) fail('no topic filter'); // [MQTT-3.8.3-3] [MQTT-3.10.3-2]
  for (let out: Out = null, p = 0; ; out = buf) {
    p = putU16(out, p, checkPacketId(id));
    for (let i = 0; i < filters.length; i++) {
      p = putField(out, p, filters[i], STR_FILTER);
      if (qos) {
        if (out) out[p] = checkQos(qos[i]);
        else checkQos(qos[i]);
        p++;
      }
    }
    if (out) return p;
    if (!buf) return total(p);
    if ((p = head(buf, pos, first, p)) < 0) return p;
  }
}

/** Writes PINGREQ (`C0 00`). Returns the end offset, or NO_MEMORY. */
export function writePingreq(buf: Uint8Array, pos: number): number {
  return head(buf, pos, 0xc0, 0);
}

/** Writes DISCONNECT (`E0 00`). Returns the end offset, or NO_MEMORY. */
export function writeDisconnect(buf: Uint8Array, pos: number): number {
  return head(buf, pos, 0xe0, 0);
}
