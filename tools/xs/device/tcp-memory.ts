// `embedded:io/socket/tcp` in memory, for the allocation proof of the whole device receive and
// publish path in XS (tools/xs/device/alloc.ts): bytes are fed from a buffer made once and
// writes are counted, so the only allocations left to see are the library's and the host's. It keeps
// the lwIP socket's contract (read exactly buffer.byteLength, at most what is unread).
interface Options {
  onReadable?: (count: number) => void;
  onWritable?: (count: number) => void;
  onError?: () => void;
}

export const wire = { rx: new Uint8Array(8192), start: 0, end: 0, sent: 0, acked: true, socket: null as unknown as TCP };

export default class TCP {
  constructor(readonly o: Options) {
    wire.socket = this;
  }
  read(buffer: Uint8Array): void {
    const n = buffer.byteLength;
    if (n <= 0 || n > wire.end - wire.start) throw new Error('invalid');
    for (let i = 0; i < n; i++) buffer[i] = wire.rx[wire.start + i];
    wire.start += n;
  }
  write(buffer: Uint8Array): number {
    wire.sent += buffer.byteLength;
    wire.acked = false;
    return 5744;
  }
  close(): void {}
}

/** The connection is up: the first onWritable. */
export function connect(): void {
  wire.socket.o.onWritable?.(5744);
}

/** Bytes arrive: the broker acknowledged what we sent (onWritable), then onReadable with everything unread. */
export function feed(bytes: Uint8Array, offset: number, length: number): void {
  if (!wire.acked) {
    wire.acked = true;
    wire.socket.o.onWritable?.(5744);
  }
  if (wire.start === wire.end) wire.start = wire.end = 0;
  for (let i = 0; i < length; i++) wire.rx[wire.end + i] = bytes[offset + i];
  wire.end += length;
  wire.socket.o.onReadable?.(wire.end - wire.start);
}
