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
  STOPPED,
} from './codec/constants.js';
import { Decoder } from './codec/decoder.js';
import type { Data } from './codec/encode.js';
import { writeFilters } from './codec/encode.js';
import { utf8, fail, STR_FILTER, STRING, XS } from './codec/utf8.js';
import type { Host, Link, LinkEvents, Target } from './host.js';
import { Session } from './session/session.js';
import type { SessionEvents, SessionOptions } from './session/session.js';
import { matchTopic, topicBytes } from './topic.js';

export interface ClientOptions extends SessionOptions, Target {
  /**
   * First reconnect delay bound and its cap, ms (defaults 1000 and 60000; a reconnectMinMs that is
   * not positive is the default). Delays are random in [0, bound), at least reconnectMinMs / 4.
   */
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
  /**
   * Bytes received and not yet handled, at most (default 2 KiB on XS, 64 KiB on Node: its largest read). When handlers
   * fall that far behind, the link is told to hold the rest (onData takes less, resume() later):
   * the host stops reading and TCP's window makes the broker wait. Nothing is dropped. Not
   * positive: the default.
   */
  rxQueueBytes?: number;
}

export interface ClientEvents {
  /** Online. `sessionPresent` from CONNACK; `sessionKept` false when a persistent session was lost (fault 4). */
  onConnect?(sessionPresent: boolean, sessionKept: boolean): void;
  /**
   * Offline, with the status that ended the connection; a reconnect follows in `retryMs` (-1:
   * stopped). Once for every connection attempt that start() or a reconnect began, however it ended:
   * a remote error, a lost link, a final refusal (retryMs -1), or stop()/end() (STOPPED, -1).
   * `reason`: the host's words when the link itself failed or closed (CONNECTION_LOST: a refused
   * connection, a name that did not resolve, a TLS failure), for logs; '' otherwise.
   */
  onDisconnect?(status: number, retryMs: number, reason: string): void;
  /** A QoS 1 message was acknowledged (PUBACK), a QoS 2 one completed (PUBCOMP). */
  onPublished?(packetId: number): void;
  /** The link takes bytes again after it was full: a publish that returned WOULD_BLOCK may be tried again. */
  onWritable?(): void;
  /**
   * SUBACK, once per filter of a subscribe(): the QoS the broker granted (0, 1, 2), or 0x80
   * (SUBACK_FAILURE) when it refused the filter (fault 8). A refused filter is not retried.
   */
  onSubscribed?(filter: string, granted: number): void;
  /** UNSUBACK, once per filter of an unsubscribe(); also when a new session made it moot. */
  onUnsubscribed?(filter: string): void;
  /**
   * A message (or a piece of one) that matched no handler's filter: one the broker kept for a
   * persistent session before subscribe() was called again, or one for a filter since unsubscribed.
   * Handlers run first; this only when none matched. It is acknowledged like any other.
   */
  onMessage?(message: Message): void;
  /** end() finished: the client is stopped; `left` QoS 1 messages were not acknowledged (0: all were). */
  onEnd?(left: number): void;
  /**
   * A handler or an event threw. The message still counts as delivered (its PUBACK goes), the other
   * handlers and messages run, and the client's own work goes on (an event's error loses no bytes
   * and skips nothing). Without this event, or when it throws, the error is thrown again from a
   * deferred task, after the bytes at hand are handled: it surfaces as an uncaught error, and nothing
   * is lost. `filter` is the handler's, or '' for onMessage and the other events.
   */
  onHandlerError?(error: unknown, filter: string): void;
}

export type Handler = (message: Message) => void;
// What Client._call calls: a handler or any event (their arguments are checked where they are given).
type Callback = (a: any, b: any, c: any) => void;

// A subscription, or (_handler null) an unsubscription owed to the broker. On XS a name is a key in
// flash unless every app has it: names the engine holds (filter, qos, packetId…) stay, and the
// others are private (_x), which the device build names from such keys (tools/xs-post.mjs reuseKeys).
interface Subscription {
  filter: string;
  bytes: Uint8Array; // the filter's UTF-8, for matching without strings
  qos: number;
  _handler: Handler | null;
  _known: boolean; // the broker has it (SUBACK seen in a session it kept); an unsubscription: never
  packetId: number; // of the (UN)SUBSCRIBE awaiting its ack, or 0
  _group: number; // the subscribe()/unsubscribe() call: its filters go in one packet
  index: number; // the filter's place in that packet (its SUBACK return code)
}

/**
 * The message a handler receives: the session's decoder record itself, reused for every message and
 * valid only during the call. Zero-allocation access through its fields (topicData, topicOffset,
 * topicLength, data, payloadOffset, payloadLength, qos, retain, dup, packetId, fragmentOffset,
 * messageLength); `topic`, `payload` and `text` allocate. Read it; never call its methods.
 */
type Message = Decoder;
export { Decoder as Message };

const EMPTY = ''; // hoisted: a literal on a per-message path is a fresh chunk each time under XS

// Client states.
const IDLE = 0;
const OPENING = 1; // link opening
const LINKED = 2; // link up, session connecting or online
const WAITING = 3; // waiting to reconnect
const STOPPED_STATE = 4;

export class Client {
  // `declare`: assigned in the constructor. A plain declaration is also emitted as a class field
  // (ES2022 define semantics): bytes in the bundle for a property the constructor sets anyway.
  declare readonly session: Session;
  declare readonly message: Message;
  /** QoS 0 messages dropped while offline (offlineQos0: 'drop'). */
  dropped = 0;
  /** Connections made (CONNACK accepted). */
  connects = 0;

  declare private readonly _host: Host;
  declare private readonly _o: ClientOptions;
  declare private readonly _events: ClientEvents;
  // Subscriptions, and unsubscriptions the broker may still need (handler null), in call order.
  // Replaced, never changed in place: a handler may (un)subscribe while dispatch walks the list.
  private _subs: Subscription[] = [];
  private _groups = 0; // subscribe()/unsubscribe() calls made
  declare private _endTimer?: unknown; // end() is waiting (null or absent: not; no initial value, 32 B of RAM)
  private _link: Link | null = null;
  private _linkSerial = 0; // events of an older link are ignored
  private _state = IDLE;
  private _attempt = 0;
  private _onlineAt = 0;
  private _timer: unknown = null;
  private _timerKind = 0; // 1 session deadline, 2 reconnect, 3 open timeout
  private _timerDue = 0; // host.nowMs() when the timer fires
  // Received bytes not yet handled: handled from a deferred task, never in the socket callback.
  declare private readonly _rx: Uint8Array;
  private _rxStart = 0;
  private _rxEnd = 0;
  protected _draining = false;
  private _held = false; // the link holds bytes the queue had no room for: resume() after a drain
  protected readonly _drainFn = () => this._drain();
  private readonly _timerFn = () => this._onTimer();
  // The last 4 string topics published, each followed by its bytes (one array: on XS each array is
  // an object of its own in RAM): a device publishes to a few topics again and again, and reading a
  // string's characters allocates in XS (about 3 slots each), so a topic seen again is sent from
  // its bytes. A miss costs what topicBytes() does, once.
  private readonly _topics: Array<string | Uint8Array | null> = [null, null, null, null, null, null, null, null];
  private _topicNext = 0;

  constructor(host: Host, options: ClientOptions, events: ClientEvents = {}) {
    // Misuse throws here, at once, rather than as endless failed connections later.
    if (typeof options !== 'object' || !options) fail('Client options must be an object');
    if (typeof options.host !== STRING || !options.host) fail('options.host must be the broker\'s name or address');
    const port = options.port;
    if (!(port >= 1 && port <= 65535 && port === (port | 0))) fail('options.port must be an integer from 1 to 65535');
    this._host = host;
    this._o = options;
    this._events = events;
    // On XS, a board's default (an ESP8266 has about 40 KB for the whole app); on Node, its largest read.
    // (Not positive: the default. A queue of 0 bytes never took a CONNACK, and said nothing.)
    const q = options.rxQueueBytes!;
    this._rx = new Uint8Array(q > 0 ? q : XS ? 2048 : 65536);
    this.session = new Session(options, new Bridge(this, 0));
    this.message = this.session.message;
  }

  /** Whether the session is online (CONNACK accepted). */
  get online(): boolean {
    return this.session.state === 2;
  }

  /**
   * Starts connecting (and reconnecting until stop()); again after stop() or a final refusal, with
   * what the outbox kept. Throws what the host's open() throws for a target it can never reach.
   */
  start(): void {
    if (this._state !== IDLE && this._state !== STOPPED_STATE) return;
    this._attempt = 0;
    this._open();
  }

  /**
   * Disconnects cleanly (DISCONNECT: the broker discards the will) and stops reconnecting. The
   * outbox is kept: QoS 1 messages not yet acknowledged go again after start(). A connection
   * attempt in progress is reported to onDisconnect (STOPPED, -1); a pending end() finishes.
   */
  stop(): void {
    const was = this._state;
    if (was !== STOPPED_STATE) {
      // The session goes offline also with no link: one that closed with its drop still deferred
      // left it online, and its messages in flight were then never sent again. What the queue holds
      // is the old connection's.
      this.session.disconnect(this._host.nowMs());
      this._closeLink();
      this._rxStart = this._rxEnd = 0;
      this._state = STOPPED_STATE;
      this._setTimer(0, -1);
      if (was && was < WAITING) this._call(this._events.onDisconnect, STOPPED, -1, EMPTY); // opening or linked: an attempt ends
    }
    if (this._endTimer != null) this._settle(true);
  }

  /**
   * Ends gracefully: stops once every QoS 1 message is acknowledged and every (un)subscribe
   * answered, or after `timeoutMs` at the latest, meanwhile connecting and reconnecting as usual.
   * Then onEnd(left) reports how many QoS 1 messages were not acknowledged (they stay in the
   * outbox for a later start()). With nothing outstanding, or on a client never started or
   * stopped, it stops (and reports) at once.
   */
  end(timeoutMs: number): void {
    if (this._endTimer == null) this._endTimer = this._host.setTimer(() => this._settle(true), timeoutMs);
    this._settle();
  }

  /**
   * Publishes. QoS 1 and 2 are kept in the outbox until acknowledged, across reconnects, also when
   * called offline. Returns the packet id (QoS 1, 2), 0 (QoS 0 sent), or a status: OUTBOX_FULL (no
   * room now), NO_MEMORY (it can never fit), NOT_CONNECTED or QOS0_DROPPED (QoS 0 offline, per
   * offlineQos0), WOULD_BLOCK, STOPPED. Throws for a bad topic or QoS.
   */
  publish(topic: Data, payload: Data | null, qos = 0, retain = false): number {
    if (this._state === STOPPED_STATE) return STOPPED;
    if (typeof topic === STRING) {
      const cache = this._topics;
      let k = 0;
      while (k < cache.length && cache[k] !== topic) k += 2;
      if (k === cache.length) {
        const bytes = topicBytes(topic as string); // throws for a bad topic, as publishing it would
        k = this._topicNext;
        this._topicNext = (k + 2) % cache.length;
        cache[k] = topic as string;
        cache[k + 1] = bytes;
      }
      topic = cache[k + 1] as Uint8Array;
    }
    const r = this.session.publish(topic, payload, qos, retain, this._host.nowMs());
    if (r === NOT_CONNECTED && this._o.offlineQos0 === 'drop') {
      this.dropped++;
      return QOS0_DROPPED;
    }
    return r;
  }

  /**
   * Subscribes `handler` to a filter, or to several in one SUBSCRIBE (wildcards allowed; `qos` one
   * for all, or one per filter). Sent now if online, else at the next connect; onSubscribed reports
   * each filter's SUBACK. A filter subscribed again gets the new handler and QoS in place of the old.
   * Throws TypeError/RangeError for a bad filter or QoS, or filters that cannot fit in txBufferSize.
   */
  subscribe(filters: string | string[], qos: number | number[], handler: Handler): void {
    // Also unsubscribe()'s body (qos and handler null): one method less on the device.
    const list = ([] as string[]).concat(filters);
    const q = qos === null ? null : list.map((_, i) => (typeof qos === 'number' ? qos : qos[i]));
    // A missing handler must not pass for an unsubscription.
    if (q && typeof handler !== 'function') fail('handler must be a function');
    // Checked whole before anything changes: each filter, each QoS, and the packet's size.
    if (writeFilters(null, 0, q ? 0x82 : 0xa2, 1, list, q) > (this._o.txBufferSize ?? (XS ? 512 : 1024))) fail('filters over txBufferSize', 1);
    const group = ++this._groups;
    // The filters' earlier subscriptions or unsubscriptions give way to these (the last of a filter given twice wins).
    const subs = this._subs.filter((sub) => list.indexOf(sub.filter) < 0);
    for (let i = 0; i < list.length; i++) {
      const filter = list[i];
      if (list.lastIndexOf(filter) !== i) continue;
      const bytes = new Uint8Array(utf8(filter, STR_FILTER));
      utf8(filter, STR_FILTER, bytes, 0);
      subs.push({ filter, bytes, qos: q ? q[i] : 0, _handler: handler, _known: false, packetId: 0, _group: group, index: 0 });
    }
    this._subs = subs;
    this._flushSubs();
  }

  /** Removes the handlers of a filter (or several) and unsubscribes from it, in one UNSUBSCRIBE; onUnsubscribed reports each. */
  unsubscribe(filters: string | string[]): void {
    this.subscribe(filters, null!, null!);
  }

  // ---- connection ----

  private _open(): void {
    // First: open() throws for a target that can never work, and nothing has changed then.
    this._link = this._host.open(this._o, new Bridge(this, ++this._linkSerial));
    this._state = OPENING;
    this._setTimer(3, this._o.openTimeoutMs ?? 10000);
  }

  private _closeLink(): void {
    const link = this._link;
    this._link = null;
    this._linkSerial++;
    if (link) link.close();
  }

  /** The connection ended with `status`: close the link, and reconnect unless the status is final. */
  private _drop(status: number, reason = ''): void {
    if (this._state === STOPPED_STATE || this._state === WAITING) return;
    this._closeLink();
    this.session.linkLost();
    this._rxStart = this._rxEnd = 0;
    // CONNACK 1, 2 are configuration errors, 4 and 5 credentials: retrying would not help (fault 7).
    if (status === REFUSED_PROTOCOL_VERSION || status === REFUSED_IDENTIFIER || status === REFUSED_BAD_CREDENTIALS || status === REFUSED_NOT_AUTHORIZED) {
      this._state = STOPPED_STATE;
      this._setTimer(0, -1);
      this._call(this._events.onDisconnect, status, -1, reason);
      this._settle();
      return;
    }
    // A connection that did not last does not count as a success (a takeover loop, fault 14).
    if (this._onlineAt && ((this._host.nowMs() - this._onlineAt) >>> 0) >= (this._o.stableMs ?? 10000)) this._attempt = 0;
    this._onlineAt = 0;
    // (Not positive: the default. 0 made a reconnect loop with no delay at all.)
    const min = this._o.reconnectMinMs! > 0 ? this._o.reconnectMinMs! : 1000;
    const max = this._o.reconnectMaxMs ?? 60000;
    const bound = Math.min(max, min * 2 ** Math.min(this._attempt++, 30));
    // Full jitter (a random delay in [0, bound)); at least 1/4 of `min`, so a dead broker is not hammered.
    const delay = Math.max(Math.ceil(min / 4), Math.floor(this._host.random() * bound));
    this._state = WAITING;
    this._setTimer(2, delay);
    this._call(this._events.onDisconnect, status, delay, reason); // CONNACK 3 (server unavailable) lands here: back off
  }

  /**
   * Sends what is owed: SUBSCRIBEs the broker lacks, UNSUBSCRIBEs it has not had, a packet per
   * subscribe()/unsubscribe() call. Retried on writable and after each SUBACK/UNSUBACK, as a full
   * link or 8 open exchanges refuse some.
   */
  private _flushSubs(): void {
    if (!this.online) return;
    const subs = this._subs;
    for (let i = 0; i < subs.length; i++) {
      const first = subs[i];
      if (first._known || first.packetId) continue;
      const filters: string[] = [];
      const qos: number[] = [];
      for (let j = i; j < subs.length; j++) {
        const sub = subs[j];
        if (sub._group !== first._group || sub._known || sub.packetId) continue;
        sub.index = filters.push(sub.filter) - 1;
        qos.push(sub.qos);
      }
      const id = this.session.subscribe(filters, first._handler ? qos : null, this._host.nowMs());
      if (id <= 0) return;
      for (let j = i; j < subs.length; j++) {
        const sub = subs[j];
        if (sub._group === first._group && !sub._known && !sub.packetId) sub.packetId = id;
      }
    }
  }

  /**
   * SUBACK (codes given) or UNSUBACK for packet `id`: each filter sent in it is reported, and an
   * unsubscription is done. Id 0 (a new session): every unsubscription is done.
   */
  protected _acked(id: number, codes: Uint8Array | null, off: number): void {
    const subs = this._subs;
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i];
      if (sub.packetId !== id || (!id && sub._handler)) continue;
      sub.packetId = codes ? 0 : -1; // -1: done, removed below
      sub._known = true; // a refusal (0x80) is reported, not retried
      if (codes) this._call(this._events.onSubscribed, sub.filter, codes[off + sub.index]);
      else this._call(this._events.onUnsubscribed, sub.filter);
    }
    this._subs = this._subs.filter((sub) => sub.packetId >= 0);
    this._flushSubs();
    this._settle();
  }

  // ---- receiving: queued in the socket callback, handled from a deferred task ----

  private _drain(): void {
    this._draining = false;
    const start = this._rxStart;
    const end = this._rxEnd;
    if (start === end || this._state !== LINKED) return;
    this._rxStart = end; // taken now: a handler may close the link (which clears the queue)
    const n = this.session.receive(this._rx, start, end - start, this._host.nowMs());
    this._armSession();
    // The session took less: an acknowledgement waits for the link (back-pressure). The rest stays
    // queued, and the link stays held, until onWritable drains again.
    if (n >= 0 && start + n < end && this._rxStart === end) this._rxStart = start + n;
    else if (this._held && this._link) {
      this._held = false;
      this._link.resume();
    }
  }

  /**
   * end() is waiting: it finishes (stop(), onEnd) when `now`, when nothing is outstanding any more,
   * or when the client has stopped.
   */
  private _settle(now?: boolean): void {
    if (this._endTimer == null) return;
    if (now || this._state === STOPPED_STATE || this._state === IDLE || (!this.session.queued && this._subs.every((sub) => sub._known))) {
      this._host.clearTimer(this._endTimer);
      this._endTimer = null;
      this.stop();
      this._call(this._events.onEnd, this.session.queued);
    }
  }

  /**
   * Calls the application's `fn`: an event (`this`: the events), or with `filter` the handler of that
   * subscription. What it throws never reaches the protocol work around it (bytes received after it,
   * the rest of a CONNACK, an end() to finish): it goes to onHandlerError(error, filter, '' for an
   * event), or is thrown again from a deferred task — also when onHandlerError throws.
   */
  protected _call(fn: Callback | undefined, a?: unknown, b?: unknown, c?: unknown, filter?: string): void {
    const events = this._events;
    if (fn)
      try {
        fn.call(filter === undefined ? events : undefined, a, b, c);
      } catch (e) {
        const report = events.onHandlerError;
        if (report && fn !== report) this._call(report, e, filter ?? EMPTY);
        else
          this._host.defer(() => {
            throw e;
          });
      }
  }

  // ---- timers: one at a time ----

  /**
   * Keeps a timer for the session's next deadline. Activity only moves keepalive deadlines later, so
   * a timer already due no later is kept (it then ticks early and re-arms): no timer per message.
   */
  private _armSession(): void {
    if (this._state !== LINKED) return;
    const now = this._host.nowMs();
    const d = this.session.nextDeadline(now);
    if (d >= 0 && this._timerKind === 1 && ((this._timerDue - now) | 0) <= d) return;
    this._setTimer(d < 0 ? 0 : 1, d);
  }

  private _setTimer(kind: number, ms: number): void {
    if (this._timer !== null) this._host.clearTimer(this._timer);
    this._timer = null;
    this._timerKind = 0;
    if (ms < 0 || !kind) return;
    this._timerKind = kind;
    this._timerDue = this._host.nowMs() + ms;
    this._timer = this._host.setTimer(this._timerFn, ms);
  }

  private _onTimer(): void {
    const kind = this._timerKind;
    this._timer = null;
    this._timerKind = 0;
    if (kind === 2) {
      if (this._state === WAITING) this._open();
    } else if (kind === 3) {
      if (this._state === OPENING) {
        this._closeLink();
        this._drop(CONNECTION_LOST, 'timeout'); // no connection within openTimeoutMs
      }
    } else if (kind === 1 && this._state === LINKED) {
      this.session.tick(this._host.nowMs());
      this._armSession();
    }
  }
}

/** The members of Client that Bridge uses (private to everything else). */
interface Internals {
  readonly session: Session;
  _host: Host;
  _link: Link | null;
  _linkSerial: number;
  _state: number;
  _rx: Uint8Array;
  _rxStart: number;
  _rxEnd: number;
  _held: boolean;
  _events: ClientEvents;
  readonly message: Message;
  connects: number;
  _onlineAt: number;
  _subs: Subscription[];
  _settle(): void;
  _call(fn: Callback | undefined, a?: unknown, b?: unknown, c?: unknown, filter?: string): void;
  _acked(id: number, codes: Uint8Array | null, off: number): void;
  _drop(status: number, reason?: string): void;
  _armSession(): void;
  _flushSubs(): void;
  _draining: boolean;
  readonly _drainFn: () => void;
}

/**
 * What the session and the links tell their client: one object of two fields whose methods are
 * shared, rather than objects of closures. On XS a closure is 6 slots of RAM (192 B on the lin
 * simulator): the session's seven and their object were 1.6 KB a client, a link's four and theirs
 * about 0.9 KB (measured); these methods are flash instead. The session's is made with the client;
 * each link gets its own, with the link's serial: events of a link the client has replaced or
 * closed (its serial is no longer the client's) are ignored.
 */
class Bridge implements SessionEvents, LinkEvents {
  declare private readonly _c: Internals;
  declare private readonly _s: number;

  constructor(client: Client, serial: number) {
    this._c = client as unknown as Internals;
    this._s = serial;
  }

  // ---- the session's (SessionEvents) ----

  send(b: Uint8Array, o: number, l: number): boolean {
    const link = this._c._link;
    return link ? link.write(b, o, l) : false;
  }

  /** The session is online. */
  onConnected(present: boolean, kept: boolean): void {
    const c = this._c;
    c.connects++;
    c._onlineAt = c._host.nowMs();
    const subs = c._subs;
    for (let i = 0; i < subs.length; i++) {
      // Not acknowledged on the last connection: sent again. A new session has none of the
      // subscriptions, nor anything to unsubscribe from: those unsubscriptions are done.
      subs[i].packetId = 0;
      if (!present) subs[i]._known = false;
    }
    if (!present) c._acked(0, null, 0);
    else c._flushSubs();
    // Not when that ended it: an end() waiting only for unsubscriptions finishes there (stop(), onEnd).
    if (c._state === LINKED) c._call(c._events.onConnect, present, kept);
  }

  /**
   * A message or a fragment of one is in session.message: every handler whose filter matches, in
   * subscription order, then onMessage if none did (fragments too: Message tells a piece from a whole).
   */
  onMessage(): void {
    const c = this._c;
    const m = c.message;
    const events = c._events;
    const subs = c._subs; // this message's list, whatever handlers (un)subscribe meanwhile
    let matched = false;
    // A handler's stop() ends the dispatch: nothing runs after stop(), nor after a start() that
    // followed it (a new connection). (Not a closed link: the last messages that came with the
    // peer's close are still handled, as onClose promises: the client is LINKED until its drop.)
    for (let i = 0; i <= subs.length && c._state === LINKED; i++) {
      const sub = i < subs.length ? subs[i] : null;
      let fn: Handler | undefined;
      if (sub) {
        if (!sub._handler || !matchTopic(sub.bytes, 0, sub.bytes.length, m.topicData, m.topicOffset, m.topicOffset + m.topicLength)) continue;
        fn = sub._handler;
        matched = true;
      } else if (!matched) fn = events.onMessage;
      if (!fn) return;
      c._call(fn, m, undefined, undefined, sub ? sub.filter : undefined);
    }
  }

  onPublished(id: number): void {
    this._c._call(this._c._events.onPublished, id);
    this._c._settle();
  }

  onSubscribed(id: number, codes: Uint8Array, off: number): void {
    this._c._acked(id, codes, off);
  }

  onUnsubscribed(id: number): void {
    this._c._acked(id, null, 0);
  }

  /** The session's (a status: a number) or the link's (a reason: a string). */
  onClose(why: number | string): void {
    const c = this._c;
    const serial = this._s;
    if (typeof why !== STRING) c._drop(why as number);
    else if (serial === c._linkSerial) {
      c._link = null;
      // Bytes already queued (a CONNACK refusal, the last messages) are handled first: the drain
      // they scheduled runs before this deferred drop.
      c._host.defer(() => {
        if (serial === c._linkSerial) c._drop(CONNECTION_LOST, why as string);
      });
    }
  }

  // ---- a link's (LinkEvents) ----

  onOpen(): void {
    const c = this._c;
    if (this._s !== c._linkSerial) return;
    c._state = LINKED;
    c._rxStart = c._rxEnd = 0;
    c._held = false;
    const s = c.session.start(c._host.nowMs());
    if (s < 0) c._drop(s);
    else c._armSession();
  }

  /**
   * Copies what fits of incoming bytes into the client's queue, for its _drain (a deferred task);
   * returns how many (flow control). A link the client has replaced or closed: taken, and dropped.
   */
  onData(bytes: Uint8Array, offset: number, length: number): number {
    const c = this._c;
    if (this._s !== c._linkSerial) return length;
    const rx = c._rx;
    if (c._rxEnd + length > rx.length && c._rxStart > 0) {
      // Move what is left to the front.
      rx.copyWithin(0, c._rxStart, c._rxEnd);
      c._rxEnd -= c._rxStart;
      c._rxStart = 0;
    }
    let n = rx.length - c._rxEnd;
    if (n >= length) n = length;
    else c._held = true; // the link keeps the rest until _drain makes room
    for (let i = 0; i < n; i++) rx[c._rxEnd + i] = bytes[offset + i];
    c._rxEnd += n;
    if (!c._draining) {
      c._draining = true;
      c._host.defer(c._drainFn);
    }
    return n;
  }

  onWritable(): void {
    const c = this._c;
    if (this._s !== c._linkSerial) return;
    c.session.pump(c._host.nowMs());
    this.onData(c._rx, 0, 0); // a drain for the bytes the session left while an ack was owed
    c._flushSubs();
    c._call(c._events.onWritable);
  }
}
