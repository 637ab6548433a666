// Resumable decoder for every packet a server sends a client. Bytes arrive in any chunking, one at
// a time included; each complete packet lands in ONE reused record (the decoder's own fields).
// Zero allocation: a packet that lies whole in the pushed chunk is parsed in place (the record
// points into the caller's bytes); otherwise its body is gathered in the fixed receive buffer.
// A PUBLISH larger than that buffer is streamed: its topic is gathered in the buffer and its payload
// is reported in fragments straight from the input (never dropped silently: case 3, fault 10).
// Every check that the bytes seen so far allow is made at once, so bad input fails early.
import {
  BAD_CONNACK_FLAGS,
  BAD_FLAGS,
  BAD_LENGTH,
  BAD_QOS,
  BAD_RETURN_CODE,
  BAD_TOPIC_LENGTH,
  CONNACK,
  DUP_ON_QOS0,
  DUPLICATE_CONNACK,
  EMPTY_TOPIC,
  EV_FRAGMENT,
  EV_PACKET,
  MAX_REMAINING_LENGTH,
  MESSAGE_TOO_LARGE,
  PACKET_BEFORE_CONNACK,
  PACKET_ID_ZERO,
  PACKET_TOO_LARGE,
  PINGRESP,
  PUBLISH,
  PUBREL,
  REMAINING_LENGTH_NOT_MINIMAL,
  REMAINING_LENGTH_TOO_LONG,
  RESERVED_PACKET_TYPE,
  SESSION_PRESENT_ON_ERROR,
  SUBACK,
  TOPIC_TOO_LARGE,
  UNEXPECTED_PACKET,
} from './constants.js';
import { checkUtf8, decodeUtf8, fail } from './utf8.js';

// States: small integers, compared in one if-chain (smaller than a switch in XS bytecode).
const S_HEADER = 0; // waiting for a first byte
const S_LENGTH = 1; // reading the remaining length
const S_BODY = 2; // gathering a body into the receive buffer
const S_PUB_HEAD = 3; // gathering the variable header of a PUBLISH larger than the buffer
const S_PUB_PAYLOAD = 4; // streaming that PUBLISH's payload

/** Bit per packet type only a client may send: CONNECT 1, SUBSCRIBE 8, UNSUBSCRIBE 10, PINGREQ 12, DISCONNECT 14. */
const CLIENT_ONLY = (1 << 1) | (1 << 8) | (1 << 10) | (1 << 12) | (1 << 14);

const EMPTY = new Uint8Array(0);

/**
 * Decodes server→client packets (CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK,
 * UNSUBACK, PINGRESP). Use:
 * ```
 * while (length > 0) {
 *   const ev = dec.push(bytes, offset, length);
 *   offset += dec.consumed; length -= dec.consumed;
 *   if (ev === EV_PACKET || ev === EV_FRAGMENT) handle(dec);
 *   else if (ev === NEED_MORE) break;
 *   else { close(ev); break; } // a negative status: the peer broke the protocol
 * }
 * ```
 * The record's `topicData` and `data` refer to the receive buffer or to the pushed bytes: they are
 * valid until the next push.
 */
export class Decoder {
  // ---- The record: what the last EV_PACKET / EV_FRAGMENT carries ----
  /** Packet type (CONNACK, PUBLISH, …) and the 4 flag bits of its first byte. */
  type = 0;
  flags = 0;
  /** PUBLISH: QoS, DUP and RETAIN. */
  qos = 0;
  dup = false;
  retain = false;
  /** PUBLISH QoS 1/2, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK. */
  packetId = 0;
  /** CONNACK. */
  returnCode = 0;
  sessionPresent = false;
  /** PUBLISH: the topic's UTF-8 bytes are topicData[topicOffset, topicOffset + topicLength). */
  topicData: Uint8Array = EMPTY;
  topicOffset = 0;
  topicLength = 0;
  /**
   * PUBLISH: payload bytes data[payloadOffset, payloadOffset + payloadLength). They start at
   * `fragmentOffset` within a message of `messageLength` bytes: for EV_PACKET, 0 and payloadLength;
   * for EV_FRAGMENT, the last piece ends at messageLength. SUBACK: the return codes, a byte each.
   */
  data: Uint8Array = EMPTY;
  payloadOffset = 0;
  payloadLength = 0;
  fragmentOffset = 0;
  messageLength = 0;

  /** Input bytes the last push consumed. */
  consumed = 0;

  // The record is also the Message a Client hands its handlers (src/client.ts): the fields above
  // read the bytes in place; these three allocate, so only when asked for. One record, no wrapper:
  // on a device each getter of a wrapper was flash (preloaded slots) for a field read.
  /** A PUBLISH's topic as a string (allocates). */
  get topic(): string {
    return decodeUtf8(this.topicData, this.topicOffset, this.topicOffset + this.topicLength);
  }
  /** The payload (or this piece of it) as a view (allocates the view; valid only during the call). */
  get payload(): Uint8Array {
    return this.data.subarray(this.payloadOffset, this.payloadOffset + this.payloadLength);
  }
  /** The payload decoded as UTF-8, invalid sequences as U+FFFD (allocates). */
  get text(): string {
    return decodeUtf8(this.data, this.payloadOffset, this.payloadOffset + this.payloadLength);
  }

  // ---- Per connection ----
  /** True until a CONNACK arrives: any other packet first is PACKET_BEFORE_CONNACK (case 6). */
  awaitingConnack = true;

  // `declare`: assigned in the constructor. A plain declaration is also emitted as a class field
  // (ES2022 define semantics): bytes in the bundle for a property the constructor sets anyway.
  /** The fixed receive buffer: partial packets, and the topic of a streamed PUBLISH. */
  declare readonly buffer: Uint8Array;
  /** Largest PUBLISH (remaining length) accepted; a larger one is MESSAGE_TOO_LARGE before its body. */
  declare readonly maxMessageSize: number;

  // The state (S_*), or the remote status (negative) that ended this connection, until reset(): one
  // field, not two (a property is 32 B of RAM on lin).
  private _st = S_HEADER;
  private _rl = 0; // remaining length
  private _got = 0; // S_LENGTH: length bytes read; S_BODY, S_PUB_HEAD: bytes in buffer
  private _need = 0; // S_PUB_HEAD: header bytes wanted; S_PUB_PAYLOAD: payload bytes left

  /**
   * @param buffer the receive buffer, or its size (at least 16 bytes): it bounds the largest
   *   non-PUBLISH packet and a streamed PUBLISH's topic (plus 4). Given, it may be a view of an
   *   ArrayBuffer shared with other buffers (Session's: on XS an ArrayBuffer is RAM of its own).
   * @param maxMessageSize largest PUBLISH accepted (default: the largest MQTT allows).
   */
  constructor(buffer: number | Uint8Array, maxMessageSize = MAX_REMAINING_LENGTH) {
    if (typeof buffer !== 'object') buffer = new Uint8Array(buffer >= 16 ? buffer : 0);
    if (!(buffer.length >= 16)) fail('receive buffer under 16 bytes', 1);
    this.buffer = buffer;
    this.maxMessageSize = maxMessageSize;
  }

  /** Starts a new connection: forgets any partial packet and past error, awaits CONNACK. */
  reset(): void {
    this._st = S_HEADER;
    this.awaitingConnack = true;
  }

  /**
   * Consumes bytes[offset, offset + length) up to the end of at most one packet or fragment, and
   * sets `consumed`. Returns EV_PACKET, EV_FRAGMENT, NEED_MORE (0: all consumed, nothing complete),
   * or a negative remote status (see constants.ts) that sticks until reset(). Never throws.
   */
  push(bytes: Uint8Array, offset: number, length: number): number {
    // (`this.x` throughout, not a local alias of `this`: in XS bytecode `this` is one byte and a local
    // two, and `d.` had cost the device 104 B over push, _parse and _publish.)
    const start = offset;
    const end = offset + length;
    let s = this._st < 0 ? this._st : 0;
    while (!s && offset < end) {
      const st = this._st;
      if (st === S_HEADER) {
        // The first byte: everything it can tell is rejected before reading further. (Inline, as
        // the length's checks below: on a device each function is flash.)
        const b = bytes[offset++];
        const type = b >> 4;
        const flags = b & 15;
        const qos = (flags >> 1) & 3;
        this.type = type;
        this.flags = flags;
        this._st = S_LENGTH;
        this._rl = this._got = 0;
        if (!type || type === 15) s = RESERVED_PACKET_TYPE; // case 4
        else if (type === CONNACK) {
          if (!this.awaitingConnack) s = DUPLICATE_CONNACK; // case 6
        } else if ((CLIENT_ONLY >> type) & 1) s = UNEXPECTED_PACKET; // case 5
        else if (this.awaitingConnack) s = PACKET_BEFORE_CONNACK; // case 6 [MQTT-3.2.0-1]
        if (!s && type !== PUBLISH) {
          if (flags !== (type === PUBREL ? 2 : 0)) s = BAD_FLAGS; // cases 7, 29, 32, 34, 37, 38 [MQTT-2.2.2-2]
        } else if (!s) {
          this.qos = qos;
          this.dup = flags > 7;
          this.retain = (flags & 1) > 0;
          // Any QoS up to 2 is taken, whatever was granted: a broker that kept a session from an
          // earlier run delivers at the QoS it kept, and may publish before the SUBACK (§3.8.4).
          // Case 27's [MQTT-3.8.4-6] binds the broker; refusing would loop on the resend forever.
          if (qos > 2) s = BAD_QOS; // case 12 [MQTT-3.3.1-4]
          else if (flags > 7 && !qos) s = DUP_ON_QOS0; // case 14 [MQTT-3.3.1-2]
        }
      } else if (st === S_LENGTH) {
        const b = bytes[offset++];
        // This byte's weight, 128 ** _got, from the count of those before it (no field: 32 B of RAM).
        const rl = (this._rl += (b & 127) << (7 * this._got));
        if (b > 127) {
          if (++this._got === 4) s = REMAINING_LENGTH_TOO_LONG; // case 1: close on the 4th byte
        } else if (!b && this._got) s = REMAINING_LENGTH_NOT_MINIMAL; // case 2
        else {
          // The remaining length against the type; then gathering or streaming.
          const type = this.type;
          this._st = S_BODY;
          this._got = 0;
          if (type === PUBLISH) {
            if (rl > this.maxMessageSize) s = MESSAGE_TOO_LARGE; // case 3 [MQTT-4.8.0-2]
            else if (rl < 3) s = BAD_LENGTH; // no room for a topic
            else if (rl > this.buffer.length) {
              this._st = S_PUB_HEAD;
              this._need = 2;
            }
          } else if (type === SUBACK) s = rl < 3 ? BAD_LENGTH : rl > this.buffer.length ? PACKET_TOO_LARGE : 0; // cases 3, 34
          else if (rl !== (type === PINGRESP ? 0 : 2)) s = BAD_LENGTH; // cases 8, 30, 37, 38
          if (!s && this._st === S_BODY && end - offset >= rl) {
            // The whole body is in this chunk: parse it where it lies, no copy.
            s = this._parse(bytes, offset);
            offset += rl;
          }
        }
      } else if (st === S_PUB_PAYLOAD) {
        let n = end - offset;
        if (n > this._need) n = this._need;
        this.data = bytes;
        this.payloadOffset = offset;
        this.payloadLength = n;
        this.fragmentOffset = this.messageLength - this._need;
        if (!(this._need -= n)) this._st = S_HEADER;
        offset += n;
        s = EV_FRAGMENT;
      } else {
        // S_BODY or S_PUB_HEAD: gather into the buffer. A byte loop, not set(subarray()): a view
        // per chunk would allocate.
        const buf = this.buffer;
        const want = st === S_BODY ? this._rl : this._need;
        let g = this._got;
        while (g < want && offset < end) buf[g++] = bytes[offset++];
        this._got = g;
        if (g < want) break;
        if (st === S_BODY) s = this._parse(buf, 0);
        else if (want === 2) {
          // A streamed PUBLISH's topic length is known: its header must fit the buffer and the packet.
          const tl = (buf[0] << 8) | buf[1];
          this._need = 2 + tl + (this.qos ? 2 : 0);
          s = !tl ? EMPTY_TOPIC : 2 + tl > this._rl ? BAD_TOPIC_LENGTH : this._need > buf.length ? TOPIC_TOO_LARGE : 0; // cases 15, 22, 3
        } else if ((s = this._publish(buf, 0)) >= 0) {
          this._need = this.messageLength = this._rl - s;
          this._st = S_PUB_PAYLOAD;
          s = 0;
        }
      }
    }
    this.consumed = offset - start;
    if (s < 0) this._st = s;
    return s;
  }

  /** Parses a whole body of `rl` bytes at data[p] into the record. Returns EV_PACKET or a status. */
  private _parse(data: Uint8Array, p: number): number {
    const type = this.type;
    const rl = this._rl;
    this._st = S_HEADER;
    this.data = data;
    if (type === PINGRESP) return EV_PACKET; // no body: read nothing
    const a = data[p];
    const b = data[p + 1];
    if (type === PUBLISH) {
      const h = this._publish(data, p);
      if (h < 0) return h;
      this.payloadOffset = p + h;
      this.payloadLength = this.messageLength = rl - h;
      this.fragmentOffset = 0;
    } else if (type === CONNACK) {
      if (a > 1) return BAD_CONNACK_FLAGS; // case 9 [MQTT-3.2.2.1]
      if (b > 5) return BAD_RETURN_CODE; // case 11
      if (a && b) return SESSION_PRESENT_ON_ERROR; // case 10 [MQTT-3.2.2-4]
      this.sessionPresent = a > 0;
      this.returnCode = b;
      this.awaitingConnack = false;
    } else {
      if (!(this.packetId = (a << 8) | b)) return PACKET_ID_ZERO; // cases 28, 34 [MQTT-2.3.1-1]
      this.payloadOffset = p + 2;
      this.payloadLength = rl - 2;
      // SUBACK return codes: 0, 1, 2 or 0x80 [MQTT-3.9.3-2] (case 33).
      for (let i = p + 2; i < p + rl; i++) if (data[i] > 2 && data[i] !== 0x80) return BAD_RETURN_CODE;
    }
    return EV_PACKET;
  }

  /**
   * Checks a PUBLISH variable header at data[p] (packet of this._rl bytes); records its topic and
   * packet id. Returns the header's length (the payload follows) or a status.
   */
  private _publish(data: Uint8Array, p: number): number {
    const tl = (data[p] << 8) | data[p + 1];
    const h = 2 + tl + (this.qos ? 2 : 0);
    const s =
      2 + tl > this._rl
        ? BAD_TOPIC_LENGTH // case 22
        : !tl
          ? EMPTY_TOPIC // case 15 [MQTT-4.7.3-1]
          : h > this._rl
            ? BAD_LENGTH // case 23: no room for the packet id
            : checkUtf8(data, p + 2, p + 2 + tl, true); // cases 16–21
    if (s) return s; // before reading on: the packet id may lie beyond the packet
    this.topicData = data;
    this.topicOffset = p + 2;
    this.topicLength = tl;
    this.packetId = this.qos ? (data[h + p - 2] << 8) | data[h + p - 1] : 0;
    return this.qos && !this.packetId ? PACKET_ID_ZERO : h; // case 13 [MQTT-2.3.1-1]
  }
}
