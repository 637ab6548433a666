// `embedded:io/socket/tcp/tls` for the device app in xsnap (tools/xs/device/io.ts), with the
// contract of Moddable's TLS socket (examples/io/tcp/tlssocket/tlssocket.js over ssl/session):
// - options as the TCP socket's (a dotted IPv4 `address`, `port`) plus `host` (the server name:
//   SNI and the name the certificate must carry), `secure` (ssl/session options: `certificate`, a
//   trusted CA as DER in an ArrayBuffer, tried before the device's store; `clientCertificates`,
//   `clientKey` as DER) and `TCP.io`, the socket class it runs over;
// - onWritable(count − 96) once the handshake is done and whenever the TCP socket reports more
//   than 96 bytes of room (96: its estimate of a record's overhead);
// - onReadable(n) for one record's decrypted bytes; read(count) returns count bytes of it as a new
//   ArrayBuffer (read() all of it), undefined when none is left; the next record is announced from
//   a timer once this one is read up;
// - write(ArrayBuffer) makes one record and writes it to the TCP socket at once, which throws
//   "would block" past its room; it returns the TCP socket's room less 96;
// - onError when the TCP socket fails: at once when nothing is left unread, else once the app has read
//   the last record (from the run loop, as the TCP socket's next delivery would be).
// Node does the TLS itself (node:tls, TLS 1.2 only, as ssl/session's protocolVersion 0x303, the
// chain verified against `secure.certificate` and the store tools/xs/device.mjs was given, the host
// name not checked, as ssl/* does not). A chain the device does not trust ends in silence, as on the
// device (tools/xs/device.mjs); a refusal by the broker ends in onError. Here a record costs what
// AES-CBC with HMAC-SHA256 adds (5-byte header, 16-byte IV, 32-byte MAC, 1–16 bytes of padding): up
// to 69 bytes, so a host that ignored write()'s return and counted records short would see "would
// block".
import { CLOSE, OPEN_TLS, WRITE, ascii, command, endpoint, register, sockets, type SocketSim } from './io.js';
import Timer from './timer.js';

const SEND_BUFFER = 5744; // the TCP socket's, as tools/xs/device/tcp.ts
const ESTIMATE = 96; // tlssocket.js's overhead estimate

interface Options {
  address: string;
  port: number;
  host: string;
  secure?: { certificate?: ArrayBuffer; clientCertificates?: ArrayBuffer[]; clientKey?: ArrayBuffer };
  TCP?: { io?: unknown };
  onReadable?: (this: TLSSocket, count: number) => void;
  onWritable?: (this: TLSSocket, count: number) => void;
  onError?: (this: TLSSocket) => void;
}

/** What a record of `n` bytes of application data takes on the wire (AES-CBC, HMAC-SHA256). */
export function recordBytes(n: number): number {
  return 5 + 16 + (((n + 32) >> 4) + 1) * 16;
}

function base64(ab: ArrayBuffer | undefined): string | null {
  if (!ab) return null;
  const a = new Uint8Array(ab);
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let s = '';
  for (let i = 0; i < a.length; i += 3) {
    const n = (a[i] << 16) | ((a[i + 1] ?? 0) << 8) | (a[i + 2] ?? 0);
    s += abc[(n >> 18) & 63] + abc[(n >> 12) & 63] + (i + 1 < a.length ? abc[(n >> 6) & 63] : '=') + (i + 2 < a.length ? abc[n & 63] : '=');
  }
  return s;
}

export default class TLSSocket implements SocketSim {
  private id: number;
  private o: Options;
  private records: Uint8Array[] = []; // decrypted, not yet announced
  private record: Uint8Array | null = null; // the record being read
  private position = 0;
  private tcpWritable = 0;
  private ready = false;
  private failed = false;
  private closed = false;
  private doRead: unknown = null;

  constructor(o: Options) {
    const at = endpoint(o.address, o.port);
    if (!o.TCP?.io) throw new TypeError('TCP.io required');
    if (typeof o.host !== 'string' || !o.host) throw new TypeError('host required');
    this.o = o;
    this.id = register(this);
    const s = o.secure ?? {};
    const json = JSON.stringify({
      servername: o.host,
      ca: base64(s.certificate),
      cert: base64(s.clientCertificates?.[0]),
      key: base64(s.clientKey),
    });
    const b = new Uint8Array(6 + json.length);
    b.set(at);
    b.set(ascii(json), 6);
    command(OPEN_TLS, this.id, b, 0, b.length);
  }

  read(count?: number): ArrayBuffer | undefined {
    const data = this.record;
    if (!data) return undefined;
    const n = count ?? data.length - this.position;
    // tlssocket.js would slice short and never let go of the record: a host must not ask for more.
    if (!(n > 0) || this.position + n > data.length) throw new Error('read past the record');
    const out = data.slice(this.position, this.position + n);
    this.position += n;
    if (this.position === data.length) {
      this.record = null;
      if (this.failed && !this.records.length) Timer.set(() => this.fireError(), 0);
      else if (this.records.length) {
        this.doRead = Timer.set(() => {
          this.doRead = null;
          this.announce();
        }, 0);
      }
    }
    return out.buffer;
  }

  write(buffer: ArrayBuffer): number {
    if (!this.ready) throw new Error('not ready');
    if (!(buffer instanceof ArrayBuffer)) throw new TypeError('ArrayBuffer expected');
    if (buffer.byteLength > 16384) return -1; // ssl/session: larger than a record
    const wire = recordBytes(buffer.byteLength);
    if (this.failed || this.closed) return 0;
    if (wire > this.tcpWritable) throw new Error('would block'); // the TCP socket's write
    this.tcpWritable -= wire;
    const b = new Uint8Array(buffer);
    command(WRITE, this.id, b, 0, b.length);
    return Math.max(0, this.tcpWritable - ESTIMATE);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    sockets[this.id] = null;
    if (this.doRead) Timer.clear(this.doRead as never);
    command(CLOSE, this.id, null);
  }

  private announce(): void {
    if (this.closed || this.record || !this.records.length) return;
    this.record = this.records.shift()!;
    this.position = 0;
    this.o.onReadable?.call(this, this.record.length);
  }

  // ---- from Node ----
  connected(writable: number): void {
    this.ready = true; // the handshake is done and the server verified
    this.writable(writable);
  }
  writable(count: number): void {
    if (this.closed || this.failed) return;
    this.tcpWritable = Math.min(count, SEND_BUFFER);
    if (this.ready && this.tcpWritable > ESTIMATE) this.o.onWritable?.call(this, this.tcpWritable - ESTIMATE);
  }
  data(bytes: Uint8Array): void {
    if (this.closed) return;
    this.records.push(bytes);
    this.announce();
  }
  /** As the TCP socket under it: the error only once every byte that came was read. */
  error(): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.ready = false;
    if (!this.record && !this.records.length) this.fireError();
  }
  private fireError(): void {
    if (!this.closed) this.o.onError?.call(this);
  }
}
