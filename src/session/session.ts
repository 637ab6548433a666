// The sans-IO MQTT 3.1.1 session: bytes in through receive(), bytes out through the `send` the host
// gives, time in through tick(nowMs) and out through nextDeadline(nowMs). No socket, no clock.
// QoS 1 and 2 messages live encoded in the outbox (./outbox.ts: the one table of our exchanges
// awaiting an acknowledgement, with their states) until their PUBACK or PUBREC. Nothing is allocated
// per message: the buffers are made here, once.
import {
  CONNACK,
  CONNACK_TIMEOUT,
  EV_FRAGMENT,
  EV_PACKET,
  KEEPALIVE_TIMEOUT,
  NEED_MORE,
  NOT_CONNECTED,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  QOS2_TABLE_FULL,
  SESSION_PRESENT_ON_CLEAN,
  SUBACK,
  UNEXPECTED_ACK,
  UNSUBACK,
  WOULD_BLOCK,
} from '../codec/constants.js';
import { Decoder } from '../codec/decoder.js';
import { checkQos, writeAck, writeConnect, writeFilters, writePublish } from '../codec/encode.js';
import type { ConnectOptions, Data } from '../codec/encode.js';
import { fail, STRING, XS } from '../codec/utf8.js';
import { Outbox, QUEUED, RELEASE, RELEASED, SENT, SUB, UNSUB } from './outbox.js';
import { checkSuback } from './suback.js';

export interface SessionOptions extends ConnectOptions {
  /** Receive buffer: the largest non-PUBLISH packet, and a streamed PUBLISH's topic (default 1024; 512 on XS). */
  rxBufferSize?: number;
  /** Largest incoming PUBLISH accepted; larger ones close the connection (default: any). */
  maxMessageSize?: number;
  /** Scratch buffer for QoS 0 publishes and control packets (default 1024; 512 on XS). */
  txBufferSize?: number;
  /** Bytes of the QoS 1/2 outbox ring (default 4096; 2048 on XS). */
  outboxBytes?: number;
  /** QoS 1/2 messages the outbox holds at most, queued, sent, or QoS 2 awaiting PUBCOMP (default 32; 16 on XS). */
  outboxMessages?: number;
  /** QoS 1/2 messages sent and not yet completed (PUBACK, PUBCOMP) at most (default 8). */
  inflightWindow?: number;
  /**
   * Incoming QoS 2 exchanges open at once (PUBREC sent, PUBREL not yet come) at most; past it the
   * connection closes (QOS2_TABLE_FULL). Default 1024; 32 on XS. Mosquitto's in-flight limit does not
   * bound them: it counts a message only until our PUBREC.
   */
  qos2Window?: number;
  /** CONNACK must come within this (default 10 s). */
  connackTimeoutMs?: number;
  /** PINGRESP must come within this after PINGREQ (default keepalive / 2). */
  pingTimeoutMs?: number;
}

/** What the session tells its owner. Called synchronously from receive()/tick()/publish(). */
export interface SessionEvents {
  /** Bytes for the link; false when it cannot take them now (nothing was taken). */
  send(bytes: Uint8Array, offset: number, length: number): boolean;
  /** CONNACK accepted. `sessionKept` is false when a persistent session was expected but lost (fault 4). */
  onConnected(sessionPresent: boolean, sessionKept: boolean): void;
  /** A message (EV_PACKET) or a piece of one (EV_FRAGMENT): read it from `session.message`. */
  onMessage(event: number): void;
  /** A QoS 1 message was acknowledged (PUBACK), a QoS 2 one completed (PUBCOMP). */
  onPublished(packetId: number): void;
  /** SUBACK: return codes codes[offset, offset + count), 0x80 for a refused filter (fault 8). */
  onSubscribed(packetId: number, codes: Uint8Array, offset: number, count: number): void;
  onUnsubscribed(packetId: number): void;
  /** The connection must end (a remote error, a timeout, a refusal): close the link. Once per connection. */
  onClose(status: number): void;
}

// Connection states, and every transition (the outbox's record states are in ./outbox.ts):
//   OFFLINE    → CONNECTING: start() sent CONNECT
//   CONNECTING → ONLINE: CONNACK accepted; → OFFLINE: refused, CONNACK_TIMEOUT, a remote error, linkLost()
//   ONLINE     → OFFLINE: a remote error, KEEPALIVE_TIMEOUT, disconnect(), linkLost()
// Within ONLINE: _pinging (a PINGREQ due, PINGRESP awaited; _pingOwed while the link would not take
// it) and _owed (an ack the link would not take: receive() reads nothing more until pump() sends it).
const OFFLINE = 0;
const CONNECTING = 1; // CONNECT sent, CONNACK awaited
const ONLINE = 2;

/** The first bytes of PINGREQ and DISCONNECT (`C0 00`, `E0 00`). */
const PINGREQ_BYTE = 0xc0;
const DISCONNECT_BYTE = 0xe0;

/** SUBSCRIBE/UNSUBSCRIBE exchanges open at once, at most. */
const MAX_PENDING_ACKS = 8;

export class Session {
  // `declare`: assigned in the constructor. A plain declaration is also emitted as a class field
  // (ES2022 define semantics): bytes in the bundle for a property the constructor sets anyway.
  /** The decoder; its record is the message being delivered in onMessage. */
  declare readonly message: Decoder;
  declare readonly options: SessionOptions;
  /** Connection state: 0 offline, 1 connecting, 2 online. */
  state = OFFLINE;

  declare private readonly _ev: SessionEvents;
  declare private readonly _tx: Uint8Array;
  /** Our exchanges awaiting an acknowledgement: the outgoing record table. */
  declare private readonly _ob: Outbox;
  // The incoming record table: QoS 2 ids between PUBREC and PUBREL (0: free), delivered once
  // however often they are resent.
  declare private readonly _rx2: Uint16Array;
  // The QoS each open SUBSCRIBE asked for, by packet id (allocation here is fine: rare).
  private readonly _want = new Map<number, number[]>();
  // Back-pressure: the acknowledgement the link would not take ((type << 16) | id, 0: none). Until
  // pump() sends it, receive() reads nothing more, so acks keep their order [MQTT-4.6.0-2] and no
  // more are owed than one: the host holds the bytes, and TCP's window makes the broker wait.
  private _owed = 0;
  private _pingOwed = false; // a PINGREQ is due and the link would not take it
  private _everConnected = false;

  declare private _keepAliveMs: number;
  private _lastSent = 0;
  private _lastRecv = 0;
  // When the wait for an answer began: CONNECTING, CONNACK's (CONNECT sent); _pinging, PINGRESP's (the
  // PINGREQ, or the latest bytes after it). Never both at once: one field, not two (32 B of RAM, lin).
  private _waitAt = 0;
  private _pinging = false;

  constructor(options: SessionOptions, events: SessionEvents) {
    this.options = options;
    this._ev = events;
    // Defaults on XS fit a board (an ESP8266 has about 40 KB for the whole app); on Node, a gateway.
    // One ArrayBuffer under the QoS 2 table (first: aligned), the transmit and the receive buffer:
    // on XS an ArrayBuffer of its own is 96 B of RAM more than a view of a shared one (lin).
    // Mosquitto 2 frees a message's in-flight slot at our PUBREC, and sends its PUBRELs behind the new
    // PUBLISHes: with a publisher 20 in flight it had 400 QoS 2 ids open with one subscriber (measured).
    const q2 = options.qos2Window ?? (XS ? 32 : 1024);
    const tx = options.txBufferSize ?? (XS ? 512 : 1024);
    const rx = options.rxBufferSize ?? (XS ? 512 : 1024);
    const b = new ArrayBuffer(q2 * 2 + tx + (rx > 0 ? rx : 0));
    this._rx2 = new Uint16Array(b, 0, q2);
    this._tx = new Uint8Array(b, q2 * 2, tx);
    this.message = new Decoder(new Uint8Array(b, q2 * 2 + tx), options.maxMessageSize);
    this._ob = new Outbox(options.outboxBytes ?? (XS ? 2048 : 4096), options.outboxMessages ?? (XS ? 16 : 32), MAX_PENDING_ACKS);
    this._keepAliveMs = (options.keepAliveSec ?? 60) * 1000;
    // Refuse bad options now, not at the first connection: CONNECT is sized (and checked) here, and
    // one larger than the transmit buffer would fail every attempt (NO_MEMORY, retried forever).
    if (writeConnect(null, 0, options) > tx) fail('CONNECT over txBufferSize', 1);
  }

  /** QoS 1/2 messages in the outbox (queued, or in flight until PUBACK / PUBCOMP). */
  get queued(): number {
    return this._ob.count;
  }

  /**
   * The link is up: sends CONNECT. Returns 0, WOULD_BLOCK (the link refused it), or NO_MEMORY (it no
   * longer fits: the options were changed after the constructor checked them).
   */
  start(nowMs: number): number {
    this.message.reset();
    const end = writeConnect(this._tx, 0, this.options);
    if (end < 0) return end;
    this.state = CONNECTING;
    this._waitAt = this._lastRecv = nowMs;
    this._pinging = this._pingOwed = false;
    return this._sendTx(end, nowMs) ? 0 : WOULD_BLOCK;
  }

  /** The link is gone. Messages in flight will be sent again first after the next CONNACK. */
  linkLost(): void {
    this.state = OFFLINE;
    this._owed = 0; // an ack for a dead connection: the broker resends what it was for
    const ob = this._ob;
    for (let i = 0; i < ob.end; i++) {
      const st = ob._st[i];
      if (st >= SUB) ob.free(i); // (UN)SUBSCRIBE: the client sends what is still owed (_want: cleared below)
      else if (st === SENT) {
        ob._st[i] = QUEUED;
        ob._buf[ob.at[i]] |= 8; // sent once: DUP from now on [MQTT-3.3.1-1]
      } else if (st === RELEASED) ob._st[i] = RELEASE;
    }
    this._want.clear();
  }

  /**
   * Bytes from the link. Returns how many it took, or the status that ended the connection
   * (onClose has been called: close the link). A partial packet is kept for the next call. It takes
   * fewer than `length` when an acknowledgement could not be sent (the link is full): keep the rest,
   * and give it again after pump() on the link's onWritable — stop reading meanwhile.
   */
  receive(bytes: Uint8Array, offset: number, length: number, nowMs: number): number {
    const dec = this.message;
    const start = offset;
    if (this._owed) this.pump(nowMs);
    if (length > 0 && !this._owed) {
      // Bytes prove the link alive, a piece of a packet too: a PINGRESP may be queued behind a
      // large message that is still arriving, so the ping's deadline starts again.
      this._lastRecv = nowMs;
      if (this._pinging) this._waitAt = nowMs;
    }
    while (length > 0 && this.state !== OFFLINE && !this._owed) {
      const ev = dec.push(bytes, offset, length);
      offset += dec.consumed;
      length -= dec.consumed;
      if (ev === NEED_MORE) break;
      const s = ev < 0 ? ev : this._handle(ev, nowMs);
      if (s < 0) return this._fail(s);
    }
    return offset - start;
  }

  /** Time passes: keepalive and timeouts. Returns 0, or the status that ended the connection. */
  tick(nowMs: number): number {
    // Due exactly when nextDeadline says 0: one reckoning of the timeouts serves both.
    if (this.nextDeadline(nowMs)) return 0;
    if (this.state === CONNECTING) return this._fail(CONNACK_TIMEOUT);
    if (this._pinging) return this._fail(KEEPALIVE_TIMEOUT);
    // [MQTT-3.1.2-23]: a packet within each keepalive period; also ping when the broker has been
    // silent that long, so a client that only publishes QoS 0 still finds a dead link (fault 5). A
    // full link is no error: pump() pings when it takes bytes again, within the same grace; a link
    // that takes nothing that long is dead (KEEPALIVE_TIMEOUT), as the broker allows 1.5 × keepalive.
    this._pinging = true;
    this._waitAt = nowMs;
    this._pingOwed = !this._sendTx(2, nowMs, PINGREQ_BYTE);
    return 0;
  }

  /** Ms until tick() has something to do, or -1 for never (offline, or keepalive off). */
  nextDeadline(nowMs: number): number {
    const connecting = this.state === CONNECTING;
    if (!connecting && (this.state !== ONLINE || !this._keepAliveMs)) return -1;
    // Elapsed ms as `(now - then) >>> 0`: wrap-safe on a tick that wraps at 2^32 (fault 12). Inline,
    // not a helper: on a device each function is flash. The two timeouts are read from the options
    // here (rare), not kept in fields: each field is 32 B of RAM on lin.
    const o = this.options;
    const ms = connecting
      ? (o.connackTimeoutMs ?? 10000) - ((nowMs - this._waitAt) >>> 0)
      : this._pinging
        ? (o.pingTimeoutMs ?? this._keepAliveMs / 2) - ((nowMs - this._waitAt) >>> 0)
        : this._keepAliveMs - Math.max((nowMs - this._lastSent) >>> 0, (nowMs - this._lastRecv) >>> 0);
    return ms > 0 ? ms : 0;
  }

  /**
   * Publishes. QoS 0 is sent now or refused (NOT_CONNECTED, WOULD_BLOCK). QoS 1 and 2 are encoded
   * into the outbox, sent when online and the window allows, and kept until their PUBACK (QoS 1) or
   * PUBREC (QoS 2, then PUBREL until PUBCOMP): onPublished at the end; offline they wait there.
   * Returns the packet id (QoS 1, 2), 0 (QoS 0 sent), or OUTBOX_FULL (no room now), NO_MEMORY (larger
   * than the whole outbox, or than the scratch buffer for QoS 0: it never fits), NOT_CONNECTED,
   * WOULD_BLOCK. Throws TypeError/RangeError for a bad topic or QoS.
   */
  publish(topic: Data, payload: Data | null, qos: number, retain: boolean, nowMs: number): number {
    if (XS) {
      // A string is boxed once here, and every read of it after that allocates nothing (utf8.ts):
      // 2 slots a string a publish, whatever its length.
      if (typeof topic === STRING) topic = Object(topic) as string;
      if (typeof payload === STRING) payload = Object(payload) as string;
    }
    if (checkQos(qos) === 0) {
      if (this.state !== ONLINE) return NOT_CONNECTED;
      const end = writePublish(this._tx, 0, topic, payload, 0, retain, false, 0);
      if (end < 0) return end;
      return this._sendTx(end, nowMs) ? 0 : WOULD_BLOCK;
    }
    const ob = this._ob;
    const i = ob._put(topic, payload, qos, retain);
    if (i < 0) return i;
    const id = ob.id[i];
    this.pump(nowMs);
    return id;
  }

  /**
   * Sends what the link would not take before: the acknowledgement and PINGREQ owed, then the outbox's QUEUED
   * PUBLISHes and RELEASE PUBRELs in order (resends first, as they are oldest), as the window allows.
   * Call after onWritable.
   */
  pump(nowMs: number): void {
    if (this.state !== ONLINE) return;
    const owed = this._owed;
    if (owed) {
      if (!this._sendTx(writeAck(this._tx, 0, owed >> 16, owed & 0xffff), nowMs)) return;
      this._owed = 0;
    }
    if (this._pingOwed) this._pingOwed = !this._sendTx(2, nowMs, PINGREQ_BYTE);
    if (this._pingOwed) return;
    const ob = this._ob;
    // SENT and RELEASED records precede QUEUED ones (sent in order), so one pass counts the window.
    for (let i = 0, busy = 0; i < ob.end; i++) {
      const st = ob._st[i];
      if (!st || st >= SUB) continue;
      if (st === RELEASE) {
        // A PUBREL owed since the last connection: its message is in flight already.
        if (!this._sendTx(writeAck(this._tx, 0, PUBREL, ob.id[i]), nowMs)) return;
        ob._st[i] = RELEASED;
      } else if (st === QUEUED) {
        // The window (the outbox's size bounds busy already: every record counted is in it).
        if (busy >= (this.options.inflightWindow ?? 8)) return;
        if (!this._ev.send(ob._buf, ob.at[i], ob._len[i])) return;
        this._lastSent = nowMs;
        ob._st[i] = SENT;
      }
      busy++;
    }
  }

  /**
   * SUBSCRIBE. Returns the packet id (SUBACK comes to onSubscribed), or NOT_CONNECTED, WOULD_BLOCK
   * (the link is full, or 8 (un)subscribes are already open), NO_MEMORY. Throws for a bad filter or QoS.
   * (With `qos` null, it is unsubscribe(): one function on the device for both.)
   */
  subscribe(filters: ArrayLike<string>, qos: ArrayLike<number> | null, nowMs: number): number {
    if (this.state !== ONLINE) return NOT_CONNECTED;
    const ob = this._ob;
    let open = 0;
    for (let k = 0; k < ob.end; k++) if (ob._st[k] >= SUB) open++;
    if (open === MAX_PENDING_ACKS) return WOULD_BLOCK;
    const i = ob.add(qos ? SUB : UNSUB);
    const id = ob.id[i];
    let end: number;
    try {
      end = writeFilters(this._tx, 0, qos ? 0x82 : 0xa2, id, filters, qos);
    } catch (e) {
      ob.free(i); // a bad filter or QoS is the caller's mistake: it costs no packet id
      throw e;
    }
    if (end < 0 || !this._sendTx(end, nowMs)) {
      ob.free(i);
      return end < 0 ? end : WOULD_BLOCK;
    }
    if (qos) this._want.set(id, Array.from(qos));
    return id;
  }

  /** UNSUBSCRIBE. Returns the packet id (UNSUBACK comes to onUnsubscribed) or a status as subscribe. */
  unsubscribe(filters: ArrayLike<string>, nowMs: number): number {
    return this.subscribe(filters, null, nowMs);
  }

  /** Sends DISCONNECT (the broker then discards the will) and goes offline. Close the link after. */
  disconnect(nowMs: number): void {
    if (this.state === ONLINE) this._sendTx(2, nowMs, DISCONNECT_BYTE);
    this.linkLost();
  }

  // ---- internals ----

  /**
   * Sends tx[0, end): control packets and QoS 0 are written there. With `first`, the two-byte packet
   * `first 00` (PINGREQ, DISCONNECT) is written first: the codec's writePingreq and writeDisconnect,
   * without two functions on the device (a tx buffer too small for them never connects).
   */
  private _sendTx(end: number, nowMs: number, first = 0): boolean {
    if (first) {
      this._tx[0] = first;
      this._tx[1] = 0;
    }
    if (!this._ev.send(this._tx, 0, end)) return false;
    this._lastSent = nowMs;
    return true;
  }

  private _fail(status: number): number {
    if (this.state !== OFFLINE) {
      this.linkLost();
      this._ev.onClose(status);
    }
    return status;
  }

  private _handle(ev: number, nowMs: number): number {
    const dec = this.message;
    const type = dec.type;
    const id = dec.packetId;
    let ack = 0; // the acknowledgement this packet asks for: sent at the end, or owed
    if (type === PUBLISH) {
      const qos = dec.qos;
      const last = ev === EV_PACKET || dec.fragmentOffset + dec.payloadLength === dec.messageLength;
      let free = -1;
      let seen = false;
      if (qos === 2) {
        // Exactly once: deliver on the first PUBLISH of this id; a resend before PUBREL is only acked.
        for (let i = 0; i < this._rx2.length; i++) {
          if (this._rx2[i] === id) seen = true;
          else if (!this._rx2[i] && free < 0) free = i;
        }
        if (!seen && free < 0) return QOS2_TABLE_FULL;
      }
      if (!seen) {
        this._ev.onMessage(ev);
        if (qos === 2 && last) this._rx2[free] = id;
      }
      // QoS 1: acknowledged after delivery, once the last piece is delivered [MQTT-4.3.2-2], also on
      // a topic never subscribed to (case 26) and for a redelivery (case 25). QoS 2: PUBREC.
      if (qos && last) ack = qos === 2 ? PUBREC : PUBACK;
    } else if (ev === EV_FRAGMENT) return 0; // (only PUBLISH is streamed)
    else if (type === CONNACK) {
      const rc = dec.returnCode;
      if (rc) return -40 - rc; // REFUSED_*: the broker closes the link [MQTT-3.2.2-5]
      const present = dec.sessionPresent;
      const clean = this.options.clean !== false;
      // A session present after a clean-session CONNECT: the broker kept what we asked it to discard,
      // and we would skip resubscribing [MQTT-3.2.2-1] (coreMQTT closes too).
      if (present && clean) return SESSION_PRESENT_ON_CLEAN;
      const kept = present || clean || !this._everConnected;
      this.state = ONLINE;
      this._everConnected = true;
      this._lastRecv = nowMs;
      const ob = this._ob;
      if (!present) {
        this._rx2.fill(0);
        // Messages sent before are new to a broker that lost the session: no DUP [MQTT-3.3.1-1]. A
        // QoS 2 exchange past PUBREC is complete: the broker took the message, and no PUBCOMP can
        // come. Marked RELEASED (pump() sends no PUBREL for it) and reported below, once the session
        // is whole: a publish() or disconnect() from onPublished must not see half a CONNACK.
        for (let i = 0; i < ob.end; i++) {
          if (ob._st[i] === QUEUED) ob._buf[ob.at[i]] &= ~8;
          else if (ob._st[i] === RELEASE) ob._st[i] = RELEASED;
        }
      }
      // The owner first (it resubscribes), then the completions, then the resends (their order among
      // PUBLISHes is what [MQTT-4.6.0-1] asks; a publish() made in a callback queues behind them in
      // the outbox). A callback that ended the connection ends this too: linkLost() made the records
      // not yet reported RELEASE again, for the next connection to settle.
      this._ev.onConnected(present, kept);
      if (!present) {
        for (let i = 0; i < ob.end && this.state === ONLINE; i++) {
          if (ob._st[i] === RELEASED) {
            const done = ob.id[i];
            ob.free(i);
            this._ev.onPublished(done);
            i = -1; // from the start: the callback may have changed the table
          }
        }
      }
      this.pump(nowMs);
    } else if (type === PINGRESP) this._pinging = false;
    else if (type === PUBREL) {
      for (let i = 0; i < this._rx2.length; i++) if (this._rx2[i] === id) this._rx2[i] = 0;
      ack = PUBCOMP;
    } else {
      // An acknowledgement of ours: it completes (or moves on) only the record in the state that awaits it.
      const ob = this._ob;
      const i = ob.find(id);
      const st = i < 0 ? 0 : ob._st[i];
      const qos = st === SENT ? (ob._buf[ob.at[i]] >> 1) & 3 : 0;
      if (type === PUBREC) {
        // QoS 2: the broker has the message; its bytes are freed, PUBREL until PUBCOMP. A PUBREC
        // again (a resend crossed it) is answered again; one for a message not resent yet on this
        // connection is left for the resend's. One for an id we hold no record of (case 32: a board
        // that rebooted and lost its outbox, say) is answered too, so that the broker frees the id
        // (libmosquitto does the same); its PUBCOMP is then ignored. One for a QoS 1 PUBLISH or a
        // (UN)SUBSCRIBE of ours closes.
        if (st === QUEUED) return 0;
        if (st > RELEASED || qos === 1) return UNEXPECTED_ACK;
        if (st) {
          ob._st[i] = RELEASED; // still in the window until PUBCOMP
          ob._len[i] = 0;
        }
        ack = PUBREL;
      } else if (type === PUBCOMP && st !== RELEASED) {
        if (st) return UNEXPECTED_ACK;
      } else if (type === SUBACK && st === SUB) {
        const s = checkSuback(dec.data, dec.payloadOffset, dec.payloadLength, this._want.get(id)!); // cases 35, 36
        if (s) return s;
        ob.free(i);
        this._want.delete(id);
        this._ev.onSubscribed(id, dec.data, dec.payloadOffset, dec.payloadLength);
      } else if (type === UNSUBACK && st === UNSUB) {
        ob.free(i);
        this._ev.onUnsubscribed(id);
      } else if (type === PUBCOMP || (type === PUBACK && qos === 1)) {
        ob.free(i);
        this._ev.onPublished(id);
        this.pump(nowMs);
      }
      // Else unsolicited: a PUBACK (case 31), SUBACK or UNSUBACK for nothing awaiting it is ignored.
    }
    // The acknowledgement goes through pump(), which sends what is owed first, or keeps it owed while
    // the link is full (receive() then reads no further). Not after disconnect() (or anything else
    // that ended the connection) from onMessage [MQTT-3.14.4-1]: offline, nothing is owed.
    if (ack && this.state === ONLINE) {
      this._owed = (ack << 16) | id;
      this.pump(nowMs);
    }
    return 0;
  }
}
