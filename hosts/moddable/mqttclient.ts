// ECMA-419's MQTT client class (`embedded:network/mqtt/client`, 2nd edition §25) on xs-mqtt's
// sans-IO Session: the class pattern of Moddable's own client (examples/io/tcp/mqttclient in the
// SDK), so that an app written for it runs on this one by mapping the module name to this file
// (manifest_mqttclient.json). The Session does the protocol (CONNECT, acknowledgements of both
// directions, the QoS 2 exchanges, keepalive, the malformed-packet checks); this file adapts the
// socket (the host provider's `socket.io` and `dns.io`, as Moddable's client does) and the calls.
//
// Spec semantics kept: onReadable(count, {topic, QoS, byteLength, more}) with read(count | buffer);
// onWritable(count) with count the bytes write() may take now; onControl(message) for CONNACK,
// SUBACK (payload: the return codes), UNSUBACK, PUBACK, PUBREC, PUBREL, PUBCOMP, PINGRESP; write()
// with PUBLISH fragments through byteLength, SUBSCRIBE / UNSUBSCRIBE with items, PINGREQ,
// DISCONNECT; onError() once, after which the instance is closed (a socket call that throws too);
// close(), after which nothing is reported; format "buffer" only (RangeError otherwise).
// Extensions (ECMA-419 lets a class take options of its own): `reconnect`, and the Session's sizes
// (README, "ECMA-419 MQTT client").
import TCP from 'embedded:io/socket/tcp';
import UDP from 'embedded:io/socket/udp';
import Resolver from 'embedded:network/dns/resolver/udp';
import Time from 'time';
import Timer from 'timer';
import { CONNACK, CONNECTION_LOST, DISCONNECT, EV_PACKET, NEED_MORE, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH, STOPPED, SUBACK, SUBSCRIBE, UNSUBSCRIBE, WOULD_BLOCK } from '../../src/codec/constants.js';
import { Decoder } from '../../src/codec/decoder.js';
import { checkQos } from '../../src/codec/encode.js';
import { sizeOfVarint, writeVarint } from '../../src/codec/varint.js';
import { Session } from '../../src/session/session.js';
import { QUEUED, RELEASE } from '../../src/session/outbox.js';
import type { Outbox } from '../../src/session/outbox.js';
import type { SessionOptions } from '../../src/session/session.js';
import { decodeUtf8, topicBytes } from '../../src/topic.js';

/** What onWritable's count leaves for the socket's own use, as Moddable's client does. */
const OVERHEAD = 8;
/** The timer's delay while nothing is due (it is rescheduled, never made again). */
const IDLE_MS = 0x3fffffff;
// onReadable's options for the second and later pieces of a message (the first carries topic, QoS, byteLength).
const MORE = Object.freeze({ more: true });
const LAST = Object.freeze({ more: false });
const OBJECT = 'object';

// States.
const RESOLVING = 0; // DNS, then the socket connecting
const LOGIN = 1; // CONNECT sent
const ONLINE = 2;
const WAITING = 3; // reconnect option: waiting to connect again
const CLOSED = 4;
const ENDING = 5; // the app's DISCONNECT is written: onClose from the timer (none after close())

type Bytes = ArrayBuffer | ArrayBufferView;

/** One function for the session's events this class does not need: no closure each (an arrow: no prototype object in flash). */
const NOOP = (): void => {};

/**
 * The bytes of a Buffer as a Uint8Array (the view allocates; the bytes are not copied). Anything else
 * is a TypeError: `new Uint8Array("hi")` would be empty, `new Uint8Array(12)` twelve zeros.
 */
function view(b: Bytes): Uint8Array {
  if (b instanceof Uint8Array) return b;
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  throw new TypeError('not a buffer');
}

/** A topic, filter, id or user name: a string, or its UTF-8 as a Buffer (Moddable's client takes both). */
function str(x: string | Bytes): string {
  if (typeof x !== OBJECT || !x) return x as string;
  const v = view(x as Bytes);
  return decodeUtf8(v, 0, v.length);
}

/** The session's decoder, telling the client of each control packet after the session handled it. */
class ControlDecoder extends Decoder {
  declare _c: MQTTClient;
  push(bytes: Uint8Array, offset: number, length: number): number {
    const c = this._c;
    c._report(); // the previous packet's: the session has handled it by now
    if (c._holding || c._st === CLOSED) {
      // onReadable left bytes unread: nothing more until read() takes them (the session keeps the
      // rest). Or the app closed the instance in onControl: nothing more at all.
      this.consumed = 0;
      return NEED_MORE;
    }
    const ev = super.push(bytes, offset, length);
    if (ev === EV_PACKET && this.type !== PUBLISH) {
      c._op = this.type;
      c._id = this.packetId;
    }
    return ev;
  }
}

export default class MQTTClient {
  // The operations (ECMA-419's), MQTT's packet types: the methods use those constants (src/codec/constants.ts),
  // which the device build inlines, not these (a read of the class's own binding is a closure in flash).
  static CONNECT = 1;
  static CONNACK = 2;
  static PUBLISH = 3;
  static PUBACK = 4;
  static PUBREC = 5;
  static PUBREL = 6;
  static PUBCOMP = 7;
  static SUBSCRIBE = 8;
  static SUBACK = 9;
  static UNSUBSCRIBE = 10;
  static UNSUBACK = 11;
  static PINGREQ = 12;
  static PINGRESP = 13;
  static DISCONNECT = 14;

  declare target: unknown;
  declare private _o: any; // the constructor's options: callbacks, host, port, dns, socket, reconnect
  declare private _s: Session;
  declare private _dec: ControlDecoder;
  declare private _timer: Timer;
  // The fields declared without a value start undefined: each is set before it is read, or read
  // only as true or false (a field is bytecode in the constructor, and RAM from then on; one that
  // is never used, such as the fragments' while no message is written in fragments, costs neither).
  // The numbers read as numbers before they are set start at 0.
  declare private _sock: any;
  /** @internal */
  declare _st: number;
  private _writable = 0;
  private _unread = 0; // bytes the socket holds for us
  declare private _rx: Uint8Array | null;
  private _keptAt = 0; // rx[_keptAt, _keptEnd): read, not yet taken by the session (an ack waits for room)
  private _keptEnd = 0;
  private _rdAt = 0; // the piece onReadable offers: _rd[_rdAt, _rdEnd)
  private _rdEnd = 0;
  declare private _rd: Uint8Array | null; // the decoder's data, or _hold
  // What onReadable left unread, kept until read() takes it; meanwhile the decoder takes no more
  // bytes (as Moddable's client stops parsing), and the socket is read again once it is all read.
  declare private _hold: Uint8Array | null;
  /** @internal */
  declare _holding: boolean;
  // A PUBLISH written in fragments: _left bytes to come. Into _frag (then given to the session
  // whole) or, when it cannot be kept (_stream), straight to the socket.
  declare private _left: number;
  declare private _frag: Uint8Array | null;
  declare private _fragAt: number;
  declare private _stream: boolean;
  declare private _cap: number; // the largest writable count seen: the socket's send buffer (undefined until one is)
  declare private _pend: Uint8Array | null; // the tail of a packet larger than the send buffer, for onWritable
  declare private _pendAt: number;
  declare private _fragTopic: Uint8Array | null;
  declare private _fragQos: number;
  declare private _fragRetain: boolean;
  declare private _topic: string; // the last topic published, and its bytes
  declare private _topicBytes: Uint8Array | null;
  private _attempt = 0;
  /** @internal The control packet the decoder saw last (type, 0: none), reported once the session handled it. */
  declare _op: number;
  /** @internal */
  declare _id: number;
  // onControl's message: one object, valid during the call.
  private _msg: { operation: number; id: number; returnCode?: number; sessionPresent?: boolean; payload?: Uint8Array; status?: number } = { operation: 0, id: 0 };

  constructor(options: any) {
    if (!options || !options.host) throw new TypeError('host required');
    // Bytes only, as Moddable's own client: a RangeError for any other format.
    if ((options.format ?? 'buffer') !== 'buffer') throw new RangeError('format');
    this._o = options;
    if (options.target !== undefined) this.target = options.target;
    const will = options.will;
    const ka = options.keepAlive ?? options.keepalive ?? 0; // ms; `keepalive`: Moddable's older name
    const so: SessionOptions = {
      clientId: str(options.id ?? ''),
      clean: options.clean ?? true,
      keepAliveSec: Math.ceil(ka / 1000),
      username: str(options.user),
      password: options.password === undefined || typeof options.password === 'string' ? options.password : view(options.password),
      will: will && {
        topic: str(will.topic),
        payload: typeof will.message === 'string' ? will.message : view(will.message ?? new ArrayBuffer(0)),
        qos: will.QoS ?? 0,
        retain: !!will.retain,
      },
      rxBufferSize: 16, // replaced below by the decoder that reports control packets
      txBufferSize: options.txBufferSize ?? 1024,
      outboxBytes: options.outboxBytes ?? 4096, // (both read again from the session's options: write())
      outboxMessages: options.outboxMessages,
      inflightWindow: options.inflightWindow,
      qos2Window: options.qos2Window,
      connackTimeoutMs: options.connackTimeoutMs,
      pingTimeoutMs: options.pingTimeoutMs,
    };
    const s = new Session(so, {
      send: (b, o, l) => this._send(b, o, l),
      onConnected: NOOP, // (CONNACK and the acknowledgements are reported from the decoder: _report)
      onMessage: () => this._message(),
      onPublished: NOOP,
      onSubscribed: NOOP,
      onUnsubscribed: NOOP,
      onClose: (status) => this._lost(status),
    });
    const dec = new ControlDecoder(options.rxBufferSize ?? 1024, options.maxMessageSize);
    dec._c = this;
    (s as { message: Decoder }).message = dec;
    this._s = s;
    this._dec = dec;
    this._timer = Timer.repeat(() => this._onTimer(), IDLE_MS);
    this._open();
  }

  /** Resolves the host, then connects the socket. */
  private _open(): void {
    const o = this._o;
    this._st = RESOLVING;
    this._schedule(o.connectTimeout ?? 30000); // DNS and the socket (TLS too) must be up by then
    // A name or an address: Moddable's resolver gives an address back as it is (from its timer, with
    // no query), as it does for Moddable's client, which resolves every host too.
    // The resolver's UDP socket (the app's `dns.socket.io`, else UDP), its onReadable guarded, as
    // ModdableHost's (hosts/moddable/index.ts says why): two replies in one call made the resolver
    // read its closed socket, "XS abort". The app's own `dns` (the host provider's) is not changed.
    const d = o.dns ?? { io: Resolver, servers: ['1.1.1.1', '8.8.8.8'] };
    const io = d.socket?.io ?? UDP;
    const dns = {
      ...d,
      socket: {
        ...d.socket,
        io: function (u: { onReadable: (this: UDP, count: number) => void }) {
          const fn = u.onReadable;
          u.onReadable = function (count) {
            try {
              fn.call(this, count);
            } catch {
              // read past close, or a bad datagram
            }
          };
          return new io(u as never);
        },
      },
    };
    try {
      const resolver = new dns.io(dns);
      // One callback for both outcomes: onResolved(host, address), onError(host).
      const done = (_host: string, address?: string) => {
        Timer.set(() => resolver.close(), 0);
        if (this._st !== RESOLVING || this._sock) return;
        if (address) this._connect(address);
        else this._lost(CONNECTION_LOST);
      };
      resolver.resolve({ host: o.host, onResolved: done, onError: done });
    } catch {
      this._schedule(0); // reported from the timer: never inside the constructor, or out of it
    }
  }

  private _connect(address: string): void {
    const o = this._o;
    const socket = o.socket ?? { io: TCP };
    try {
      this._sock = new socket.io({
        ...socket,
        address,
        host: o.host,
        port: o.port ?? 1883,
        onReadable: (count: number) => {
          this._unread = count;
          this._pull();
        },
        onWritable: (count: number) => this._onWritable(count),
        onError: () => this._lost(CONNECTION_LOST),
      });
    } catch {
      this._schedule(0); // reported from the timer (_onTimer): never inside the constructor
    }
  }

  /** Ends the instance: the socket closes, no callback follows. */
  close(): void {
    if (this._st === CLOSED) return;
    this._st = CLOSED;
    this._closeSocket();
    Timer.clear(this._timer);
  }

  private _closeSocket(): void {
    const sock = this._sock;
    this._sock = null;
    this._s.linkLost();
    this._writable = this._unread = this._keptAt = this._keptEnd = this._left = 0;
    this._rdEnd = this._rdAt;
    this._holding = false;
    this._stream = false;
    this._frag = this._pend = null;
    this._op = this._id = 0;
    try {
      sock?.close();
    } catch {
      // closed by the peer already
    }
  }

  /**
   * The connection ended with `status`: onError and closed, or (reconnect option) onControl with
   * operation DISCONNECT and the status, and a new connection after a backoff.
   */
  _lost(status: number): void {
    if (this._st >= WAITING) return; // WAITING, CLOSED, ENDING
    const o = this._o;
    const r = o.reconnect;
    this._closeSocket();
    if (status === STOPPED) {
      // After the app's DISCONNECT: onClose from the timer (not inside write(); none after close()).
      this._st = ENDING;
      return this._schedule(0);
    }
    if (!r) {
      this.close();
      o.onError?.call(this, status);
      return;
    }
    // Exponential backoff with full jitter, from `reconnect` ms (or 1 s) up to 60 s.
    const min = r > 1 ? r : 1000; // (true: 1000)
    const delay = Math.max(min >> 2, Math.floor(Math.random() * Math.min(60000, min * 2 ** Math.min(this._attempt++, 16))));
    this._st = WAITING;
    this._schedule(delay);
    this._op = DISCONNECT; // (id 0: _closeSocket)
    this._report(status);
  }

  /**
   * The timer in `ms` (never, when negative), and every `ms` after that until rescheduled. The repeat
   * equals the delay because this runs inside the timer's own callback too (_onTimer): on lin (the
   * simulator) timer.c's modTimerExecuteOne adds a glib source of its own after a callback whose
   * timer's delay and repeat differ, and the one Timer.schedule added stays, repeating. With them
   * equal it adds none; on a device (mc/timer.c) either is right. At least 1: a repeat of 0 is a
   * one-shot, removed after it fires. (No allocation: this runs on every packet.)
   */
  private _schedule(ms: number): void {
    const t = ms < 0 ? IDLE_MS : ms < 1 ? 1 : ms;
    Timer.schedule(this._timer, t, t);
  }

  /** Keeps the timer on the session's next deadline (keepalive, CONNACK, PINGRESP); due now once a socket call threw (_io). */
  private _arm(): void {
    const st = this._st;
    if (st === LOGIN || st === ONLINE) this._schedule(this._sock ? this._s.nextDeadline(Time.ticks >>> 0) : 0);
  }

  private _onTimer(): void {
    const st = this._st;
    if (st === WAITING) this._open();
    else if (st === ENDING) {
      this.close();
      this._o.onClose?.call(this);
    }
    // No connection within connectTimeout; or a socket call threw (_io, _open); or closed (_lost does nothing).
    else if (st === RESOLVING || !this._sock) this._lost(CONNECTION_LOST);
    else {
      this._s.tick(Time.ticks >>> 0);
      this._arm();
    }
  }

  // ---- the socket ----

  private _onWritable(count: number): void {
    this._writable = count;
    if (!(count <= this._cap)) this._cap = count;
    const st = this._st;
    const o = this._o;
    if (st === RESOLVING) {
      // Connected: the session sends CONNECT.
      this._st = LOGIN;
      // Resizable, and rx tracks its length: _pull resizes it to each read (a view per size would be
      // 128 B of RAM each, lin).
      const n = o.socketReadBytes ?? 1024;
      this._rx ??= new Uint8Array(new ArrayBuffer(n, { maxByteLength: n }));
      const s = this._s.start(Time.ticks >>> 0);
      if (s < 0) this._lost(s);
      else this._arm();
      return;
    }
    const p = this._pend;
    if (p) {
      const at = this._pendAt;
      const n = p.length - at < count ? p.length - at : count;
      this._io(at === 0 && n === p.length ? p : p.subarray(at, at + n));
      if ((this._pendAt = at + n) < p.length) return;
      this._pend = null;
    }
    if (st !== ONLINE) return;
    if (!this._stream) {
      this._s.pump(Time.ticks >>> 0);
      if (this._keptEnd > this._keptAt) this._pull();
    }
    const n = this._st === ONLINE ? this._room() : 0;
    if (n) o.onWritable?.call(this, n);
  }

  /** Reads and gives the bytes to the session, until the socket is empty or the session takes less (an ack waits for room). */
  private _pull(): void {
    const rx = this._rx!;
    for (;;) {
      if (this._keptEnd === this._keptAt) {
        const sock = this._sock;
        if (!sock || this._unread <= 0) return;
        const n = this._unread < rx.length ? this._unread : rx.length;
        // Exactly n bytes: TCP's read(buffer) takes no more than it holds, and Moddable's TLS socket
        // fills a buffer too (up to what it decrypted, which onReadable counted). rx's ArrayBuffer is
        // resized to n for the read, and back at once, in place (a collection while it is short would
        // compact its chunk to n, and growing it then would make a new one); to its maxByteLength, so
        // that rx, kept across reconnects, is whole again after a read that threw.
        const b = rx.buffer as ArrayBuffer;
        b.resize(n);
        this._io(rx, true);
        b.resize(b.maxByteLength);
        if (!this._sock) return; // the read threw
        this._unread -= n;
        this._keptAt = 0;
        this._keptEnd = n;
      }
      const at = this._keptAt;
      const n = this._s.receive(rx, at, this._keptEnd - at, Time.ticks >>> 0);
      if (n < 0 || !this._sock) return; // the connection ended (_lost ran), or the app closed it
      this._report();
      this._arm();
      this._keptAt = at + n;
      if (this._keptAt < this._keptEnd) return; // an acknowledgement waits for the socket: onWritable resumes
    }
  }

  /** The session's bytes to the socket, all or none. None during a PUBLISH streamed in fragments. */
  private _send(b: Uint8Array, o: number, l: number): boolean {
    const sock = this._sock;
    const w = this._writable;
    if (!sock || this._stream || this._pend || (l > w && l <= this._cap)) return false;
    if (l <= w) this._io(o === 0 && l === b.length ? b : b.subarray(o, o + l));
    else {
      // Larger than the socket's whole send buffer (1536 bytes on the simulator): what fits now,
      // the rest copied (the session reuses its buffers) for onWritable.
      this._pend = b.slice(o + w, o + l);
      this._pendAt = 0;
      if (w) this._io(b.subarray(o, o + w));
    }
    return true;
  }

  /**
   * Writes `b` to the socket (its room is then in _writable), or reads into it. A throw there (a
   * socket the peer reset; TLS) ends the connection: the socket is closed now and used no more, and
   * the loss is reported from the timer (_onTimer), never out of the socket or timer callback that
   * called (XS would abort: a board reboots) nor inside the session. TLS (a socket with `TCP`, as
   * Moddable's TLSSocket): each record is also charged 96 bytes, tlssocket.js's estimate of its
   * overhead (its write returns the TCP socket's room less only 32; a CBC record adds up to 85),
   * as ModdableHost does.
   */
  private _io(b: Uint8Array, read?: boolean): void {
    const sock = this._sock;
    try {
      if (read) sock.read(b);
      else {
        const room = sock.write(b);
        const left = this._writable - b.length - 96;
        this._writable = this._o.socket?.TCP && left < room ? (left > 0 ? left : 0) : room;
      }
    } catch {
      this._sock = null;
      this._writable = 0;
      this._schedule(0);
      try {
        sock?.close();
      } catch {
        // closed already
      }
    }
  }

  // ---- what the session delivers ----

  /** A message or a piece of one: onReadable, read() takes its bytes during the call. */
  private _message(): void {
    if (this._st === CLOSED) return;
    const d = this._dec;
    const last = d.fragmentOffset + d.payloadLength === d.messageLength;
    this._rd = d.data;
    this._rdAt = d.payloadOffset;
    this._rdEnd = d.payloadOffset + d.payloadLength;
    const options = d.fragmentOffset
      ? last
        ? LAST
        : MORE
      : { topic: decodeUtf8(d.topicData, d.topicOffset, d.topicOffset + d.topicLength), QoS: d.qos, retain: d.retain, byteLength: d.messageLength, more: !last };
    this._o.onReadable?.call(this, d.payloadLength, options);
    const left = this._rdEnd - this._rdAt;
    if (left > 0 && this._sock) {
      // Unread: copied out of the decoder's record (reused for the next bytes) for a later read().
      const h = this._hold && this._hold.length >= left ? this._hold : (this._hold = new Uint8Array(left));
      h.set(this._rd!.subarray(this._rdAt, this._rdEnd));
      this._rd = h;
      this._rdAt = 0;
      this._rdEnd = left;
      this._holding = true;
    }
  }

  /**
   * @internal Reports the control packet the decoder saw last, now that the session has handled it;
   * or (_lost, with `status`) DISCONNECT: the connection is lost, a new one follows. onControl's
   * message is one object, reused: the fields of this packet set, the others cleared.
   */
  _report(status?: number): void {
    const op = this._op;
    if (!op) return;
    this._op = 0;
    if (this._st === CLOSED || (op === CONNACK && this._s.state !== ONLINE)) return; // a refusal: onError follows
    const d = this._dec;
    const m = this._msg;
    m.operation = op;
    m.id = op === CONNACK || op === PINGRESP ? 0 : this._id;
    m.status = status;
    m.returnCode = m.sessionPresent = m.payload = undefined;
    if (op === CONNACK) {
      m.returnCode = 0;
      m.sessionPresent = d.sessionPresent;
      this._st = ONLINE;
      this._attempt = 0;
    } else if (op === SUBACK) m.payload = d.data.slice(d.payloadOffset, d.payloadOffset + d.payloadLength);
    const o = this._o;
    o.onControl?.call(this, m);
    // The room again: after CONNACK, and after an acknowledgement that freed the outbox (_room).
    const n = this._st === ONLINE ? this._room() : 0;
    if (n) o.onWritable?.call(this, n);
  }

  // ---- the application's calls ----

  /**
   * The bytes of the current message's piece, during onReadable: `count` of them (default: all
   * left) as a new ArrayBuffer, or into `buffer` (returns how many). Undefined when none are left.
   */
  read(count?: number | Bytes): ArrayBuffer | number | undefined {
    const at = this._rdAt;
    const left = this._rdEnd - at;
    if (left <= 0) return undefined;
    const data = this._rd!;
    let n: number;
    let r: ArrayBuffer | number;
    if (typeof count === OBJECT) {
      const v = view(count as Bytes);
      r = n = v.length < left ? v.length : left;
      for (let i = 0; i < n; i++) v[i] = data[at + i];
    } else {
      n = count === undefined || (count as number) > left ? left : (count as number);
      r = data.slice(at, at + n).buffer;
    }
    if ((this._rdAt = at + n) === this._rdEnd && this._holding) {
      // All that was held is read: the bytes behind it, from the event loop (not inside read()).
      this._holding = false;
      Timer.set(() => this._sock && this._pull(), 0);
    }
    return r;
  }

  /**
   * PUBLISH (the default operation; a message of `byteLength` may come in several writes, the later
   * ones without options), SUBSCRIBE / UNSUBSCRIBE (`items`), PINGREQ, DISCONNECT. Returns the bytes
   * write() may take now. Throws when the connection cannot take the write.
   */
  write(data: Bytes | null, options?: any): number {
    const st = this._st;
    const now = Time.ticks >>> 0;
    let r = 0;
    if (this._left) {
      // The next fragment of a PUBLISH.
      const b = view(data!);
      const n = b.length;
      if (options != null || n > this._left) throw new RangeError('fragment'); // (null too: Moddable's mqtt.js writes them so)
      if (this._stream) {
        if (this._pend || n > this._writable) throw new Error('overflow');
        this._io(b);
      } else {
        this._frag!.set(b, this._fragAt);
        this._fragAt += n;
      }
      if (!(this._left -= n)) {
        // The PUBLISH is complete: a streamed one lets the session send what it held back meanwhile;
        // a kept one goes to the session whole.
        if (this._stream) {
          this._stream = false;
          this._s.pump(now);
        } else r = this._s.publish(this._fragTopic!, this._frag!.subarray(0, this._fragAt), this._fragQos, this._fragRetain, now);
      }
    } else {
      const op = options?.operation ?? PUBLISH;
      if (st !== ONLINE && (st >= CLOSED || !(this._o.reconnect && op === PUBLISH && options?.QoS))) throw new Error('not connected');
      const s = this._s;
      const so = s.options as SessionOptions;
      // An app's own packet id (options.id), as Moddable's client takes it, for a QoS 1/2 PUBLISH or an
      // (UN)SUBSCRIBE: the session's counter gives it next. One outside 1-65535, or one that a message
      // or (UN)SUBSCRIBE in flight holds [MQTT-2.3.1-2], is a RangeError. Without it, the counter's next.
      const ob = (s as unknown as { _ob: Outbox })._ob;
      const oid = options.id;
      if (oid !== undefined && (op !== PUBLISH || options.QoS)) {
        if (oid !== (oid & 65535) || !oid || ob.find(oid) >= 0) throw new RangeError('id');
        ob._next = oid;
      }
      if (op === PUBLISH) {
        const qos = checkQos(options.QoS ?? 0);
        const topic = str(options.topic);
        if (topic !== this._topic || !this._topicBytes) {
          this._topicBytes = topicBytes(topic); // throws for a bad topic
          this._topic = topic;
        }
        const tb = this._topicBytes;
        const b = data ? view(data) : null;
        const n = b ? b.length : 0;
        const total = options.byteLength ?? n;
        if (!(total >= n)) throw new RangeError('byteLength');
        const rl = 2 + tb.length + (qos ? 2 : 0) + total;
        const size = 1 + sizeOfVarint(rl) + rl;
        const retain = !!options.retain;
        if (size <= (qos ? so.outboxBytes! : so.txBufferSize!)) {
          // Kept by the session (QoS 1, 2: in the outbox until acknowledged).
          if (n === total) r = s.publish(tb, b, qos, retain, now);
          // Its later fragments only complete it: the room for all of it is checked now, as Moddable's
          // client checks its first fragment (the outbox's only grows meanwhile; a QoS 0 one's is the socket's).
          else if (size > (qos ? this._room(true) : this._writable)) r = WOULD_BLOCK;
          else {
            if (!this._frag || this._frag.length < total) this._frag = new Uint8Array(total);
            this._frag.set(b!, 0);
            this._fragAt = n;
            this._left = total - n;
            this._fragTopic = tb;
            this._fragQos = qos;
            this._fragRetain = retain;
          }
        } else {
          // Too large to keep: straight to the socket (as Moddable's client sends everything), its
          // fragments after it. QoS 2 needs the session's record of the exchange.
          if (qos === 2) throw new RangeError('QoS 2 message larger than outboxBytes');
          if (st !== ONLINE) throw new Error('not connected');
          const head = size - total;
          if (this._pend || head + n > this._writable) throw new Error('overflow');
          const h = new Uint8Array(head);
          h[0] = 0x30 | (qos << 1) | (retain ? 1 : 0);
          let p = writeVarint(h, 1, rl);
          h[p++] = tb.length >> 8;
          h[p++] = tb.length & 255;
          h.set(tb, p);
          p += tb.length;
          if (qos) {
            // From the session's own counter (the app's id, if it gave one), as its records take theirs
            // (wrapping 65535 -> 1, skipping any the outbox holds): the session's next ids come after
            // this one, so it takes this id again only after all 65,535 have gone by.
            let id: number;
            do {
              id = ob._next;
              ob._next = (id % 65535) + 1;
            } while (ob.find(id) >= 0);
            h[p++] = (id >> 8) & 255;
            h[p] = id & 255;
          }
          this._io(h);
          if (n) this._io(b!);
          if (n < total) {
            this._stream = true;
            this._left = total - n;
          }
        }
      } else if (op === SUBSCRIBE || op === UNSUBSCRIBE) {
        const items = options.items;
        const filters: string[] = [];
        const qos: number[] = [];
        for (let i = 0; i < items.length; i++) {
          filters.push(str(items[i].topic));
          qos.push(items[i].QoS ?? 0);
        }
        r = s.subscribe(filters, op === SUBSCRIBE ? qos : null, now); // (null: UNSUBSCRIBE)
      } else if (op === PINGREQ) {
        // Through the session's transmit buffer, as its own (keepalive counts it as sent).
        if (!(s as unknown as { _sendTx(end: number, now: number, first: number): boolean })._sendTx(2, now, 0xc0)) r = WOULD_BLOCK;
      } else if (op === DISCONNECT) {
        // What write() took goes out before it, the window aside (nothing is awaited after a
        // DISCONNECT). What the socket cannot take now is an "overflow", as with Moddable's client when
        // DISCONNECT does not fit: write it again from onWritable.
        so.inflightWindow = 65535;
        s.pump(now);
        r = this._pend || this._writable < 2 ? WOULD_BLOCK : 0;
        for (let k = 0; k < ob.end; k++) if (ob._st[k] === QUEUED || ob._st[k] === RELEASE) r = WOULD_BLOCK;
        if (!r) {
          s.disconnect(now); // the broker discards the will; the socket closes after
          this._lost(STOPPED);
          return 0;
        }
      } else if (op < PUBACK || op > PUBCOMP) throw new RangeError('operation');
      // (PUBACK, PUBREC, PUBREL, PUBCOMP: the session sends them itself, in order.)
    }
    if (r < 0) throw new Error(r === WOULD_BLOCK ? 'overflow' : 'write failed (' + r + ')'); // statusName(r) says which
    this._arm();
    return this._room();
  }

  /**
   * What write() may take now, onWritable's count: the socket's room less 8 (as Moddable's client),
   * and, while the outbox holds anything, no more than it can keep, so that a QoS 1/2 message within
   * the count never fails (an empty outbox keeps any message; one larger goes straight to the
   * socket). With `kept`: the largest QoS 1/2 PUBLISH the outbox can keep now (0: no record is free).
   */
  private _room(kept?: boolean): number {
    const ob = (this._s as unknown as { _ob: Outbox })._ob;
    const at = ob.at;
    const len = ob._len;
    const cap = ob._buf.length;
    let f = cap;
    // As Outbox._put finds room: after the newest bytes held, or before the oldest.
    let first = -1;
    let last = -1;
    for (let k = 0; k < ob.end; k++) {
      if (!len[k]) continue;
      if (first < 0) first = k;
      last = k;
    }
    if (ob.count === ob.max) f = 0;
    else if (first >= 0) {
      const a = at[first];
      const e = at[last] + len[last];
      f = at[last] >= a ? (cap - e > a ? cap - e : a) : a - e;
    }
    if (kept) return f;
    const w = this._pend ? 0 : f < cap && f < this._writable ? f : this._writable;
    return w > OVERHEAD ? w - OVERHEAD : 0;
  }
}
