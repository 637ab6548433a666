// What a client needs from its platform (types only): a byte stream with DNS and TLS, a monotonic
// clock, timers, deferral and randomness. hosts/moddable, hosts/node and hosts/sim implement it;
// src/ never touches a socket or a clock itself.

/** Where to connect. `host` is a name or a dotted IPv4 address; the host resolves names. */
export interface Target {
  host: string;
  port: number;
  /** TLS when present. Never falls back to plain TCP when it fails. */
  tls?: TlsOptions;
}

export interface TlsOptions {
  /** PEM CA certificate(s) that must have signed the server's certificate. */
  ca?: string | Uint8Array;
  /** PEM client certificate and key, for mutual TLS. */
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  /** Name to verify the server's certificate against (default: `host`). */
  servername?: string;
}

/**
 * Callbacks from a link. Exactly one onClose ends every link, whether it opened or not. Call them as
 * methods of this object (`events.onData(…)`): the client's is a class instance whose methods are
 * shared, so a copy of its properties (a spread) has none of them.
 */
export interface LinkEvents {
  /** The link is up (TCP and TLS handshakes done). */
  onOpen(): void;
  /**
   * Bytes arrived: bytes[offset, offset + length), valid only during the call. Returns how many it
   * took, from the front. Fewer than `length` is flow control: the link keeps the rest and delivers
   * nothing more (and reads no more from the network, so TCP's window closes on the sender) until
   * resume().
   */
  onData(bytes: Uint8Array, offset: number, length: number): number;
  /** The link can take more bytes after a write returned false. */
  onWritable(): void;
  /**
   * The link is gone: refused, reset, timed out, TLS failure, or closed by either side. `reason` is
   * for logs ('refused', 'reset', 'closed', or the platform's error text); nothing depends on it.
   */
  onClose(reason: string): void;
}

export interface Link {
  /**
   * Sends bytes[offset, offset + length), all or nothing. The bytes are copied or sent before this
   * returns (the caller reuses its buffer). Returns false, taking nothing, when the link cannot take
   * them now (onWritable follows when it can), and before onOpen or once the link is closing.
   * A link with nothing in flight takes a write of any size.
   */
  write(bytes: Uint8Array, offset: number, length: number): boolean;
  /**
   * The receiver has room again after an onData took less than it was given: the link delivers what
   * it kept, then reads on. Deliveries come later, never inside this call.
   */
  resume(): void;
  /**
   * Closes the link gracefully: bytes already written are sent first (the DISCONNECT before it
   * reaches the broker). onClose follows, later, never inside this call.
   */
  close(): void;
}

export interface Host {
  /** Milliseconds from a monotonic tick. It may wrap at 2^32: elapsed time is computed wrap-safe. */
  nowMs(): number;
  /**
   * Calls `fn` once after `ms` (fractions round up; 0 or less: soon); the handle cancels it with
   * clearTimer. The handle is never null or undefined (the client takes those for "no timer").
   */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Runs `fn` soon, outside the current callback (how handlers never run inside a socket callback). */
  defer(fn: () => void): void;
  /** A number in [0, 1), for backoff jitter. */
  random(): number;
  /**
   * Opens a link to `target`. Events arrive later, never inside this call. May throw TypeError for
   * a target no link could ever reach (the Node host: no host, a port outside 1..65535): the
   * client's start() then throws it, rather than retrying forever.
   */
  open(target: Target, events: LinkEvents): Link;
}
