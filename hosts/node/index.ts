// The Node.js host: node:net / node:tls links, Node timers and a monotonic clock. It adapts Node's
// stream events to the Host contract of src/host.ts, whose promises the client relies on:
// - events never fire inside open(), write() or close() (the client is not re-entrant there);
// - exactly one onClose ends every link, whether it opened or not, and nothing follows it;
// - write() copies (the caller reuses its buffer) and either takes all the bytes or none;
// - TLS never falls back to plain TCP.
// Also what Node users expect and a device does not need: NodeClient, a Client with broker URLs,
// default ports, generated client ids, options checked at once, and promises (connected(), end()).
import * as net from 'node:net';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client, STOPPED, statusName } from '../../src/index.js';
import type { ClientEvents, ClientOptions, Host, Link, LinkEvents, Target, TlsOptions } from '../../src/index.js';

/**
 * Bytes a link may hold queued in user space before write() refuses more. Node's own
 * writableHighWaterMark (16 KiB) is only advisory, and an MQTT client legitimately bursts past it
 * (a resent outbox); the limit here bounds memory when the peer stops reading (a half-open link).
 */
export const WRITE_HIGH_WATER = 1 << 20;

/** Packets written in one turn are gathered in a buffer of this size, then written to the socket at once. */
const STAGE_BYTES = 16384;

/** After close(), how long a graceful end (FIN, TLS close_notify) may take before the socket is destroyed. */
export const CLOSE_GRACE_MS = 2000;

/**
 * The longest delay Node's setTimeout takes: a 32-bit signed count of ms. Longer ones (Infinity
 * too) fire after 1 ms, with a TimeoutOverflowWarning; they are cut to this, 24.8 days, which for
 * a timeout is as good as never.
 */
const MAX_TIMER_MS = 0x7fffffff;

/** A PEM given as bytes: Node's secure context takes strings and Buffers. */
function pem(v: string | Uint8Array | undefined): string | Buffer | undefined {
  if (v === undefined || typeof v === 'string') return v;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A PEM, or several (a CA given as an array, as node:tls takes it), each as pem() makes it. */
function pems(v: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined): string | Buffer | Array<string | Buffer> | undefined {
  return Array.isArray(v) ? v.map((one: string | Uint8Array) => pem(one)!) : pem(v as string | Uint8Array | undefined);
}

/** An error's message, with its code (ECONNREFUSED, ERR_TLS_CERT_ALTNAME_INVALID, …) when the message lacks it. */
function errorReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const message = err.message.replace(/\s+/g, ' ').trim(); // OpenSSL's messages end in a newline
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

function tlsConnectOptions(target: Target, t: TlsOptions): tls.ConnectionOptions {
  const name = t.servername ?? target.host;
  const o: tls.ConnectionOptions = {
    host: target.host,
    port: target.port,
    ca: pems((t as NodeTlsOptions).ca),
    cert: pem(t.cert),
    key: pem(t.key),
    rejectUnauthorized: true, // fail closed: an unverified server is a failed link, never a warning
  };
  if (!net.isIP(name)) o.servername = name;
  // SNI must not carry an IP address (RFC 6066; Node warns), but the certificate must still be
  // checked against the name the caller asked for, which Node would otherwise take from `host`.
  else if (name !== target.host) o.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(name, cert);
  return o;
}

class NodeLink implements Link {
  private readonly socket: net.Socket | null;
  private readonly events: LinkEvents;
  private opened = false;
  private ended = false; // onClose was emitted or scheduled: no event may follow
  private wantWritable = false; // a write was refused: onWritable on the next 'drain'
  private reason = ''; // the first error seen, reported by onClose
  private kept: Buffer | null = null; // bytes the client had no room for (flow control)
  private gone = ''; // the peer closed while bytes were kept: onClose(gone) once they are delivered
  private refused = false; // a write was refused, and no onWritable has followed yet
  private stage: Buffer | null = null; // packets written this turn, not yet handed to the socket
  private fill = 0;
  private flushDue = false;
  private readonly flushFn = () => this.flush();
  private resuming = false;

  constructor(target: Target, events: LinkEvents) {
    this.events = events;
    let socket: net.Socket | null = null;
    try {
      // Both connect() calls throw synchronously on bad arguments (a port out of range, a malformed
      // PEM key): that still ends the link with one onClose, later, like any other failure.
      socket = target.tls
        ? tls.connect(tlsConnectOptions(target, target.tls))
        : net.connect({ host: target.host, port: target.port, noDelay: true });
    } catch (err) {
      this.finishLater(errorReason(err));
    }
    this.socket = socket;
    if (!socket) return;
    // MQTT packets are small and latency-bound (PINGREQ, PUBACK): no Nagle delay. Set once TCP is
    // connected, which for TLS is before the handshake (tls.connect has no noDelay option).
    socket.once('connect', () => socket.setNoDelay(true));
    // A TLS link is up only once the handshake verified the server: 'connect' is the bare TCP link.
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      if (this.ended) return;
      this.opened = true;
      this.events.onOpen();
    });
    socket.on('data', (b: Buffer) => this.deliver(b));
    socket.on('drain', () => {
      if (this.ended || !this.wantWritable) return;
      this.wantWritable = false;
      this.refused = false;
      this.events.onWritable();
    });
    // A listener must stay attached for the socket's whole life, or an error after close() would
    // be an uncaught exception. Only the first error explains the ending.
    socket.on('error', (err) => {
      if (!this.reason) this.reason = errorReason(err);
    });
    socket.on('close', () => {
      const reason = this.reason || (this.opened ? 'closed by peer' : 'closed before open');
      // A clean end (the peer's FIN) after bytes the client had no room for yet: they are part of
      // the stream, delivered through resume() as usual, and onClose follows the last of them (the
      // client drops the link only after handling what it received: a QoS 0 burst then a close
      // loses nothing). Not after an error (its 'error' set `reason`): Node has discarded what it had buffered of a reset
      // stream, so what is kept is no complete tail of anything. Nor when a write was refused and
      // no onWritable followed: the client may owe an acknowledgement and read nothing more until
      // an onWritable that a closed socket never sends; it would wait for ever, so the rest is
      // dropped (the broker sends unacknowledged QoS 1 and 2 messages again).
      if (this.kept && !this.reason && !this.refused && !this.ended) this.gone = reason;
      else this.finish(reason);
    });
  }

  /** Hands `b` to the client; what it does not take is kept, and the socket paused, until resume(). */
  private deliver(b: Buffer): void {
    if (this.ended) return;
    const n = this.events.onData(b, 0, b.length); // a Buffer is a Uint8Array
    if (n >= b.length || this.ended) return;
    this.kept = b.subarray(n);
    this.socket?.pause(); // no more 'data': the kernel buffer fills and TCP's window closes
  }

  resume(): void {
    if (!this.kept || this.resuming) return;
    this.resuming = true;
    setImmediate(() => {
      this.resuming = false;
      const b = this.kept;
      this.kept = null;
      if (!b || this.ended) return;
      this.deliver(b);
      if (this.kept) return;
      if (this.gone) this.finish(this.gone); // the peer closed: everything is delivered now
      else this.socket?.resume();
    });
  }

  write(bytes: Uint8Array, offset: number, length: number): boolean {
    const s = this.socket;
    if (this.ended || !s) return false;
    if (s.destroyed || !s.writable) return this.refuse();
    if (s.writableLength + this.fill > WRITE_HIGH_WATER) {
      // Node queued more than the limit, so one of its writes returned false: 'drain' will come.
      this.wantWritable = true;
      return this.refuse();
    }
    if (length <= 0) return true;
    // Node keeps a reference to a written buffer until it is flushed, while our caller reuses its
    // own at once: copy. Packets written in one turn of the event loop are gathered in one buffer
    // and handed to the socket once, at the end of the turn (a socket.write per packet costs more
    // than encoding it: tools/bench-e2e.mjs).
    if (this.stage && this.fill + length > this.stage.length) this.flush();
    if (length > STAGE_BYTES / 4) {
      this.flush(); // in order
      s.write(Buffer.copyBytesFrom(bytes, offset, length));
      return true;
    }
    if (!this.stage || this.stage.length < length) this.stage = Buffer.allocUnsafe(STAGE_BYTES);
    const stage = this.stage;
    // A copy loop: stage.set(bytes.subarray(…)) made a view per packet (96 B on V8; test/alloc.test.ts).
    const fill = this.fill;
    for (let i = 0; i < length; i++) stage[fill + i] = bytes[offset + i];
    this.fill = fill + length;
    if (!this.flushDue) {
      this.flushDue = true;
      process.nextTick(this.flushFn);
    }
    return true;
  }

  /**
   * A refused write. The client may now wait for onWritable before it reads on (an acknowledgement
   * it owes); once the peer is gone none will come, so the bytes still kept are given up and the
   * link ends (from a later turn: never inside write()).
   */
  private refuse(): false {
    this.refused = true;
    if (this.gone) setImmediate(() => this.finish(this.gone));
    return false;
  }

  /** Hands the gathered packets to the socket; the next ones go into a new buffer. */
  private flush(): void {
    this.flushDue = false;
    const s = this.socket;
    if (!this.fill || !this.stage) return;
    // The socket keeps [0, fill) until it is sent; the rest of the buffer takes the next packets.
    const b = this.stage.subarray(0, this.fill);
    this.stage = this.stage.subarray(this.fill);
    this.fill = 0;
    if (s && !s.destroyed && s.writable) s.write(b);
  }

  close(): void {
    if (this.ended) return;
    this.flush(); // what was written goes first (a DISCONNECT)
    this.finishLater('closed');
    const s = this.socket;
    if (!s || s.destroyed) return;
    if (!this.opened) {
      s.destroy(); // still connecting: nothing worth flushing
      return;
    }
    // A graceful end flushes what was written (a DISCONNECT) before the FIN; a peer that never
    // answers it (a half-open link) cannot keep the socket alive past the grace period.
    const timer = setTimeout(() => s.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    s.once('close', () => clearTimeout(timer));
    s.end();
  }

  /** Ends the link now: nothing more is delivered, onClose is emitted from a later turn. */
  private finishLater(reason: string): void {
    this.ended = true;
    setImmediate(() => this.events.onClose(reason));
  }

  /** The link is over (called from the socket's 'close' or a deferred task, outside open/write/close). */
  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.kept = null;
    this.events.onClose(reason);
  }
}

export class NodeHost implements Host {
  /**
   * A monotonic millisecond tick (performance.now(), never Date.now(): the wall clock jumps). Kept to
   * 32 bits as a device tick is, so the client's wrap-safe arithmetic is the only kind that works.
   */
  nowMs(): number {
    return Math.floor(performance.now()) >>> 0;
  }

  /** A delay of 2^31 ms or more (Infinity too) is cut to MAX_TIMER_MS: Node would fire it after 1 ms. */
  setTimer(fn: () => void, ms: number): unknown {
    return setTimeout(fn, ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms);
  }

  clearTimer(handle: unknown): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  }

  /** setImmediate: after pending I/O callbacks, so a deferred task never runs inside one. */
  defer(fn: () => void): void {
    setImmediate(fn);
  }

  random(): number {
    return Math.random();
  }

  /** Throws TypeError (checkTarget) for a target no link can be opened to: Client.start() throws it. */
  open(target: Target, events: LinkEvents): Link {
    checkTarget(target);
    return new NodeLink(target, events);
  }
}

/** The Node host; one is enough for any number of clients. */
export function nodeHost(): NodeHost {
  return new NodeHost();
}

/** A value as a message shows it. */
function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** A PEM as the host takes it: a string, or its bytes (a Buffer is a Uint8Array). */
function isPem(v: unknown): boolean {
  return typeof v === 'string' || v instanceof Uint8Array;
}

/** A value as a TypeError's message shows it: its type, or what shown() makes of it. */
function described(v: unknown): string {
  if (Array.isArray(v)) return `an array holding ${v.map((x) => (isPem(x) ? 'a PEM' : described(x))).join(', ')}`;
  return v && typeof v === 'object' ? `an object (${v.constructor?.name ?? 'no prototype'})` : shown(v);
}

/**
 * Throws TypeError unless `target` has a non-empty `host` and an integer `port` in 1..65535, and
 * `tls`, if any, is an object whose ca is a PEM (string or bytes) or an array of them, whose cert
 * and key are PEMs and whose servername is a string: what a retry could never fix is refused at
 * once, not retried forever.
 */
export function checkTarget(target: Target): void {
  if (!target || typeof target !== 'object') throw new TypeError(`options must be an object with host and port, not ${shown(target)}`);
  if (typeof target.host !== 'string' || !target.host) throw new TypeError(`host must be a non-empty string, not ${shown(target.host)}`);
  const port = target.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`port must be an integer from 1 to 65535, not ${shown(port)}`);
  const t = target.tls as NodeTlsOptions | undefined;
  if (t === undefined) return;
  if (!t || typeof t !== 'object') throw new TypeError(`tls must be an object, not ${shown(t)}`);
  const ca: unknown = t.ca;
  if (ca !== undefined && !isPem(ca) && !(Array.isArray(ca) && ca.every(isPem))) {
    throw new TypeError(`tls.ca must be a PEM (a string or bytes) or an array of them, not ${described(ca)}`);
  }
  for (const k of ['cert', 'key'] as const) {
    if (t[k] !== undefined && !isPem(t[k])) throw new TypeError(`tls.${k} must be a PEM (a string or bytes), not ${described(t[k])}`);
  }
  if (t.servername !== undefined && typeof t.servername !== 'string') throw new TypeError(`tls.servername must be a string, not ${described(t.servername)}`);
}

/** TlsOptions as the Node host takes them: the CA may also be several PEMs in an array, as with node:tls. */
export type NodeTlsOptions = Omit<TlsOptions, 'ca'> & {
  /** PEM CA certificate(s), or an array of them (strings or bytes). */
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
};

/** A percent-decoded user or password of a URL: TypeError (not URIError) for a '%' not followed by two hex digits. */
function decodedPart(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    // The URL itself is not shown: it holds the credentials.
    throw new TypeError(`the url's ${what} is not valid percent-encoding: a '%' must begin %XX (write a '%' itself as %25)`);
  }
}

/** ClientOptions where the broker may be a URL, and the port and client id may be left out. */
export type NodeClientOptions = Omit<ClientOptions, 'host' | 'port' | 'clientId' | 'tls'> & {
  /**
   * The broker: mqtt://[user[:password]@]host[:port], or mqtts://… for TLS (with `tls` for a CA or
   * a client certificate). User and password are percent-decoded. Options given beside it win.
   */
  url?: string;
  host?: string;
  /** Default 1883, or 8883 with TLS. */
  port?: number;
  /** Default (clean session only): xs-mqtt- and 12 random hex digits. */
  clientId?: string;
  /** TLS (implied by mqtts://): a CA, a client certificate and key, a server name. */
  tls?: NodeTlsOptions;
};

/**
 * Full ClientOptions from NodeClientOptions: the URL split, the default port, a client id made
 * when none is given. Throws TypeError for what cannot work: no host, a port outside 1..65535, a
 * URL that is not mqtt:// or mqtts:// (or has a path, or malformed percent-encoding in its user
 * or password), TLS options with mqtt:// or of the wrong types, a persistent session (clean: false)
 * without a client id.
 */
export function resolveOptions(options: NodeClientOptions): ClientOptions {
  if (!options || typeof options !== 'object') throw new TypeError(`options must be an object, not ${shown(options)}`);
  const { url, ...o } = options;
  let secure = o.tls !== undefined;
  let host = o.host;
  let port = o.port;
  let username = o.username;
  let password = o.password;
  if (url !== undefined) {
    let u: URL | null = null;
    try {
      u = new URL(url);
    } catch {
      // reported below
    }
    if (!u || (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:')) throw new TypeError(`url must be mqtt://host[:port] or mqtts://…, not ${shown(url)}`);
    if ((u.pathname && u.pathname !== '/') || u.search || u.hash) throw new TypeError(`url names a broker only, without a path: ${shown(url)}`);
    if (u.protocol === 'mqtt:' && secure) throw new TypeError('tls options go with mqtts://, not mqtt://');
    secure = u.protocol === 'mqtts:';
    host ??= u.hostname.replace(/^\[(.*)\]$/, '$1'); // an IPv6 address without its brackets
    if (u.port) port ??= Number(u.port);
    if (u.username) username ??= decodedPart(u.username, 'user');
    if (u.password) password ??= decodedPart(u.password, 'password');
  }
  port ??= secure ? 8883 : 1883;
  checkTarget({ host: host as string, port, tls: o.tls as TlsOptions | undefined });
  let clientId = o.clientId;
  if (clientId === undefined) {
    if (o.clean === false) throw new TypeError('a persistent session (clean: false) needs a clientId');
    clientId = 'xs-mqtt-' + randomBytes(6).toString('hex');
  } else if (typeof clientId !== 'string') throw new TypeError(`clientId must be a string, not ${shown(clientId)}`);
  // A CA array stays as given: checkTarget() allowed it, and this host's links take it.
  const t = (secure ? (o.tls ?? {}) : undefined) as TlsOptions | undefined;
  return { ...o, host: host as string, port, clientId, tls: t, username, password };
}

/** A Client that ended for good (a final refusal, stop()) before connecting: `status` says why. */
export class ConnectError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'ConnectError';
    this.status = status;
  }
}

interface Pending {
  connect: Array<{ resolve: () => void; reject: (e: Error) => void }>;
  end: Array<(left: number) => void>;
  last: string; // the latest disconnect, for a timeout's message
  running: boolean; // started, and neither stopped nor finally refused since
}

/** The ConnectError of a client that is stopped (never started, stop(), end(), a final refusal). */
function stoppedError(last: string): ConnectError {
  const name = statusName(STOPPED);
  return new ConnectError(`not connected: ${name}${last && last !== name ? `; last attempt: ${last}` : ''}`, STOPPED);
}

/** A timeout argument: a number of ms (TypeError otherwise, as for MQTT.js's end(true)), cut to what a timer takes. */
function timeoutArg(ms: unknown, what: string): number {
  if (typeof ms !== 'number' || Number.isNaN(ms)) throw new TypeError(`${what} takes a timeout in ms, not ${shown(ms)}`);
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms;
}

/**
 * The Client for Node: options as NodeClientOptions (a URL, default ports, a generated client id,
 * TypeError at once for options that cannot work) on the Node host, with promises. The events
 * given work as with Client; the promises come from them, so the device's Client carries none.
 */
export class NodeClient extends Client {
  // `#`, not `_`: the build mangles _names per bundle, and this class's bundle is not Client's.
  readonly #pending: Pending;

  constructor(options: NodeClientOptions | string, events: ClientEvents = {}, host: Host = new NodeHost()) {
    const pending: Pending = { connect: [], end: [], last: '', running: false };
    // Every event of `events` (read through the prototype), three of them also settling promises.
    const ev: ClientEvents = Object.create(events);
    ev.onConnect = (present, kept) => {
      for (const w of pending.connect.splice(0)) w.resolve();
      events.onConnect?.(present, kept);
    };
    ev.onDisconnect = (status, retryMs, reason) => {
      pending.last = statusName(status) + (reason ? ` (${reason})` : '');
      if (retryMs < 0) {
        pending.running = false; // stopped, or finally refused (a handler may start it again)
        const e = new ConnectError(`not connected: ${pending.last}`, status);
        for (const w of pending.connect.splice(0)) w.reject(e);
      }
      events.onDisconnect?.(status, retryMs, reason);
    };
    ev.onEnd = (left) => {
      for (const resolve of pending.end.splice(0)) resolve(left);
      events.onEnd?.(left);
    };
    super(host, resolveOptions(typeof options === 'string' ? { url: options } : options), ev);
    this.#pending = pending;
  }

  /** Client.start(); connected() waits from now on. */
  override start(): void {
    super.start(); // throws TypeError for a target it can never reach: then not running
    this.#pending.running = true;
  }

  /** Client.stop(); a pending connected() rejects (ConnectError, STOPPED), also while waiting to reconnect. */
  override stop(): void {
    const p = this.#pending;
    p.running = false; // first: a handler called from stop() may start the client again
    super.stop();
    if (p.running) return;
    const e = stoppedError(p.last);
    for (const w of p.connect.splice(0)) w.reject(e);
  }

  /**
   * Resolves when the client is online (at once if it is). Rejects with a ConnectError when it
   * stops first (a final refusal such as bad credentials, stop(), end()), at once when it is not
   * running (never started, or stopped: status STOPPED), or when `timeoutMs` passes first (the
   * error then says how the last attempt ended). Failed attempts that the client retries do not
   * reject: without `timeoutMs` it waits as long as the client tries. A `timeoutMs` that is not a
   * number throws TypeError; 2^31 ms or more is as good as never (cut to 24.8 days).
   */
  connected(timeoutMs?: number): Promise<void> {
    const ms = timeoutMs === undefined ? undefined : timeoutArg(timeoutMs, 'connected()');
    if (this.online) return Promise.resolve();
    if (!this.#pending.running) return Promise.reject(stoppedError(this.#pending.last));
    return new Promise((resolve, reject) => {
      const list = this.#pending.connect;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const w = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      list.push(w);
      if (ms !== undefined) {
        timer = setTimeout(() => {
          list.splice(list.indexOf(w), 1);
          const last = this.#pending.last;
          reject(new ConnectError(`not connected within ${timeoutMs} ms${last ? `; last attempt: ${last}` : ''}`, 0));
        }, ms);
      }
    });
  }

  /**
   * Client.end() as a promise: resolves, once the client has stopped, with the number of QoS 1
   * messages left unacknowledged (0: all were). Waits `timeoutMs` at most (default 10 s; 2^31 ms
   * or more is as good as never, cut to 24.8 days). A `timeoutMs` that is not a number (MQTT.js's
   * end(true)) throws TypeError.
   */
  override end(timeoutMs = 10000): Promise<number> {
    const ms = timeoutArg(timeoutMs, 'end()');
    return new Promise((resolve) => {
      this.#pending.end.push(resolve);
      super.end(ms);
    });
  }
}

/** A NodeClient, started: `connect('mqtt://broker.local')`, then `await client.connected()`. */
export function connect(options: NodeClientOptions | string, events?: ClientEvents): NodeClient {
  const client = new NodeClient(options, events);
  client.start();
  return client;
}
