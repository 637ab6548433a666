// Whether a host is a dotted IPv4 address, the only address the ECMA-419 TCP socket takes (a name
// goes to the DNS resolver first). A loop rather than a regular expression: on XS a RegExp in a
// preloaded module is an object and its compiled program in flash (about 600 B here), this is 100 B
// of bytecode. test/ipv4.test.ts holds it to the regular expression it replaced.

/** Whether `host` is four numbers 0–255 without leading zeros, separated by dots. */
export function isIPv4(host: string): boolean {
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) - 48 : -2; // the end counts as a dot ('.' is 48 - 2)
    if (c === -2) {
      if (!digits || value > 255 || ++parts > 4) return false;
      value = digits = 0;
    } else if (c >= 0 && c <= 9 && (!digits || value)) {
      value = value * 10 + c; // a second digit after a leading 0 is refused above (value 0)
      digits++;
    } else return false;
  }
  return parts === 4;
}
