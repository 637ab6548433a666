// Encoders for every packet a client sends. Each packet is sized first, then written into the
// caller's buffer at `pos` (coreMQTT's MQTT_GetPublishPacketSize / MQTT_SerializePublish split).
// One body function per packet does both: with `buf` null it only advances `pos` (sizing and
// validating), with a buffer it writes — so the two can never disagree.
// A write returns the offset after the packet, or NO_MEMORY when the buffer is too small, in which
// case nothing was written. Misuse (a wildcard in a topic, QoS 3, packet id 0, …) throws
// TypeError/RangeError at once, as ECMA-419 APIs do, also before anything is written.
import { MAX_REMAINING_LENGTH, NO_MEMORY, PUBREL } from './constants.js';
import { sizeOfVarint, writeVarint } from './varint.js';
import { utf8, rangeError, typeError, STR_DATA, STR_FILTER, STR_TEXT, STR_TOPIC } from './utf8.js';

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
  clientId: string;
  /** Clean session (default true). A persistent session (false) needs a non-empty clientId. */
  clean?: boolean;
  /** Keepalive in seconds, 0 to 65535 (default 60; 0 turns keepalive off). */
  keepAliveSec?: number;
  username?: string;
  password?: Data;
  will?: WillOptions;
}

/** Protocol name "MQTT" and level 4 [MQTT-3.1.2-1/2]. */
const PROTOCOL = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4];

function checkQos(qos: number): number {
  if (!(qos === 0 || qos === 1 || qos === 2)) rangeError('QoS must be 0, 1 or 2'); // [MQTT-3.3.1-4]
  return qos;
}

function checkPacketId(id: number): number {
  // [MQTT-2.3.1-1]: a non-zero 16-bit id.
  if (!(id >= 1 && id <= 65535 && id === (id | 0))) rangeError('packet id must be 1..65535');
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
  if (typeof d === 'string') return buf ? utf8(d, kind, buf, pos) : pos + utf8(d, kind);
  if (buf) buf.set(d, pos);
  return pos + d.length;
}

/** A field with a 2-byte length prefix: a string or binary data of at most 65535 bytes. */
function putField(buf: Out, pos: number, d: Data, kind: number): number {
  const end = putData(null, pos + 2, d, kind);
  if (end - pos > 65537) rangeError('field over 65535 bytes');
  if (buf) putData(buf, putU16(buf, pos, end - pos - 2), d, kind);
  return end;
}

/** Total bytes of a packet whose remaining length is `rl`. */
function total(rl: number): number {
  if (rl > MAX_REMAINING_LENGTH) rangeError('packet over 268435455 bytes');
  return 1 + sizeOfVarint(rl) + rl;
}

/** Writes the fixed header if the whole packet fits; returns where the body goes, or NO_MEMORY. */
function head(buf: Uint8Array, pos: number, first: number, rl: number): number {
  if (pos + total(rl) > buf.length) return NO_MEMORY;
  buf[pos] = first;
  return writeVarint(buf, pos + 1, rl);
}

function connectBody(buf: Out, pos: number, o: ConnectOptions): number {
  const w = o.will;
  const user = o.username;
  const pass = o.password;
  const clean = o.clean !== false;
  const keepAlive = o.keepAliveSec ?? 60;
  if (!(keepAlive >= 0 && keepAlive <= 65535 && keepAlive === (keepAlive | 0))) {
    rangeError('keepAliveSec must be 0..65535');
  }
  if (!o.clientId && !clean) typeError('a persistent session needs a client id'); // [MQTT-3.1.3-7]
  if (pass !== undefined && user === undefined) typeError('a password needs a username'); // [MQTT-3.1.2-22]
  if (buf) {
    buf.set(PROTOCOL, pos);
    buf[pos + 7] =
      (clean ? 2 : 0) |
      (w ? 4 | ((w.qos || 0) << 3) | (w.retain ? 32 : 0) : 0) |
      (pass !== undefined ? 64 : 0) |
      (user !== undefined ? 128 : 0);
    putU16(buf, pos + 8, keepAlive);
  }
  pos = putField(buf, pos + 10, o.clientId, STR_TEXT);
  if (w) {
    checkQos(w.qos || 0);
    pos = putField(buf, putField(buf, pos, w.topic, STR_TOPIC), w.payload, STR_DATA);
  }
  if (user !== undefined) pos = putField(buf, pos, user, STR_TEXT);
  return pass !== undefined ? putField(buf, pos, pass, STR_DATA) : pos;
}

/** Bytes of the CONNECT packet for `o`. Throws TypeError/RangeError on invalid options. */
export function sizeOfConnect(o: ConnectOptions): number {
  return total(connectBody(null, 0, o));
}

/**
 * Writes CONNECT (protocol "MQTT", level 4) at `pos`.
 * Returns the end offset, or NO_MEMORY. Throws TypeError/RangeError on invalid options.
 */
export function writeConnect(buf: Uint8Array, pos: number, o: ConnectOptions): number {
  pos = head(buf, pos, 0x10, connectBody(null, 0, o));
  return pos < 0 ? pos : connectBody(buf, pos, o);
}

function publishBody(buf: Out, pos: number, topic: string, payload: Data | null, qos: number, id: number): number {
  pos = putField(buf, pos, topic, STR_TOPIC);
  if (qos) pos = putU16(buf, pos, id);
  return payload ? putData(buf, pos, payload, STR_DATA) : pos;
}

/** Bytes of a PUBLISH. Throws TypeError for an invalid topic, RangeError for QoS or size. */
export function sizeOfPublish(topic: string, payload: Data | null, qos: number): number {
  return total(publishBody(null, 0, topic, payload, checkQos(qos), 0));
}

/**
 * Writes PUBLISH at `pos`: the topic UTF-8-encoded straight into `buf`, then the payload (bytes,
 * or a string as UTF-8; null for none). `packetId` is used for QoS 1 and 2 only.
 * Returns the end offset, or NO_MEMORY. Allocates nothing.
 * Throws TypeError (topic empty, with a wildcard, U+0000 or a lone surrogate; DUP on QoS 0) or
 * RangeError (QoS not 0..2, packet id not 1..65535, topic over 65535 bytes).
 */
export function writePublish(
  buf: Uint8Array,
  pos: number,
  topic: string,
  payload: Data | null,
  qos: number,
  retain: boolean,
  dup: boolean,
  packetId: number,
): number {
  if (checkQos(qos)) checkPacketId(packetId);
  else if (dup) typeError('DUP on a QoS 0 PUBLISH'); // [MQTT-3.3.1-2]
  pos = head(buf, pos, 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), publishBody(null, 0, topic, payload, qos, 0));
  return pos < 0 ? pos : publishBody(buf, pos, topic, payload, qos, packetId);
}

/**
 * Writes PUBACK, PUBREC, PUBREL or PUBCOMP (`type`) for `packetId`: 4 bytes.
 * Returns the end offset, or NO_MEMORY. Throws RangeError for packet id 0.
 */
export function writeAck(buf: Uint8Array, pos: number, type: number, packetId: number): number {
  checkPacketId(packetId);
  pos = head(buf, pos, (type << 4) | (type === PUBREL ? 2 : 0), 2); // PUBREL's flags are 0010 [MQTT-3.6.1-1]
  return pos < 0 ? pos : putU16(buf, pos, packetId);
}

function filtersBody(buf: Out, pos: number, id: number, filters: ArrayLike<string>, qos: ArrayLike<number> | null): number {
  if (!filters.length) typeError('no topic filter'); // [MQTT-3.8.3-3] [MQTT-3.10.3-2]
  pos = putU16(buf, pos, checkPacketId(id));
  for (let i = 0; i < filters.length; i++) {
    pos = putField(buf, pos, filters[i], STR_FILTER);
    if (qos) {
      if (buf) buf[pos] = checkQos(qos[i]);
      else checkQos(qos[i]);
      pos++;
    }
  }
  return pos;
}

/**
 * Writes SUBSCRIBE: `filters[i]` requested at `qos[i]`. Returns the end offset, or NO_MEMORY.
 * Throws TypeError (no filter; an invalid one such as `a/#/b`, `a#`, `a+/b`, `""`) or
 * RangeError (QoS, packet id).
 */
export function writeSubscribe(buf: Uint8Array, pos: number, packetId: number, filters: ArrayLike<string>, qos: ArrayLike<number>): number {
  pos = head(buf, pos, 0x82, filtersBody(null, 0, packetId, filters, qos)); // flags 0010 [MQTT-3.8.1-1]
  return pos < 0 ? pos : filtersBody(buf, pos, packetId, filters, qos);
}

/** Writes UNSUBSCRIBE. Returns the end offset, or NO_MEMORY. Throws as writeSubscribe. */
export function writeUnsubscribe(buf: Uint8Array, pos: number, packetId: number, filters: ArrayLike<string>): number {
  pos = head(buf, pos, 0xa2, filtersBody(null, 0, packetId, filters, null)); // flags 0010 [MQTT-3.10.1-1]
  return pos < 0 ? pos : filtersBody(buf, pos, packetId, filters, null);
}

/** Writes PINGREQ (`C0 00`). Returns the end offset, or NO_MEMORY. */
export function writePingreq(buf: Uint8Array, pos: number): number {
  return head(buf, pos, 0xc0, 0);
}

/** Writes DISCONNECT (`E0 00`). Returns the end offset, or NO_MEMORY. */
export function writeDisconnect(buf: Uint8Array, pos: number): number {
  return head(buf, pos, 0xe0, 0);
}
