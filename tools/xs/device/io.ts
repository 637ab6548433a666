/// <reference path="../xs-globals.d.ts" />
// The device app's world inside xsnap-worker, for tools/xs/device.mjs: what mcconfig would link in
// on a board, played by Node over the worker's two channels.
// - XS → Node: issueCommand(bytes), synchronous. Byte 0 is the operation, byte 1 the socket id, the
//   rest its data: OPEN (then 4 address bytes and 2 port bytes), OPEN_TLS (the same, then the TLS
//   options as ASCII JSON), WRITE (the bytes), CLOSE; RESOLVE (byte 1 the request id, then the name).
// - Node → XS: scripts evaluated in the worker call `xsDevice.connected(id, writable)`,
//   `xsDevice.data(id, hex)`, `xsDevice.error(id)`, `xsDevice.writable(id, count)`,
//   `xsDevice.resolved(id, address | null)` and `xsDevice.tick(nowMs)`, which run the ECMA-419
//   callbacks and the due timers as Moddable's run loop would: one at a time, never inside another.
declare function issueCommand(bytes: ArrayBuffer): ArrayBuffer;

export const OPEN = 1;
export const WRITE = 2;
export const CLOSE = 3;
export const OPEN_TLS = 4;
export const RESOLVE = 5;

export interface SocketSim {
  connected(writable: number): void;
  data(bytes: Uint8Array): void;
  error(): void;
  writable(count: number): void;
}

export const sockets: Array<SocketSim | null> = [null];

/** A new socket's id. Ids travel in one byte and are never reused (a late event from Node must not
 * reach a newer socket): past 255 links in one run, a loud error rather than a silent mix-up. */
export function register(s: SocketSim): number {
  if (sockets.length > 255) throw new Error('xsnap device run: more than 255 links');
  sockets.push(s);
  return sockets.length - 1;
}

/** Name lookups in flight (tools/xs/device/dns.ts), by request id: the answer's callback. */
export const lookups: Array<((address: string | null) => void) | null> = [null];

/**
 * The 4 address and 2 port bytes of an OPEN, checked as Moddable's lwIP socket checks them: a
 * dotted IPv4 `address` only (its constructor throws otherwise), a port in 1–65535.
 */
export function endpoint(address: string, port: number): number[] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address ?? '');
  if (!m) throw new Error('invalid address');
  if (!(port > 0 && port < 65536)) throw new RangeError('invalid port');
  return [+m[1], +m[2], +m[3], +m[4], port >> 8, port & 255];
}

/** An ASCII string as bytes (the stand-ins' commands carry names and base64 only). */
export function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0x7f;
  return b;
}

export function command(op: number, id: number, data: Uint8Array | null, offset = 0, length = 0): void {
  const b = new Uint8Array(2 + length);
  b[0] = op;
  b[1] = id;
  if (data) b.set(data.subarray(offset, offset + length), 2);
  issueCommand(b.buffer);
}

// ---- timers: the `timer` module's list, run by tick() ----

export interface SimTimer {
  fn: (t: SimTimer) => void;
  due: number;
  repeat: number; // 0: once
  live: boolean;
}

export const timers: SimTimer[] = [];
export let now = 1000; // Time.ticks

/** Runs every timer due by `now` (the earliest first), until none is due. Allocates nothing. */
export function runTimers(): void {
  for (let guard = 0; guard < 10000; guard++) {
    let next: SimTimer | null = null;
    for (let i = 0; i < timers.length; i++) {
      const t = timers[i];
      if (t.live && t.due <= now && (!next || t.due < next.due)) next = t;
    }
    if (!next) return;
    if (next.repeat > 0) next.due = now + next.repeat;
    else next.live = false;
    next.fn(next);
    for (let i = timers.length - 1; i >= 0; i--) if (!timers[i].live) timers.splice(i, 1);
  }
  throw new Error('timers never settle');
}

export function hexBytes(hex: string): Uint8Array {
  const b = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}

// trace to stdout, where tools/xs/device.mjs reads it. It keeps XS's left/center/right, as on a
// device: the codec tells XS by them (src/codec/utf8.ts).
const line = (s: unknown) => print(String(s).replace(/\n$/, ''));
(globalThis as any).trace = Object.assign(line, { left: line, center: line, right: line });

(globalThis as any).xsDevice = {
  tick(ms: number): void {
    now = ms;
    runTimers();
  },
  connected(id: number, writable: number): void {
    sockets[id]?.connected(writable);
    runTimers();
  },
  data(id: number, hex: string): void {
    sockets[id]?.data(hexBytes(hex));
    runTimers();
  },
  writable(id: number, count: number): void {
    sockets[id]?.writable(count);
    runTimers();
  },
  error(id: number): void {
    sockets[id]?.error();
    runTimers();
  },
  resolved(id: number, address: string | null): void {
    const answer = lookups[id];
    lookups[id] = null;
    answer?.(address);
    runTimers();
  },
};
