// Modules the device app imports but the xsnap run does not provide: `embedded:io/socket/udp`, which
// the app only hands to the DNS resolver (tools/xs/device/dns.ts answers without a socket).
export default class Unavailable {
  constructor() {
    throw new Error('not available in the xsnap device run');
  }
}
