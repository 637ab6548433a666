// TLS for the Moddable host ("xs-mqtt/tls", which manifest_tls.json maps and preloads): Moddable's
// TLS socket (embedded:io/socket/tcp/tls, examples/io/tcp/tlssocket) for the links of a host made
// with `new ModdableHost({ TLS })`. In a module of its own so that an app without TLS links none of
// it: neither Moddable's TLS stack (about 156 KB of archive) nor this code.
import TCP from 'embedded:io/socket/tcp';
import type { Options as TCPOptions } from 'embedded:io/socket/tcp';
import TLSSocket from 'embedded:io/socket/tcp/tls';
import type { Options as TLSOptions } from 'embedded:io/socket/tcp/tls';
import Timer from 'timer';
import type { Target, TlsOptions } from '../../src/index.js';

/** The DER bytes of the first PEM block in `pem` (Moddable's TLS takes DER), or the bytes as given. */
export function pemToDer(pem: string | Uint8Array): Uint8Array {
  if (typeof pem !== 'string') return pem;
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/[^A-Za-z0-9+/]/g, '');
  const out = new Uint8Array((body.length * 3) >> 2);
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    // A-Z 0-25, a-z 26-51, 0-9 52-61, + 62, / 63
    const v = c >= 97 ? c - 71 : c >= 65 ? c - 65 : c >= 48 ? c + 4 : c === 43 ? 62 : 63;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

/**
 * The TCP socket the TLS socket runs on, its callbacks guarded: Moddable's TLS runs its handshake
 * inside them and throws there on a chain it does not trust (or cannot parse); uncaught, that is
 * "XS abort", a reboot on a board. A throw ends the link instead (`options.fail`, 'tls: <message>').
 * Called with `new` by the TLS socket: it returns the socket it makes, also kept in `o.guarded.tcp`
 * with its guarded onReadable in `o.guarded.r` (for TLS()'s read).
 */
function GuardedTCP(o: Record<string, any>): TCP {
  const fail = o.fail as (why: string) => void;
  const guard = (fn: (n: number) => void) => (n: number) => {
    try {
      fn(n);
    } catch (e) {
      fail('tls: ' + ((e as Error)?.message || 'failed'));
    }
  };
  const g = o.guarded;
  g.r = guard(o.onReadable);
  return (g.tcp = new TCP({ ...o, onReadable: g.r, onWritable: guard(o.onWritable) } as TCPOptions));
}

/**
 * Opens Moddable's TLS socket for a link to `target`: `options` are the socket options the host
 * made (address, port, its callbacks), `fail` ends the link. The server name (SNI, and SDK 8.2.3's
 * ssl_cert.js matches it against the certificate's subjectAltName) is `tls.servername` or the host;
 * `tls.ca` is the one CA trusted (else the device's store), `cert` and `key` a client certificate,
 * each PEM or DER. TLS never falls back to plain TCP.
 */
export function TLS(options: Record<string, unknown>, target: Target, fail: (why: string) => void): object {
  const t = target.tls as TlsOptions;
  const secure: Record<string, unknown> = {};
  if (t.ca !== undefined) secure.certificate = pemToDer(t.ca).slice().buffer;
  if (t.cert !== undefined) secure.clientCertificates = [pemToDer(t.cert).slice().buffer];
  if (t.key !== undefined) secure.clientKey = pemToDer(t.key).slice().buffer;
  options.host = t.servername ?? target.host;
  options.secure = secure;
  options.TCP = { io: GuardedTCP }; // the TLS socket runs its handshake over `TCP.io`
  options.fail = fail; // reaches GuardedTCP (the TLS socket passes its options on, spread)
  // The host's callbacks find their link as `this.target` (the socket's, on plain TCP); the TLS
  // socket calls them on an object of its own, so here they are called on one that has it.
  const on: Record<string, any> = { target: options.target };
  for (const k of ['onReadable', 'onWritable', 'onError']) {
    const fn = options[k] as (n?: number) => void;
    options[k] = (n?: number) => fn.call(on, n);
  }
  options.guarded = on; // GuardedTCP adds the TCP socket (tcp) and its guarded onReadable (r)
  const socket = new TLSSocket(options as TLSOptions) as any;
  // The TLS socket decrypts the records that follow the one a read() used up from a Timer.set of its
  // own (tlssocket.js's read: whenever its TCP socket's `readable` is not 0), which nothing guards;
  // a bad record throws there (ssl_record.js, ssl_alert.js). So read() runs with that count hidden
  // (no such timer), and the same step, the TCP socket's onReadable, follows from a timer here,
  // guarded: after every read while the TCP socket holds more (it does nothing while the TLS socket
  // still holds decrypted bytes). TLS allocates on every read anyway (read() returns a new buffer).
  // (Only over GuardedTCP, which the constructor has called by now: a TLS socket that runs over no
  // `TCP.io`, such as the xsnap device tests' stand-in, has no such timer to hide.)
  const tcp = on.tcp;
  if (!tcp) return socket;
  const read = socket.read;
  const guarded = (n: number) => {
    const left = tcp.readable;
    tcp.readable = 0;
    try {
      return read.call(socket, n);
    } finally {
      tcp.readable = left;
      if (left) Timer.set(() => tcp.readable && on.r(tcp.readable), 0);
    }
  };
  // Defined, not assigned: the preloaded class's prototype is frozen, and its read would refuse an assignment.
  Object.defineProperty(socket, 'read', { value: guarded });
  return socket;
}
