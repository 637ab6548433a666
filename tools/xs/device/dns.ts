// `embedded:network/dns/resolver/udp` for the device app in xsnap (tools/xs/device/io.ts), with the
// contract of Moddable's resolver (examples/io/udp/dns/dns.js, the module manifest_dns.json maps):
// - new Resolver({ servers, socket: { io: UDP } }): the servers are copied; nothing is sent yet;
// - resolve({ host, onResolved, onError }) throws without a host, without a callback, or once the
//   resolver is closed; the answer comes later, from the run loop, never inside resolve():
//   onResolved(host, address) with a dotted IPv4 string, or onError(host), `this` the resolver;
// - close() drops the requests in flight: no callback follows.
// Node answers each lookup from the names the test gave (tools/xs/device.mjs), in place of the UDP
// exchange with a DNS server; a name it does not know is an error, as NXDOMAIN is.
import { RESOLVE, ascii, command, lookups } from './io.js';

interface Request {
  host: string;
  onResolved?: (this: Resolver, host: string, address: string) => void;
  onError?: (this: Resolver, host: string) => void;
}

function ignore(): void {}

export default class Resolver {
  private servers: string[] | undefined;
  private live: number[] = [];

  constructor(options: { servers: string[]; socket: { io: unknown } }) {
    if (!options.socket?.io) throw new Error('socket.io required');
    this.servers = options.servers.slice();
    if (!this.servers.length) throw new Error('no DNS servers');
  }

  resolve(r: Request): void {
    const host = r.host ? String(r.host) : '';
    if (!host || (!r.onResolved && !r.onError) || !this.servers) throw new Error('invalid');
    let id = 1; // a free slot: the id travels in one byte
    while (id < lookups.length && lookups[id]) id++;
    if (id > 255) throw new Error('too many lookups');
    this.live.push(id);
    lookups[id] = (address) => {
      const i = this.live.indexOf(id);
      if (i < 0) return; // closed meanwhile
      this.live.splice(i, 1);
      if (address) r.onResolved?.call(this, host, address);
      else r.onError?.call(this, host);
    };
    command(RESOLVE, id, ascii(host), 0, host.length);
  }

  close(): void {
    // Each slot stays taken until Node's answer comes (then io.ts frees it), so that a late answer
    // can never reach a later request given the same id.
    for (let i = 0; i < this.live.length; i++) lookups[this.live[i]] = ignore;
    this.live = [];
    this.servers = undefined;
  }
}
