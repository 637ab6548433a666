// The client: a Session bound to a Host. It connects and reconnects (exponential backoff with full
// jitter), resubscribes when the broker lost the session, keeps QoS 1 messages while offline, and
// dispatches messages to subscription handlers by wildcard match on bytes. Handlers never run inside
// a socket callback: incoming bytes are queued and handled from host.defer(), so a handler may
// publish, subscribe or stop the client. One reused Message object; strings only when asked for.
import {
  CONNECTION_LOST,
  NOT_CONNECTED,
  QOS0_DROPPED,
  REFUSED_BAD_CREDENTIALS,
  REFUSED_IDENTIFIER,
  REFUSED_NOT_AUTHORIZED,
  REFUSED_PROTOCOL_VERSION,
  RX_OVERFLOW,
  STOPPED,
  SUBACK_FAILURE,
} from './codec/constants.js';
import type { Data } from './codec/encode.js';
import { utf8, STR_FILTER } from './codec/utf8.js';
import type { Host, Link, Target } from './host.js';
import { Session } from './session/session.js';
import type { SessionOptions } from './session/session.js';
import { decodeUtf8, matchTopic } from './topic.js';

export interface ClientOptions extends SessionOptions, Target {
  /** First reconnect delay bound and its cap, ms (defaults 1000 and 60000). Delays are random in [0, bound). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** A connection shorter than this (from CONNACK) does not reset the backoff: a takeover loop backs off (default 10 s). */
  stableMs?: number;
  /** TCP + TLS must be up within this (default 10 s); then the session's CONNACK timeout runs. */
  openTimeoutMs?: number;
  /**
   * QoS 0 publish while offline: 'refuse' returns NOT_CONNECTED (default: the caller decides),
   * 'drop' returns QOS0_DROPPED and counts it in `dropped` (the message is gone by policy).
   */
  offlineQos0?: 'refuse' | 'drop';
  /** Bytes received and not yet handled, at most (default 16 KiB): more closes with RX_OVERFLOW. */
  rxQueueBytes?: number;
}

export interface ClientEvents {
  /** Online. `sessionPresent` from CONNACK; `sessionKept` false when a persistent session was lost (fault 4). */
  onConnect?(sessionPresent: boolean, sessionKept: boolean): void;
  /** Offline, with the status that ended the connection; a reconnect follows in `retryMs` (-1: stopped). */
  onDisconnect?(status: number, retryMs: number): void;
  /** A QoS 1 message was acknowledged. */
  onPublished?(packetId: number): void;
  /** The broker refused a subscription (SUBACK 0x80, fault 8). */
  onSubscribeFailed?(filter: string): void;
}

export type Handler = (message: Message) => void;

interface Subscription {
  filter: string;
  bytes: Uint8Array; // the filter's UTF-8, for matching without strings
  qos: number;
  handler: Handler;
  known: boolean; // the broker has it (SUBACK seen in a session it kept)
  packetId: number; // of the SUBSCRIBE awaiting its SUBACK, or 0
}

/**
 * The message a handler receives: one object, reused for every message, valid only during the call.
 * Zero-allocation access through the raw fields; `topic`, `payload` and `text` allocate.
 */
export class Message {
  constructor(private readonly session: Session) {}
  /** The topic's UTF-8 bytes: topicData[topicOffset, topicOffset + topicLength). */
  get topicData(): Uint8Array {
    return this.session.message.topicData;
  }
  get topicOffset(): number {
    return this.session.message.topicOffset;
  }
  get topicLength(): number {
    return this.session.message.topicLength;
  }
  /** The payload (or this piece of it): data[payloadOffset, payloadOffset + payloadLength). */
  get data(): Uint8Array {
    return this.session.message.data;
  }
  get payloadOffset(): number {
    return this.session.message.payloadOffset;
  }
  get payloadLength(): number {
    return this.session.message.payloadLength;
  }
  get qos(): number {
    return this.session.message.qos;
  }
  get retain(): boolean {
    return this.session.message.retain;
  }
  get dup(): boolean {
    return this.session.message.dup;
  }
  /** A message larger than the receive buffer comes in pieces: this one starts at `fragmentOffset` of `messageLength`. */
  get fragmentOffset(): number {
    return this.session.message.fragmentOffset;
  }
  get messageLength(): number {
    return this.session.message.messageLength;
  }
  /** The topic as a string (allocates). */
  get topic(): string {
    const m = this.session.message;
    return decodeUtf8(m.topicData, m.topicOffset, m.topicOffset + m.topicLength);
  }
  /** The payload as a view (allocates the view, not the bytes; valid only during the call). */
  get payload(): Uint8Array {
    const m = this.session.message;
    return m.data.subarray(m.payloadOffset, m.payloadOffset + m.payloadLength);
  }
  /** The payload decoded as UTF-8 (allocates). */
  get text(): string {
    const m = this.session.message;
    return decodeUtf8(m.data, m.payloadOffset, m.payloadOffset + m.payloadLength);
  }
}

// Client states.
const IDLE = 0;
const OPENING = 1; // link opening
const LINKED = 2; // link up, session connecting or online
const WAITING = 3; // waiting to reconnect
const STOPPED_STATE = 4;

export class Client {
  readonly session: Session;
  readonly message: Message;
  /** QoS 0 messages dropped while offline (offlineQos0: 'drop'). */
  dropped = 0;
  /** Connections made (CONNACK accepted). */
  connects = 0;

  private readonly host: Host;
  private readonly o: ClientOptions;
  private readonly events: ClientEvents;
  private readonly subs: Subscription[] = [];
  private link: Link | null = null;
  private linkSerial = 0; // events of an older link are ignored
  private state = IDLE;
  private attempt = 0;
  private onlineAt = 0;
  private timer: unknown = null;
  private timerKind = 0; // 1 session deadline, 2 reconnect, 3 open timeout
  private timerDue = 0; // host.nowMs() when the timer fires
  // Received bytes not yet handled: handled from a deferred task, never in the socket callback.
  private readonly rx: Uint8Array;
  private rxStart = 0;
  private rxEnd = 0;
  private draining = false;
  private readonly drainFn = () => this.drain();
  private readonly timerFn = () => this.onTimer();

  constructor(host: Host, options: ClientOptions, events: ClientEvents = {}) {
    this.host = host;
    this.o = options;
    this.events = events;
    this.rx = new Uint8Array(options.rxQueueBytes ?? 16384);
    this.session = new Session(options, {
      send: (b, o, l) => (this.link ? this.link.write(b, o, l) : false),
      onConnected: (present, kept) => this.connected(present, kept),
      onMessage: () => this.dispatch(),
      onPublished: (id) => this.events.onPublished?.(id),
      onSubscribed: (id, codes, off) => this.subscribed(id, codes, off),
      onUnsubscribed: () => {},
      onClose: (status) => this.drop(status),
    });
    this.message = new Message(this.session);
  }

  /** Whether the session is online (CONNACK accepted). */
  get online(): boolean {
    return this.session.state === 2;
  }

  /** Starts connecting (and reconnecting until stop()). */
  start(): void {
    if (this.state !== IDLE) return;
    this.open();
  }

  /** Disconnects cleanly (DISCONNECT: the broker discards the will) and stops reconnecting. */
  stop(): void {
    if (this.state === STOPPED_STATE) return;
    if (this.link) {
      this.session.disconnect(this.host.nowMs());
      this.closeLink();
    }
    this.state = STOPPED_STATE;
    this.setTimer(0, -1);
  }

  /**
   * Publishes. QoS 1 is kept in the outbox until acknowledged, across reconnects, also when called
   * offline. Returns the packet id (QoS 1), 0 (QoS 0 sent), or a status: OUTBOX_FULL, NOT_CONNECTED
   * or QOS0_DROPPED (QoS 0 offline, per offlineQos0), WOULD_BLOCK, NO_MEMORY, STOPPED. Throws for a
   * bad topic or QoS.
   */
  publish(topic: Data, payload: Data | null, qos = 0, retain = false): number {
    if (this.state === STOPPED_STATE) return STOPPED;
    const r = this.session.publish(topic, payload, qos, retain, this.host.nowMs());
    if (r === NOT_CONNECTED && this.o.offlineQos0 === 'drop') {
      this.dropped++;
      return QOS0_DROPPED;
    }
    return r;
  }

  /** Subscribes `handler` to `filter` (wildcards allowed). Sent now if online, else at the next connect. Throws for a bad filter or QoS. */
  subscribe(filter: string, qos: number, handler: Handler): void {
    const n = utf8(filter, STR_FILTER);
    if (!(qos === 0 || qos === 1 || qos === 2)) throw new RangeError('QoS must be 0, 1 or 2');
    const bytes = new Uint8Array(n);
    utf8(filter, STR_FILTER, bytes, 0);
    const sub: Subscription = { filter, bytes, qos, handler, known: false, packetId: 0 };
    this.subs.push(sub);
    if (this.online) this.sendSubscribe(sub);
  }

  /** Removes the handlers of `filter` and unsubscribes from it. */
  unsubscribe(filter: string): void {
    for (let i = this.subs.length - 1; i >= 0; i--) if (this.subs[i].filter === filter) this.subs.splice(i, 1);
    if (this.online) this.session.unsubscribe([filter], this.host.nowMs());
  }

  // ---- connection ----

  private open(): void {
    this.state = OPENING;
    const serial = ++this.linkSerial;
    this.setTimer(3, this.o.openTimeoutMs ?? 10000);
    this.link = this.host.open(this.o, {
      onOpen: () => {
        if (serial !== this.linkSerial) return;
        this.state = LINKED;
        this.rxStart = this.rxEnd = 0;
        const s = this.session.start(this.host.nowMs());
        if (s < 0) this.drop(s);
        else this.armSession();
      },
      onData: (bytes, offset, length) => {
        if (serial !== this.linkSerial) return;
        this.queue(bytes, offset, length);
      },
      onWritable: () => {
        if (serial === this.linkSerial) this.session.pump(this.host.nowMs());
      },
      onClose: () => {
        if (serial !== this.linkSerial) return;
        this.link = null;
        this.drop(CONNECTION_LOST);
      },
    });
  }

  private closeLink(): void {
    const link = this.link;
    this.link = null;
    this.linkSerial++;
    if (link) link.close();
  }

  /** The connection ended with `status`: close the link, and reconnect unless the status is final. */
  private drop(status: number): void {
    if (this.state === STOPPED_STATE || this.state === WAITING) return;
    this.closeLink();
    this.session.linkLost();
    this.rxStart = this.rxEnd = 0;
    // CONNACK 1, 2 are configuration errors, 4 and 5 credentials: retrying would not help (fault 7).
    if (status === REFUSED_PROTOCOL_VERSION || status === REFUSED_IDENTIFIER || status === REFUSED_BAD_CREDENTIALS || status === REFUSED_NOT_AUTHORIZED) {
      this.state = STOPPED_STATE;
      this.setTimer(0, -1);
      this.events.onDisconnect?.(status, -1);
      return;
    }
    // A connection that did not last does not count as a success (a takeover loop, fault 14).
    if (this.onlineAt && ((this.host.nowMs() - this.onlineAt) >>> 0) >= (this.o.stableMs ?? 10000)) this.attempt = 0;
    this.onlineAt = 0;
    const min = this.o.reconnectMinMs ?? 1000;
    const max = this.o.reconnectMaxMs ?? 60000;
    const bound = Math.min(max, min * 2 ** Math.min(this.attempt++, 30));
    // Full jitter (a random delay in [0, bound)); at least 1/4 of `min`, so a dead broker is not hammered.
    const delay = Math.max(Math.ceil(min / 4), Math.floor(this.host.random() * bound));
    this.state = WAITING;
    this.setTimer(2, delay);
    this.events.onDisconnect?.(status, delay); // CONNACK 3 (server unavailable) lands here: back off
  }

  private connected(present: boolean, kept: boolean): void {
    this.connects++;
    this.onlineAt = this.host.nowMs();
    // Subscriptions the broker does not have: all, unless it kept the session.
    for (let i = 0; i < this.subs.length; i++) {
      const sub = this.subs[i];
      if (!present) sub.known = false;
      sub.packetId = 0;
      if (!sub.known) this.sendSubscribe(sub);
    }
    this.events.onConnect?.(present, kept);
  }

  private sendSubscribe(sub: Subscription): void {
    const id = this.session.subscribe([sub.filter], [sub.qos], this.host.nowMs());
    sub.packetId = id > 0 ? id : 0;
  }

  private subscribed(id: number, codes: Uint8Array, off: number): void {
    for (let i = 0; i < this.subs.length; i++) {
      const sub = this.subs[i];
      if (sub.packetId !== id) continue;
      sub.packetId = 0;
      if (codes[off] === SUBACK_FAILURE) this.events.onSubscribeFailed?.(sub.filter);
      else sub.known = true;
    }
  }

  // ---- receiving: queued in the socket callback, handled from a deferred task ----

  private queue(bytes: Uint8Array, offset: number, length: number): void {
    const rx = this.rx;
    if (this.rxEnd + length > rx.length) {
      // Move what is left to the front.
      rx.copyWithin(0, this.rxStart, this.rxEnd);
      this.rxEnd -= this.rxStart;
      this.rxStart = 0;
      if (this.rxEnd + length > rx.length) {
        this.drop(RX_OVERFLOW);
        return;
      }
    }
    for (let i = 0; i < length; i++) rx[this.rxEnd + i] = bytes[offset + i];
    this.rxEnd += length;
    if (!this.draining) {
      this.draining = true;
      this.host.defer(this.drainFn);
    }
  }

  private drain(): void {
    this.draining = false;
    const start = this.rxStart;
    const end = this.rxEnd;
    if (start === end || this.state !== LINKED) return;
    this.rxStart = end; // taken now: a handler may close the link (which clears the queue)
    this.session.receive(this.rx, start, end - start, this.host.nowMs());
    this.armSession();
  }

  /** Every handler whose filter matches (fragments too: Message tells a piece from a whole). */
  private dispatch(): void {
    const m = this.session.message;
    for (let i = 0; i < this.subs.length; i++) {
      const sub = this.subs[i];
      if (matchTopic(sub.bytes, 0, sub.bytes.length, m.topicData, m.topicOffset, m.topicOffset + m.topicLength)) sub.handler(this.message);
    }
  }

  // ---- timers: one at a time ----

  /**
   * Keeps a timer for the session's next deadline. Activity only moves keepalive deadlines later, so
   * a timer already due no later is kept (it then ticks early and re-arms): no timer per message.
   */
  private armSession(): void {
    if (this.state !== LINKED) return;
    const now = this.host.nowMs();
    const d = this.session.nextDeadline(now);
    if (d >= 0 && this.timerKind === 1 && ((this.timerDue - now) | 0) <= d) return;
    this.setTimer(d < 0 ? 0 : 1, d);
  }

  private setTimer(kind: number, ms: number): void {
    if (this.timer !== null) this.host.clearTimer(this.timer);
    this.timer = null;
    this.timerKind = 0;
    if (ms < 0 || !kind) return;
    this.timerKind = kind;
    this.timerDue = this.host.nowMs() + ms;
    this.timer = this.host.setTimer(this.timerFn, ms);
  }

  private onTimer(): void {
    const kind = this.timerKind;
    this.timer = null;
    this.timerKind = 0;
    if (kind === 2) {
      if (this.state === WAITING) this.open();
    } else if (kind === 3) {
      if (this.state === OPENING) {
        this.closeLink();
        this.drop(CONNECTION_LOST);
      }
    } else if (kind === 1 && this.state === LINKED) {
      this.session.tick(this.host.nowMs());
      this.armSession();
    }
  }
}
