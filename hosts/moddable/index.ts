// The Moddable host: ECMA-419 sockets (embedded:io/socket/tcp; TLS through what an app gives it),
// the UDP DNS resolver (embedded:network/dns/resolver/udp), Moddable's timers and tick. TLS is not
// imported here: a static import would link Moddable's whole TLS stack (about 156 KB of archive) into
// every app. An app that wants TLS includes manifest_tls.json and passes its opener:
// `new ModdableHost({ TLS })` with `import { TLS } from "xs-mqtt/tls"` (hosts/moddable/tls.ts). It
// adapts the IO class pattern (onReadable(count) / onWritable(count) / onError(), read/write past
// nothing) to the Host contract of src/host.ts, whose promises the client relies on:
// - events never fire inside open(), write() or close() (the client is not re-entrant there);
// - exactly one onClose ends every link, whether it opened or not, and nothing follows it;
// - write() sends (the socket copies into its send buffer) and either takes all the bytes or none;
// - TLS never falls back to plain TCP.
// Nothing here allocates at module load: a typed array made then would be frozen under preload.
import TCP from 'embedded:io/socket/tcp';
import type { Options as TCPOptions } from 'embedded:io/socket/tcp';
import type TLSSocket from 'embedded:io/socket/tcp/tls';
import UDP from 'embedded:io/socket/udp';
import Resolver from 'embedded:network/dns/resolver/udp';
import Time from 'time';
import Timer from 'timer';
import type { Host, Link, LinkEvents, Target } from '../../src/index.js';
import { isIPv4 } from './ipv4.js';

/** What opens a TLS socket for a link: "xs-mqtt/tls"'s TLS (hosts/moddable/tls.ts). */
export type TLSOpener = (options: Record<string, unknown>, target: Target, fail: (why: string) => void) => object;

export interface ModdableHostOptions {
  /** DNS servers for names that are not dotted IPv4 addresses (default 1.1.1.1, 8.8.8.8). */
  dnsServers?: string[];
  /**
   * Bytes of each link's read buffer: onData gets at most this many at a time (default 256: each
   * read goes straight on into the client's receive queue, so a larger one saves only read calls).
   */
  rxBytes?: number;
  /**
   * TLS for targets with `tls`: `import { TLS } from "xs-mqtt/tls"` (manifest_tls.json). Without it
   * such a link fails ("tls: …"); it never falls back to plain TCP.
   */
  TLS?: TLSOpener;
  /** Mixed into the seed of random() (backoff jitter), with the tick and the clock: a MAC address's low 32 bits, say. */
  seed?: number;
}

/**
 * Bytes counted for what a TLS record adds to what it carries (header, IV, MAC or tag, padding): up to
 * 85 with AES-CBC and SHA-384; 96 is tlssocket.js's own estimate.
 */
const TLS_RECORD_OVERHEAD = 96;

export { isIPv4 };

/** Bytes of the staging buffer that writes of part of an array go through. */
const TX_STAGE = 256;

/**
 * A socket's callbacks, shared by every link: ECMA-419 calls them on the socket, and the socket's
 * `target` (an option it keeps) is the link. Closures would be three a link (192 B of RAM each on
 * lin). "xs-mqtt/tls" calls them on an object whose `target` is the link too.
 */
const SOCKET_EVENTS = {
  /** `count`: everything the socket holds unread (Moddable's lwIP socket reports the total). */
  onReadable(this: { target: ModdableLink }, count: number): void {
    const link = this.target;
    link._unread = count;
    if (link._keptEnd === link._keptStart) link._pull();
  },
  // The link's own work, here rather than in a method each handler would call: on a device each
  // function is flash.
  onWritable(this: { target: ModdableLink }, count: number): void {
    const link = this.target;
    if (link._ended) return;
    link._writable = count;
    if (count > link._capacity) link._capacity = count;
    if (!link._opened) {
      // The first onWritable: TCP connected (TLS: the handshake is done, the server verified).
      link._opened = true;
      link._events.onOpen();
      return;
    }
    const p = link._pending;
    if (p) {
      // The kept tail, as far as the socket takes it; the buffer goes once all is sent (such writes
      // are rare: larger than the send buffer).
      const n = Math.min(count, p.length - link._pendingStart);
      if (n > 0) link._send(p, link._pendingStart, n);
      link._pendingStart += n;
      if (link._pendingStart < p.length) return;
      link._pending = null;
    }
    if (link._wantWritable && !link._ended) {
      link._wantWritable = false;
      link._events.onWritable();
    }
  },
  onError(this: { target: ModdableLink }): void {
    const link = this.target;
    // The socket reports the peer's close once it holds nothing unread. What the client had no room
    // for is still in rx (flow control): the close waits for resume() to deliver it, the link as
    // before it opened meanwhile (no reads; writes go nowhere, below). Not when a write was refused
    // and no onWritable followed: the client may owe an acknowledgement and read nothing more until
    // an onWritable that will not come, so the rest is dropped (the broker sends QoS 1/2 again).
    if (link._keptEnd > link._keptStart && !link._wantWritable) link._opened = false;
    else link._fail(link._opened ? 'closed by peer' : 'refused');
  },
};

/** A socket as this link uses it: the TCP and TLS classes differ in their typings. */
interface Socket {
  close(): unknown;
}

class ModdableLink implements Link {
  // Members without `private` are also SOCKET_EVENTS's (the socket's callbacks work on the link).
  // `declare`: assigned in the constructor. A plain declaration is also emitted as a class field
  // (ES2022 define semantics): bytes in the bundle for a property the constructor sets anyway.
  declare readonly _events: LinkEvents;
  private _socket: TCP | TLSSocket | null = null;
  private _resolver: Resolver | null = null;
  declare private _rx: Uint8Array | null; // one receive buffer per link (resizable: _pull); null once ended
  // Plain TCP: the buffer writes of part of an array go through (resizable: _send). TLS: none, and
  // so it also says which socket this is (a field fewer: 32 B of RAM on lin).
  declare private readonly _stage: Uint8Array | null;
  _unread = 0; // bytes the socket holds for us: its last onReadable count, less what we read
  _keptStart = 0; // rx[_keptStart, _keptEnd): read, but the client had no room (flow control)
  _keptEnd = 0;
  // resume()'s timer callback, made the first time the client holds bytes back (flow control; most
  // links never do): a closure is 192 B of RAM and more (lin). Like _pending below, no initial value:
  // a property is 32 B of RAM (lin), so those of rare paths exist only once a link takes them.
  declare private _resumeFn?: () => void;
  _writable = 0; // bytes the socket takes now (its last onWritable count, less what was written since)
  _capacity = 0; // the largest writable count seen: a write larger than this can never fit at once
  declare _pending?: Uint8Array | null; // the tail of a write larger than the socket's send buffer
  declare _pendingStart: number; // what of it is sent (set with _pending)
  _wantWritable = false; // a write was refused: onWritable when the socket takes more
  _opened = false;
  _ended = false; // onClose emitted or scheduled: no event may follow
  private _busy = false; // inside open/write/close: an error then is reported later

  constructor(target: Target, events: LinkEvents, dnsServers: readonly string[], rxBytes: number, TLS: TLSOpener | undefined) {
    this._events = events;
    // A plain TCP socket reads exactly as many bytes as the buffer it is given holds (lwIP's read
    // throws past what is unread), and writes all of one. So rx and the write stage are views that
    // track the length of resizable ArrayBuffers, resized to each count and back: in place, within
    // the chunk they were made with (xsDataView.c, xsMemory.c's fxRenewChunk). A view for each count
    // would be 128 B of RAM each. Made here, not when the socket opens: no field keeps rxBytes.
    const n = rxBytes > 1 ? rxBytes : 1;
    this._rx = new Uint8Array(new ArrayBuffer(n, { maxByteLength: n }));
    this._stage = target.tls ? null : new Uint8Array(new ArrayBuffer(TX_STAGE, { maxByteLength: TX_STAGE }));
    this._busy = true;
    try {
      if (isIPv4(target.host)) this._connect(target, target.host, TLS);
      else {
        // The resolver's UDP socket, its onReadable guarded. Moddable's resolver (the SDK's
        // examples/io/udp/dns/dns.js) reads `while (count--) this.target.#receive(this.read())` in
        // the socket's callback, unguarded: two replies to one request can come in one call (lwIP,
        // lin: the first was slow, the 1 s retry's came too); the first resolves it, the resolver
        // closes its socket, and the next read() throws. A malformed reply throws in its parser.
        // Out of a socket callback that is "XS abort": a board reboots. Swallowed: the request was
        // resolved, or the resolver asks again a second later (a good reply behind a bad one in the
        // same call is lost with it). A function made here, not a module one: the resolver calls it
        // with `new` (an arrow or a method cannot be), and a module function would be 9 more slots
        // of flash (its prototype object among them); this is RAM only while a lookup lasts.
        const resolver = new Resolver({
          servers: dnsServers,
          socket: {
            io: function (o: { onReadable: (this: UDP, count: number) => void }) {
              const fn = o.onReadable;
              o.onReadable = function (count) {
                try {
                  fn.call(this, count);
                } catch {
                  // read past close, or a bad datagram: see above
                }
              };
              return new UDP(o as never);
            },
          },
        });
        this._resolver = resolver;
        // One callback for both outcomes: onResolved(host, address), onError(host).
        const done = (_host: string, address?: unknown): null => {
          this._closeResolver();
          if (this._ended) return null;
          if (address === undefined) this._fail('dns: cannot resolve ' + target.host);
          else
            try {
              this._connect(target, String(address), TLS);
            } catch (e) {
              this._fail(reason(e));
            }
          return null;
        };
        resolver.resolve({ host: target.host, onResolved: done, onError: done });
      }
    } catch (e) {
      this._fail(reason(e));
    }
    this._busy = false;
  }

  private _closeResolver(): void {
    const r = this._resolver;
    this._resolver = null;
    // The resolver closes its UDP socket itself once no request is left; close() is harmless after.
    if (r) Timer.set(() => r.close(), 0);
  }

  private _connect(target: Target, address: string, TLS: TLSOpener | undefined): void {
    const t = target.tls;
    const options: Record<string, unknown> = {
      address,
      port: target.port,
      nodelay: true,
      target: this,
      ...SOCKET_EVENTS,
    };
    if (t) {
      if (!TLS) throw new Error(NO_TLS);
      // Moddable's TLS socket, opened by "xs-mqtt/tls" (hosts/moddable/tls.ts), with this link's end.
      this._socket = TLS(options, target, (why: string) => this._fail(why)) as TLSSocket;
    } else {
      this._socket = new TCP(options as TCPOptions);
    }
  }

  /**
   * Reads and delivers until the socket is empty or the client takes less than it is given (then
   * the rest stays in rx, and the socket unread, until resume()). A plain TCP read of n bytes needs
   * a buffer of exactly n (lwIP's read throws past what is unread): rx's ArrayBuffer is resized to
   * n for the read, and back (rx tracks its length: it is whole again for onData).
   */
  _pull(): void {
    const rx = this._rx;
    const socket = this._socket;
    // (Not before the socket opens: rx is made with the link, but bytes before onOpen are not the
    // client's yet. A broker sends nothing before CONNECT; were one to, the socket keeps them.)
    while (rx && socket && this._opened && this._unread > 0 && !this._ended) {
      let n = this._unread < rx.length ? this._unread : rx.length;
      if (!this._stage) {
        // The TLS socket hands out decrypted bytes as a new ArrayBuffer (it cannot read into one).
        const ab = (socket as TLSSocket).read(n);
        if (!ab) return;
        const bytes = new Uint8Array(ab);
        n = bytes.length;
        rx.set(bytes);
      } else {
        // Back to its whole length at once: a collection while it is short would compact its chunk
        // to n, and growing it then would make a new one. (lwIP's read throws only past what is
        // unread, and n is at most that: no try here.)
        const b = rx.buffer as ArrayBuffer;
        b.resize(n);
        (socket as TCP).read(rx);
        b.resize(b.maxByteLength);
      }
      this._unread -= n;
      const taken = this._events.onData(rx, 0, n);
      if (taken < n) {
        this._keptStart = taken;
        this._keptEnd = n;
        return;
      }
    }
  }

  resume(): void {
    if (this._keptEnd > this._keptStart && !this._ended) {
      // What the client left in rx, given again; then the socket read on. (The arrow's body, not a
      // method: no slots of its own in flash, and its code is copied to RAM only on a link that
      // ever holds bytes back.)
      this._resumeFn ??= () => {
        const rx = this._rx;
        if (this._ended || !rx || this._keptEnd === this._keptStart) return;
        const n = this._keptEnd - this._keptStart;
        const taken = this._events.onData(rx, this._keptStart, n);
        if (taken < n) {
          this._keptStart += taken;
          return;
        }
        this._keptStart = this._keptEnd = 0;
        if (!this._opened) this._fail('closed by peer');
        else this._pull();
      };
      Timer.set(this._resumeFn, 0);
    }
  }

  write(bytes: Uint8Array, offset: number, length: number): boolean {
    // Closed by the peer with bytes held (onError): a write goes nowhere, as into any socket whose peer
    // has closed, and is taken, so that an acknowledgement never stops the client reading what is
    // held (a QoS 1/2 message unacknowledged comes again after the reconnect; QoS 2 once still).
    // (Open and not ended: it has a socket.)
    if (this._ended || !this._opened) return !this._ended && this._keptEnd > this._keptStart;
    if (length <= 0) return true;
    if (this._pending || (length > this._writable && length <= this._capacity)) {
      // Full now; it fits once the socket has sent what it holds (ECMA-419 write throws past the count).
      this._wantWritable = true;
      return false;
    }
    if (length <= this._writable) this._send(bytes, offset, length);
    else {
      // Larger than the socket's whole send buffer: send what fits, keep the rest (copied) for
      // onWritable. A link with nothing in flight takes a write of any size (src/host.ts).
      const now = this._writable;
      const rest = length - now;
      const p = new Uint8Array(rest);
      p.set(bytes.subarray(offset + now, offset + length));
      this._pending = p;
      this._pendingStart = 0;
      if (now > 0) this._send(bytes, offset, now);
    }
    // _send ends the link when the socket throws: then these bytes were never sent (false, not true).
    return !this._ended;
  }

  /** Hands bytes to the socket; a throw there ends the link (onClose follows, deferred). */
  _send(bytes: Uint8Array, offset: number, length: number): void {
    this._busy = true;
    try {
      const socket = this._socket!;
      if (!this._stage) {
        // The TLS socket takes an ArrayBuffer (its typings), encrypts it into one record and writes
        // that to its TCP socket at once; it returns the TCP socket's room less 96 (its estimate of a
        // record's overhead, after this record). The next write's room is the smaller of that and our
        // own count, which charges each record the same 96: a socket whose return ran optimistic
        // still never sees a write past its room.
        const copy = new Uint8Array(length);
        copy.set(bytes.subarray(offset, offset + length));
        const next = (socket as TLSSocket).write(copy.buffer);
        const left = this._writable - length - TLS_RECORD_OVERHEAD;
        // `|| 0`: NaN counts as no room. Moddable's TCP write can return undefined without throwing
        // (lwIP: a reset arrived, not yet delivered; lin: write() < 0), and the TLS socket then
        // returns Math.max(0, undefined - 32), NaN. A NaN room passes every check in write(), whose
        // large-write branch would throw (new Uint8Array(NaN) is empty); 0 waits for onWritable (or
        // the socket's onError).
        this._writable = Math.max(0, Math.min(next, left)) || 0;
      } else {
        // The socket copies into its send buffer before write() returns (lwIP's TCP_WRITE_FLAG_COPY),
        // and takes exactly the bytes of the buffer it is given. The whole array when it is the range;
        // else the range goes through the stage, a piece of up to TX_STAGE bytes at a time, its
        // ArrayBuffer resized to the piece and back (as rx in _pull): no view per packet.
        if (offset === 0 && length === bytes.length) (socket as TCP).write(bytes);
        else {
          const stage = this._stage!;
          const b = stage.buffer as ArrayBuffer;
          for (let left = length; left > 0; ) {
            const n = left < TX_STAGE ? left : TX_STAGE;
            for (let i = 0; i < n; i++) stage[i] = bytes[offset + i];
            b.resize(n);
            (socket as TCP).write(stage);
            b.resize(TX_STAGE);
            offset += n;
            left -= n;
          }
        }
        this._writable -= length;
      }
    } catch (e) {
      this._fail(reason(e));
    }
    this._busy = false;
  }

  close(): void {
    this._fail('closed'); // its onClose is deferred (not inside close)
  }

  /** Ends the link: the socket (or the DNS lookup) is closed, and onClose follows exactly once, never inside open/write/close. */
  _fail(why: string): void {
    if (this._ended) return;
    this._ended = true;
    if (this._pending) this._pending = null;
    const socket: Socket | null = this._socket;
    this._socket = null;
    this._rx = null;
    this._closeResolver();
    try {
      socket?.close(); // TCP: what was written still goes out before the FIN (lwIP's tcp_close)
    } catch {
      // already closed by the peer
    }
    const events = this._events;
    if (this._busy || why === 'closed') Timer.set(() => events.onClose(why), 0);
    else events.onClose(why); // from a socket callback: already outside open/write/close
  }
}

/** What a socket's throw says, for onClose's reason (the platform's words: "would block", "invalid address"…). */
function reason(e: unknown): string {
  return (e as Error)?.message || 'failed';
}

const NO_TLS = 'tls: no TLS (include manifest_tls.json; new ModdableHost({ TLS }) with TLS from "xs-mqtt/tls")';

/**
 * The default DNS servers: a module constant is preloaded (in flash), not built per host in RAM (the
 * resolver copies the list). Frozen, as module state should be: an object xsl leaves writable is an
 * alias, copied into RAM on its first write.
 */
const DNS: readonly string[] = Object.freeze(['1.1.1.1', '8.8.8.8']);

/** How long the deferred-task timer waits between runs when nothing is deferred (it is rescheduled to 0 as soon as something is). */
const IDLE_MS = 0x3fffffff;

export class ModdableHost implements Host {
  // `declare`: assigned in the constructor. A plain declaration is also emitted as a class field
  // (ES2022 define semantics): bytes in the bundle for a property the constructor sets anyway.
  declare private readonly _dns: readonly string[];
  declare private readonly _rxBytes: number;
  declare private readonly _TLS: TLSOpener | undefined;
  declare private _seed: number;
  // Deferred tasks: a ring run by one timer, made once and rescheduled, so defer() allocates nothing.
  private readonly _tasks: Array<(() => void) | null> = [];
  private _taskHead = 0;
  private _taskCount = 0;
  private _taskTimer: Timer | null = null;
  private _taskDue = false;
  private readonly _runTasks = () => this._run();

  constructor(options: ModdableHostOptions = {}) {
    this._dns = options.dnsServers ?? DNS;
    this._rxBytes = options.rxBytes ?? 256;
    this._TLS = options.TLS;
    // Whatever differs from boot to boot and board to board; never 0 (xorshift's fixed point).
    this._seed = (Time.ticks ^ (Date.now() * 1000 + (Time.microseconds ?? 0)) ^ Math.imul(options.seed ?? 0, 0x9e3779b1)) | 1;
    for (let i = 0; i < 8; i++) this.random();
    // 4: a client defers at most a drain and a reconnect at a time; more spill to timers of their own.
    // (Each entry is a slot of RAM: 32 B on lin.)
    for (let i = 0; i < 4; i++) this._tasks.push(null);
  }

  /** Time.ticks: a monotonic millisecond tick; kept to 32 bits (the client's arithmetic is wrap-safe). */
  nowMs(): number {
    return Time.ticks >>> 0;
  }

  setTimer(fn: () => void, ms: number): unknown {
    return Timer.set(fn, ms > 0 ? Math.ceil(ms) : 0);
  }

  clearTimer(handle: unknown): void {
    Timer.clear(handle as Timer);
  }

  /** Runs `fn` from the event loop, after the current socket callback returns. */
  defer(fn: () => void): void {
    const tasks = this._tasks;
    if (this._taskCount === tasks.length) {
      Timer.set(fn, 0); // more at once than the ring holds: a timer of its own (rare)
      return;
    }
    tasks[(this._taskHead + this._taskCount++) % tasks.length] = fn;
    if (this._taskDue) return;
    this._taskDue = true;
    if (this._taskTimer) Timer.schedule(this._taskTimer, 0, IDLE_MS);
    else this._taskTimer = Timer.set(this._runTasks, 0, IDLE_MS);
  }

  /**
   * The tasks deferred before this run; those they defer run on the next. _taskDue stays set during
   * the run, so defer() does not reschedule this timer from inside its own callback: on lin (the
   * simulator) timer.c's modTimerExecuteOne then adds a glib source of its own after the callback,
   * and the one Timer.schedule added repeats for ever (at 0 ms: the simulator spins).
   */
  private _run(): void {
    const tasks = this._tasks;
    try {
      for (let n = this._taskCount; n > 0; n--) {
        const fn = tasks[this._taskHead]!;
        tasks[this._taskHead] = null;
        this._taskHead = (this._taskHead + 1) % tasks.length;
        this._taskCount--;
        fn();
      }
    } finally {
      // Left over: deferred during this run, or after a task threw. They run next time round, from
      // a one-shot timer of their own (rare: a task that defers another), _taskDue still set.
      if (this._taskCount) Timer.set(this._runTasks, 0);
      else this._taskDue = false;
    }
  }

  /**
   * Backoff jitter, in [0, 1): xorshift32, seeded in the constructor from the tick, the clock and
   * the `seed` option (a MAC address, say). XS's Math.random gave the same sequence on every boot of
   * the simulator: boards that boot together would then retry together.
   */
  random(): number {
    let x = this._seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this._seed = x;
    return (x >>> 0) / 4294967296;
  }

  open(target: Target, events: LinkEvents): Link {
    return new ModdableLink(target, events, this._dns, this._rxBytes, this._TLS);
  }
}
