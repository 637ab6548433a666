// The deterministic simulator host: a virtual clock, an in-memory network with fault injection, and
// a Host bound to both. Tests drive time with clock.advance(ms) and script the broker's end of each
// link (a SimPeer), so the faults of protocol-cases.md ("Network and broker faults") replay exactly:
// a drop in the middle of a packet, half-open TCP, slow or fragmented input, refused connections,
// TLS that must not fall back to plain TCP. Nothing here reads a real clock or touches a socket.
import type { Host, Link, LinkEvents, Target, TlsOptions } from '../../src/host.js';

// ---------------------------------------------------------------------------------------------
// Clock

interface TimerEntry {
  fn: () => void;
  at: number; // unwrapped deadline
  live: boolean;
}

/**
 * Virtual milliseconds. Nothing happens until the test calls advance(), flush() or runDeferred():
 * the same calls always produce the same interleaving of timers and deferred functions.
 */
export class VirtualClock {
  /** Callbacks (timers + deferred functions) one advance/flush/runDeferred may run before it throws. */
  maxSteps = 1_000_000;
  // Unwrapped and monotonic, so deadlines compare plainly; only nowMs() wraps, as a device tick does.
  private t: number;
  // Sorted by deadline, then creation order: a new timer goes after every timer due no later.
  private readonly timers: TimerEntry[] = [];
  // FIFO of deferred functions; `head` avoids shift(), and the array is emptied when drained.
  private readonly queue: (() => void)[] = [];
  private head = 0;
  private running = false;
  private steps = 0;

  constructor(startMs = 0) {
    if (!Number.isInteger(startMs) || startMs < 0) throw new RangeError('startMs must be a non-negative integer');
    this.t = startMs;
  }

  /** The tick a device would see: wraps at 2^32. */
  nowMs(): number {
    return this.t >>> 0;
  }

  /** The unwrapped virtual time: never wraps, for deadlines and test bookkeeping. */
  get timeMs(): number {
    return this.t;
  }

  /** Calls `fn` once, `ms` from now (rounded up: a timer never fires early; negative or NaN is 0). */
  setTimer(fn: () => void, ms: number): unknown {
    const at = this.t + (ms > 0 ? Math.ceil(ms) : 0);
    const timers = this.timers;
    let lo = 0;
    let hi = timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (timers[mid].at <= at) lo = mid + 1;
      else hi = mid;
    }
    const entry: TimerEntry = { fn, at, live: true };
    timers.splice(lo, 0, entry);
    return entry;
  }

  /** Cancels a timer; a handle that already fired, was cleared, or is not a timer is ignored. */
  clearTimer(handle: unknown): void {
    const entry = handle as TimerEntry | null | undefined;
    if (!entry || typeof entry !== 'object' || !entry.live) return;
    const i = this.timers.indexOf(entry);
    if (i < 0) return;
    entry.live = false;
    this.timers.splice(i, 1);
  }

  /** Queues `fn`; it runs (FIFO) at the next advance(), flush() or runDeferred(), never inside this call. */
  defer(fn: () => void): void {
    this.queue.push(fn);
  }

  /** Timers scheduled and not yet fired or cleared. */
  pending(): number {
    return this.timers.length;
  }

  /** Deferred functions queued and not yet run. */
  deferred(): number {
    return this.queue.length - this.head;
  }

  /** Runs the deferred queue until empty (including functions deferred meanwhile), but no timers. */
  runDeferred(): void {
    this.enter();
    try {
      this.drain();
    } finally {
      this.running = false;
    }
  }

  /** Runs everything due now: deferred functions and timers at this instant, until quiet. */
  flush(): void {
    this.advance(0);
  }

  /**
   * Moves time forward by `ms`, firing each due timer in deadline order (ties in creation order) with
   * nowMs() at that timer's deadline. Deferred functions run first and after every timer, so a timer
   * (or deferral) due within the span, even one set during this call, runs in this call.
   */
  advance(ms: number): void {
    if (!Number.isInteger(ms) || ms < 0) throw new RangeError('advance(ms): ms must be a non-negative integer');
    this.enter();
    try {
      const end = this.t + ms;
      for (;;) {
        this.drain();
        const next = this.timers[0];
        if (next === undefined || next.at > end) break;
        this.timers.shift();
        next.live = false;
        this.t = next.at;
        this.step();
        next.fn();
      }
      this.t = end;
    } finally {
      this.running = false;
    }
  }

  private enter(): void {
    // Advancing from inside a callback would run later callbacks inside an earlier one: a test bug.
    if (this.running) throw new Error('VirtualClock: advance/flush/runDeferred called from inside a callback');
    this.running = true;
    this.steps = 0;
  }

  private step(): void {
    if (++this.steps > this.maxSteps) throw new Error(`VirtualClock: more than ${this.maxSteps} callbacks in one call (a timer or defer loop?)`);
  }

  private drain(): void {
    const q = this.queue;
    while (this.head < q.length) {
      const fn = q[this.head];
      this.head++; // before the call: a throwing function is not run again
      this.step();
      fn();
    }
    q.length = 0;
    this.head = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Network

export type Direction = 'toServer' | 'toClient';

/** Faults a link starts with (SimNetwork.faults), the same as calling the SimLink methods at once. */
export interface LinkFaults {
  delayMs?: number;
  dribble?: boolean;
  blackhole?: boolean;
  cutAfter?: { bytes: number; direction: Direction };
  writeLimit?: number;
}

export interface ListenOptions {
  /** The listener speaks TLS only: a plain open fails 'tls required'. A TLS open to a plain listener fails 'tls handshake failed'. */
  tls?: boolean;
  /** For a TLS listener: a failure reason for the client's TLS options (wrong CA, wrong name), or undefined to accept. */
  verifyTls?: (tls: TlsOptions, target: Target) => string | undefined;
}

export interface SimListener {
  onAccept: (peer: SimPeer) => void;
  options: ListenOptions;
}

/** The server's end of a link, as a scripted broker sees it. */
export interface SimPeer {
  readonly link: SimLink;
  /** The client opened with TLS (and the listener accepted it). */
  readonly tls: boolean;
  /** Every byte the client's writes delivered on this link, concatenated (a copy). */
  readonly received: Uint8Array;
  /** This end has closed or been told of the close. */
  readonly closed: boolean;
  /** Bytes from the client, one call per delivery (a copy: the test may keep it). */
  onData: ((bytes: Uint8Array) => void) | null;
  /** Called exactly once when this end closes: 'closed' (either side closed) or 'reset'. */
  onClose: ((reason: string) => void) | null;
  /** Sends bytes to the client (copied). False when this end is closed. */
  write(bytes: Uint8Array): boolean;
  /** Closes after the bytes already written reach the client; the client then gets onClose('closed'). */
  close(): void;
}

type Route = SimListener | string;

const FIN = -1; // a chunk length marking the sender's close, so it arrives after the bytes before it

/**
 * Bytes in flight one way, in write order. One reusable buffer per direction holds the copies (it
 * grows, never shrinks), with the length and due time of each write: a write arrives whole (one
 * onData) unless dribbled or cut.
 */
class Pipe {
  buf = new Uint8Array(256);
  start = 0;
  end = 0;
  readonly lens: number[] = []; // per write: bytes left, or FIN
  readonly dues: number[] = []; // per write: unwrapped time it may arrive
  head = 0;
  lastDue = 0; // a later write never overtakes an earlier one, even if the delay shrinks
  cut = -1; // bytes still allowed through before the link dies; -1: no cut
  busy = false; // a view of buf is with a receiver: bytes must not move under it
  dripping = false; // a deferred continuation will deliver the next due piece

  get bytes(): number {
    return this.end - this.start;
  }

  get empty(): boolean {
    return this.head === this.lens.length;
  }

  push(src: Uint8Array, offset: number, length: number, due: number): void {
    if (this.end + length > this.buf.length) {
      const live = this.end - this.start;
      if (!this.busy && live + length <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        // Growing leaves the old buffer (and any view of it being delivered) untouched.
        const next = new Uint8Array(Math.max(this.buf.length * 2, live + length));
        for (let i = 0; i < live; i++) next[i] = this.buf[this.start + i];
        this.buf = next;
      }
      this.start = 0;
      this.end = live;
    }
    const buf = this.buf;
    const at = this.end;
    for (let i = 0; i < length; i++) buf[at + i] = src[offset + i];
    this.end += length;
    this.chunk(length, due);
  }

  pushFin(due: number): void {
    this.chunk(FIN, due);
  }

  /** Takes n bytes of the head write (or its FIN, n = 0). */
  consume(n: number): void {
    this.start += n;
    if (this.lens[this.head] === FIN || (this.lens[this.head] -= n) === 0) this.head++;
    if (this.head === this.lens.length) {
      this.lens.length = 0;
      this.dues.length = 0;
      this.head = 0;
    }
  }

  /** Rewinds to the front when empty; not while a view of the bytes is out. */
  settle(): void {
    if (!this.busy && this.start === this.end) this.start = this.end = 0;
  }

  clear(): void {
    this.start = this.end; // not rewound while a view is out: a later push must not overwrite it
    this.settle();
    this.lens.length = 0;
    this.dues.length = 0;
    this.head = 0;
  }

  private chunk(length: number, due: number): void {
    this.lens.push(length);
    this.dues.push(due);
    this.lastDue = due;
  }
}

type ClientState = 'connecting' | 'open' | 'closed';

/**
 * One connection through a SimNetwork: the client's end (`client`, the Link that Host.open returned),
 * the server's end (`peer`, once accepted), and the faults on the wire between them.
 */
export class SimLink {
  /** The Link the client holds. */
  readonly client: Link;
  private server: SimPeer | null = null;
  private st: ClientState = 'connecting';
  private reason: string | null = null;

  private readonly toServer = new Pipe();
  private readonly toClient = new Pipe();
  private delay = 0;
  private dribbling = false;
  private blackholed = false;
  private capacity = Infinity;
  private lost = 0; // bytes the client wrote into a black hole: in flight forever, as in a full send buffer
  private wantWritable = false;
  private serverDone = false;
  private received = new Uint8Array(64);
  private kept: Uint8Array | null = null; // delivered to the client, not taken (flow control): held until resume()
  private resumeDue = false;
  private readonly emitKept = (): void => {
    this.resumeDue = false;
    const b = this.kept;
    this.kept = null;
    if (!b || this.st !== 'open') return;
    const n = this.events.onData(b, 0, b.length);
    if (n < b.length) this.kept = b.slice(n);
    else this.pump(this.toClient, true);
  };
  private receivedLength = 0;
  // A kick is scheduled for each write at its due time; a drip continues delivery while more is due.
  private readonly kickToServer = (): void => {
    if (!this.toServer.dripping) this.pump(this.toServer, false);
  };
  private readonly kickToClient = (): void => {
    if (!this.toClient.dripping) this.pump(this.toClient, true);
  };
  private readonly dripToServer = (): void => {
    this.toServer.dripping = false;
    this.pump(this.toServer, false);
  };
  private readonly dripToClient = (): void => {
    this.toClient.dripping = false;
    this.pump(this.toClient, true);
  };
  private readonly emitOpen = (): void => {
    if (this.st === 'open') this.events.onOpen();
  };
  private readonly emitWritable = (): void => {
    if (this.st === 'open') this.events.onWritable();
  };

  constructor(
    readonly id: number,
    readonly target: Target,
    private readonly events: LinkEvents,
    private readonly clock: VirtualClock,
    private readonly route: (target: Target) => Route,
    faults: LinkFaults,
  ) {
    this.client = {
      write: (bytes, offset, length) => this.writeFromClient(bytes, offset, length),
      resume: () => this.resumeFromClient(),
      close: () => this.closeFromClient(),
    };
    if (faults.delayMs !== undefined) this.delayMs(faults.delayMs);
    if (faults.dribble) this.dribble(true);
    if (faults.writeLimit !== undefined) this.writeLimit(faults.writeLimit);
    if (faults.blackhole) this.blackhole();
    if (faults.cutAfter) this.cutAfter(faults.cutAfter.bytes, faults.cutAfter.direction);
    this.schedule(() => this.connect(), this.delay);
  }

  /** The server's end, once the listener accepted; null before, or if the open failed. */
  get peer(): SimPeer | null {
    return this.server;
  }

  /** The client's end: 'closed' once its onClose is queued. */
  get state(): ClientState {
    return this.st;
  }

  /** The reason given (or to be given) to the client's onClose. */
  get closeReason(): string | null {
    return this.reason;
  }

  // ---- faults ----

  /**
   * The next `bytes` bytes in `direction` (counted from now) are delivered, then the link dies: both
   * ends get onClose('reset'), and everything else in flight is lost. A write that crosses the limit
   * is delivered only in part (a drop in the middle of a packet). cutAfter(0) resets now.
   */
  cutAfter(bytes: number, direction: Direction): this {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError('cutAfter: bytes must be a non-negative integer');
    if (bytes === 0) this.reset();
    else (direction === 'toServer' ? this.toServer : this.toClient).cut = bytes;
    return this;
  }

  /**
   * Half-open TCP: from now on every byte (and close) either way is lost, including those in flight,
   * and neither end is told. Writes still succeed until a writeLimit fills; the client finds out only
   * from its own timeouts. A blackholed open never connects.
   */
  blackhole(): this {
    this.blackholed = true;
    this.lost += this.toServer.bytes;
    this.toServer.clear();
    this.toClient.clear();
    return this;
  }

  /** Bytes toward the client arrive one per onData, each in its own deferred delivery (slow input). */
  dribble(on = true): this {
    this.dribbling = on;
    return this;
  }

  /** Each later delivery (and the connection itself) takes `ms` more; order is kept. */
  delayMs(ms: number): this {
    if (!Number.isInteger(ms) || ms < 0) throw new RangeError('delayMs: ms must be a non-negative integer');
    this.delay = ms;
    return this;
  }

  /**
   * Backpressure: a client write is refused (false) when bytes are already in flight and it would
   * take them past `bytes`; onWritable follows once a delivery frees room. An empty link always takes
   * one write, so a packet larger than the limit cannot block forever. Infinity removes the limit.
   */
  writeLimit(bytes: number): this {
    if (!(bytes >= 0)) throw new RangeError('writeLimit: bytes must be >= 0');
    this.capacity = bytes;
    return this;
  }

  /** The link dies now: each end not yet closed gets onClose('reset'); everything in flight is lost. */
  reset(): void {
    this.toServer.clear();
    this.toClient.clear();
    this.closeClientEnd('reset');
    this.closePeerEnd('reset');
  }

  /** Bytes written one way and not yet delivered (toServer includes bytes lost in a black hole). */
  inFlight(direction: Direction): number {
    return direction === 'toServer' ? this.toServer.bytes + this.lost : this.toClient.bytes;
  }

  // ---- the client's end ----

  private writeFromClient(bytes: Uint8Array, offset: number, length: number): boolean {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
      throw new RangeError('write: offset/length outside the buffer');
    }
    if (this.st === 'closed') return false;
    if (this.st === 'connecting' || (this.capacity !== Infinity && this.inFlight('toServer') > 0 && this.inFlight('toServer') + length > this.capacity)) {
      this.wantWritable = true;
      return false;
    }
    if (length === 0 || this.serverDone) return true; // the server has closed: bytes vanish, as after a FIN
    if (this.blackholed) {
      this.lost += length;
      return true;
    }
    this.send(this.toServer, bytes, offset, length);
    return true;
  }

  private closeFromClient(): void {
    if (this.st === 'closed') return;
    this.closeClientEnd('closed');
    // The server sees the bytes already written, then the close (a FIN, not a reset).
    if (this.server && !this.serverDone && !this.blackholed) this.sendFin(this.toServer);
  }

  private closeClientEnd(reason: string): void {
    if (this.st === 'closed') return;
    this.st = 'closed';
    this.reason = reason;
    this.wantWritable = false;
    this.toClient.clear();
    const events = this.events;
    this.clock.defer(() => events.onClose(reason));
  }

  // ---- the server's end ----

  private writeFromServer(bytes: Uint8Array): boolean {
    if (this.serverDone) return false;
    if (bytes.length === 0 || this.st === 'closed' || this.blackholed) return true;
    this.send(this.toClient, bytes, 0, bytes.length);
    return true;
  }

  private closeFromServer(): void {
    if (this.serverDone) return;
    this.closePeerEnd('closed');
    if (this.st !== 'closed' && !this.blackholed) this.sendFin(this.toClient);
  }

  private closePeerEnd(reason: string): void {
    const peer = this.server;
    if (!peer || this.serverDone) return;
    this.serverDone = true;
    this.toServer.clear();
    this.clock.defer(() => peer.onClose?.(reason));
  }

  // ---- the wire ----

  private connect(): void {
    if (this.st !== 'connecting' || this.blackholed) return; // given up, or the SYN was lost
    const route = this.route(this.target);
    if (typeof route === 'string') {
      this.closeClientEnd(route);
      return;
    }
    const tls = this.target.tls !== undefined;
    const wantsTls = route.options.tls === true;
    // Never fall back: a mismatch either way fails the open (protocol-cases fault 15).
    let failure = wantsTls && !tls ? 'tls required' : !wantsTls && tls ? 'tls handshake failed' : undefined;
    if (failure === undefined && tls && route.options.verifyTls) failure = route.options.verifyTls(this.target.tls!, this.target);
    if (failure !== undefined) {
      this.closeClientEnd(failure);
      return;
    }
    this.st = 'open';
    this.server = this.makePeer(tls);
    // Queued before the accept runs, so bytes the server writes on accept arrive after onOpen.
    this.clock.defer(this.emitOpen);
    if (this.wantWritable) {
      this.wantWritable = false;
      this.clock.defer(this.emitWritable);
    }
    route.onAccept(this.server);
  }

  private makePeer(tls: boolean): SimPeer {
    const link = this; // the getters below have their own `this`
    return {
      link,
      tls,
      onData: null,
      onClose: null,
      get received() {
        return link.received.slice(0, link.receivedLength);
      },
      get closed() {
        return link.serverDone;
      },
      write: (bytes) => this.writeFromServer(bytes),
      close: () => this.closeFromServer(),
    };
  }

  private send(pipe: Pipe, bytes: Uint8Array, offset: number, length: number): void {
    const due = Math.max(this.clock.timeMs + this.delay, pipe.lastDue);
    pipe.push(bytes, offset, length, due);
    this.schedule(pipe === this.toServer ? this.kickToServer : this.kickToClient, due - this.clock.timeMs);
  }

  private sendFin(pipe: Pipe): void {
    const due = Math.max(this.clock.timeMs + this.delay, pipe.lastDue);
    pipe.pushFin(due);
    this.schedule(pipe === this.toServer ? this.kickToServer : this.kickToClient, due - this.clock.timeMs);
  }

  private schedule(fn: () => void, ms: number): void {
    if (ms > 0) this.clock.setTimer(fn, ms);
    else this.clock.defer(fn);
  }

  /**
   * Delivers one piece of `pipe` if it is due: the head write (an onData per write), a single byte of
   * it when dribbling, or a FIN. While more is due, a deferred drip delivers the next piece, so work
   * the receiver defers runs between pieces and a dribbled write is not overtaken by a later kick.
   */
  private pump(pipe: Pipe, toClient: boolean): void {
    if (pipe.empty || this.blackholed || pipe.dues[pipe.head] > this.clock.timeMs || (toClient && this.kept)) return;
    const len = pipe.lens[pipe.head];
    if (len === FIN) {
      pipe.consume(0);
      if (toClient) this.closeClientEnd('closed');
      else this.closePeerEnd('closed');
      return;
    }
    let n = toClient && this.dribbling ? 1 : len;
    const cutNow = pipe.cut >= 0 && n >= pipe.cut;
    if (cutNow) n = pipe.cut;
    if (pipe.cut >= 0) pipe.cut -= n;
    const buf = pipe.buf;
    const at = pipe.start;
    pipe.consume(n); // before the receiver runs: it may write or close in its callback
    pipe.busy = true;
    try {
      if (toClient) {
        const taken = this.events.onData(buf, at, n);
        if (taken < n) this.kept = buf.slice(at + taken, at + n); // held: nothing more until resume()
      } else this.deliverToPeer(buf, at, n);
    } finally {
      pipe.busy = false;
      pipe.settle();
    }
    if (cutNow) {
      this.reset();
      return;
    }
    if (!toClient && this.wantWritable && this.inFlight('toServer') < this.capacity) {
      this.wantWritable = false;
      this.clock.defer(this.emitWritable);
    }
    if (!pipe.dripping && !pipe.empty && pipe.dues[pipe.head] <= this.clock.timeMs) {
      pipe.dripping = true;
      this.clock.defer(toClient ? this.dripToClient : this.dripToServer);
    }
  }

  private resumeFromClient(): void {
    if (!this.kept || this.resumeDue) return;
    this.resumeDue = true;
    this.clock.defer(this.emitKept);
  }

  private deliverToPeer(buf: Uint8Array, at: number, n: number): void {
    if (this.receivedLength + n > this.received.length) {
      const next = new Uint8Array(Math.max(this.received.length * 2, this.receivedLength + n));
      next.set(this.received.subarray(0, this.receivedLength));
      this.received = next;
    }
    this.received.set(buf.subarray(at, at + n), this.receivedLength);
    this.receivedLength += n;
    this.server!.onData?.(buf.slice(at, at + n));
  }
}

/** An in-memory network: listeners by (host, port), and a log of every link opened through it. */
export class SimNetwork {
  /** Faults every link opened from now on starts with. */
  faults: LinkFaults = {};
  /** Every link ever opened, in order: `links.at(-1)` is the newest. */
  readonly links: SimLink[] = [];
  private readonly listeners = new Map<string, SimListener>();
  private readonly refused = new Set<string>();

  constructor(readonly clock: VirtualClock) {}

  /** Accepts opens to (host, port): `onAccept` gets the server's end of each link. */
  listen(host: string, port: number, onAccept: (peer: SimPeer) => void, options: ListenOptions = {}): void {
    const key = keyOf(host, port);
    if (this.listeners.has(key)) throw new Error(`SimNetwork: already listening on ${key}`);
    this.listeners.set(key, { onAccept, options });
  }

  /** Stops accepting; links already open stay up. */
  unlisten(host: string, port: number): void {
    this.listeners.delete(keyOf(host, port));
  }

  /** While on, opens to (host, port) fail 'refused' even with a listener there. */
  refuse(host: string, port: number, on = true): void {
    if (on) this.refused.add(keyOf(host, port));
    else this.refused.delete(keyOf(host, port));
  }

  /** Opens a link; the connection is decided on the next deferred run (or after the link's delay). */
  open(target: Target, events: LinkEvents): SimLink {
    const link = new SimLink(this.links.length + 1, target, events, this.clock, (t) => this.route(t), this.faults);
    this.links.push(link);
    return link;
  }

  private route(target: Target): Route {
    const key = keyOf(target.host, target.port);
    if (this.refused.has(key)) return 'refused';
    return this.listeners.get(key) ?? 'refused';
  }
}

function keyOf(host: string, port: number): string {
  return host + ':' + port;
}

// ---------------------------------------------------------------------------------------------
// Host

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The Host a client runs on in tests: time from the VirtualClock, links through the SimNetwork. */
export class SimHost implements Host {
  private readonly rand: () => number;

  constructor(
    readonly clock: VirtualClock,
    readonly network: SimNetwork,
    seed = 1,
  ) {
    // Link events ride the network's clock: two clocks would deliver them out of order with timers.
    if (network.clock !== clock) throw new TypeError('SimHost: the network must use the same clock');
    this.rand = mulberry32(seed);
  }

  nowMs(): number {
    return this.clock.nowMs();
  }

  setTimer(fn: () => void, ms: number): unknown {
    return this.clock.setTimer(fn, ms);
  }

  clearTimer(handle: unknown): void {
    this.clock.clearTimer(handle);
  }

  defer(fn: () => void): void {
    this.clock.defer(fn);
  }

  random(): number {
    return this.rand();
  }

  open(target: Target, events: LinkEvents): Link {
    return this.network.open(target, events).client;
  }
}
