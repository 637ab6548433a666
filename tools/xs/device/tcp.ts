// `embedded:io/socket/tcp` for the device app in xsnap (tools/xs/device/io.ts), following what
// Moddable's lwIP implementation (modules/io/socket/lwip/tcp.c) does:
// - the constructor takes a dotted IPv4 `address` only; onWritable(count) once connected;
// - onReadable(count) when bytes arrive, count being everything unread; read(buffer) reads exactly
//   buffer.byteLength bytes and throws when that is more than is unread (or 0);
// - write(buffer) throws "would block" past the send buffer's room, and returns the room left;
// - onError once the link fails, only after everything received was read; then write is ignored.
import { CLOSE, OPEN, WRITE, command, endpoint, register, sockets, type SocketSim } from './io.js';

const SEND_BUFFER = 5744; // lwIP's TCP_SND_BUF on the ESP32 (4 × MSS)

interface Options {
  address: string;
  port: number;
  onReadable?: (this: TCP, count: number) => void;
  onWritable?: (this: TCP, count: number) => void;
  onError?: (this: TCP) => void;
  /** ECMA-419: kept as the socket's `target`, for the callbacks (they are called on the socket). */
  target?: unknown;
}

export default class TCP implements SocketSim {
  private id: number;
  private o: Options;
  private rx: Uint8Array[] = [];
  private rxOffset = 0;
  private unread = 0;
  private room = 0;
  private ready = false;
  private failed = false;
  private closed = false;
  target: unknown;

  constructor(o: Options) {
    const b = new Uint8Array(endpoint(o.address, o.port));
    this.o = o;
    if ('target' in o) this.target = o.target; // as Moddable's builtinInitializeTarget
    this.id = register(this);
    command(OPEN, this.id, b, 0, 6);
  }

  read(buffer: Uint8Array | ArrayBuffer): void {
    const out = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : buffer;
    const n = out.byteLength;
    if (n <= 0 || n > this.unread) throw new Error('invalid');
    let k = 0;
    while (k < n) {
      const head = this.rx[0];
      const take = Math.min(n - k, head.length - this.rxOffset);
      out.set(head.subarray(this.rxOffset, this.rxOffset + take), k);
      k += take;
      this.rxOffset += take;
      if (this.rxOffset === head.length) {
        this.rx.shift();
        this.rxOffset = 0;
      }
    }
    this.unread -= n;
    if (this.unread === 0 && this.failed) this.fireError();
  }

  write(buffer: Uint8Array | ArrayBuffer): number {
    if (!this.ready) throw new Error('not ready');
    if (this.failed || this.closed) return 0;
    const b = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : buffer;
    if (b.byteLength > this.room) throw new Error('would block');
    this.room -= b.byteLength;
    command(WRITE, this.id, b, 0, b.byteLength);
    return this.room;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    sockets[this.id] = null;
    command(CLOSE, this.id, null);
  }

  // ---- from Node ----
  connected(writable: number): void {
    this.ready = true;
    this.writable(writable);
  }
  writable(count: number): void {
    if (this.closed || this.failed) return;
    this.room = Math.min(count, SEND_BUFFER);
    this.o.onWritable?.call(this, this.room);
  }
  data(bytes: Uint8Array): void {
    if (this.closed) return;
    this.rx.push(bytes);
    this.unread += bytes.length;
    this.o.onReadable?.call(this, this.unread);
  }
  error(): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.ready = false;
    if (this.unread === 0) this.fireError();
  }
  private fireError(): void {
    if (!this.closed) this.o.onError?.call(this);
  }
}
