// UTF-8 straight between JS strings and bytes: no TextEncoder (absent on XS), no temporary arrays.
import { BAD_UTF8, NULL_IN_STRING, WILDCARD_IN_TOPIC } from './constants.js';

/** What a string is checked as by `utf8`. */
export const STR_TEXT = 0; // client id, user name: no U+0000, no lone surrogate [MQTT-1.5.3-1/2]
export const STR_TOPIC = 1; // a topic name: also non-empty, no '+' or '#' [MQTT-3.3.2-2] [MQTT-4.7.3-1]
export const STR_FILTER = 2; // a topic filter: non-empty, wildcards only as whole levels, '#' last [MQTT-4.7.1]
export const STR_DATA = 3; // binary data given as a string (payload, password): any code point, any length

/**
 * Throws TypeError(msg), or RangeError(msg) when `range`: one throw site for the library
 * (repeated `throw new XError(…)` costs bytes, and each function is flash on a device).
 */
export function fail(msg: string, range?: 1): never {
  throw new (range ? RangeError : TypeError)(msg);
}

// XS boxes a primitive string on every property read (mxToInstance in xsRun.c: a String instance,
// 2 heap slots, 64 B on lin), so `s.charCodeAt(i)` allocates at every character; calling the native
// with the string as `this` (`String.prototype.charCodeAt.call(s, i)`) costs more, 3 slots a call
// (measured in the simulator, SDK 8.2.3). A String object's own reads allocate nothing, so on XS a
// string is boxed once, `Object(s)`, and read through the box: 2 slots a string, whatever its
// length. V8 inlines `s.charCodeAt(i)` on the primitive and would not on a box, so the engine picks
// the form, once: `trace.left` is XS's own (xsGlobal.c). Either form is correct anywhere;
// test/utf8-engines.test.ts runs both on V8.
/**
 * Running on XS (Moddable): `trace.left` is XS's own (xsGlobal.c). The device build says so outright
 * (XS_ESBUILD's define in tools/xs-post.mjs), so that it keeps only the XS side of each test.
 */
export const XS: boolean = typeof XS_MQTT_DEVICE === 'boolean' ? XS_MQTT_DEVICE : !!(globalThis as any).trace?.left;
declare const XS_MQTT_DEVICE: boolean | undefined;
// String literals on per-packet paths live here, once: in a preloaded module, XS copies a literal
// into a fresh chunk each time it is evaluated (xsl makes literals ROM references only in modules
// that are not preloaded), while a module constant is read in place. Measured in the simulator:
// 149 chunk bytes per QoS 0 publish with `typeof d === 'string'` inline, none with STRING.
/** `typeof d === STRING`: the string test of the per-packet paths. */
export const STRING = 'string';
const EMPTY = '';

/**
 * A lower bound of a field's bytes: a string's UTF-16 units (each is 1 to 3 bytes of UTF-8), bytes'
 * count, 0 for none. One function for the encoder's bounds: each function is preloaded slots on the
 * device. Under XS a string's length is read on its box (2 slots; above), and the session boxes a
 * string it is given to publish once, so that each read after that allocates nothing: a box's
 * `length` is its UTF-16 units, as a string's. On V8, `s.length` (bytes here too turned its reads
 * polymorphic, and string publishes 30% slower, when this read both; a branch on typeof first
 * keeps each read monomorphic).
 */
export function bound(d: Uint8Array | string | null): number {
  return d ? (typeof d === STRING ? (XS ? Object(d) : d).length : (d as Uint8Array).length) : 0;
}

const PLUS = 0x2b;
const HASH = 0x23;
const SLASH = 0x2f;

/**
 * One pass over `s`: checks it as `kind` and, when `buf` is given, writes its UTF-8 bytes at
 * buf[pos]. Returns the byte length (no buf) or the offset after the bytes (with buf).
 * Throws TypeError for a string MQTT forbids, RangeError above 65535 bytes (except STR_DATA):
 * the caller's mistakes. (With `buf`, bytes past `pos` may already be written when it throws.)
 */
export function utf8(s: string, kind: number, buf?: Uint8Array | null, pos = 0): number {
  const start = pos;
  const o = XS ? (Object(s) as string) : s; // read through a box on XS (above)
  const n = o.length;
  for (let i = 0; i < n; i++) {
    let c = o.charCodeAt(i);
    if (c < 0x80) {
      // ASCII, the common case: only U+0000, '#' (0x23) and '+' (0x2B) need a second look, and
      // (c | 8) === 0x2b is true for exactly those two. Allowed as data; '+'/'#' also as a whole
      // filter level ('#' last).
      if ((!c || (c | 8) === PLUS) && kind !== STR_DATA && !(c && kind === STR_TEXT)) {
        if (!c) fail('U+0000 in string');
        if (
          kind === STR_TOPIC ||
          (i && o.charCodeAt(i - 1) !== SLASH) || // [MQTT-4.7.1-2/3]: a wildcard fills its level
          (i + 1 < n && (c === HASH || o.charCodeAt(i + 1) !== SLASH))
        ) {
          fail('misplaced wildcard: ' + s);
        }
      }
      if (buf) buf[pos] = c;
      pos++;
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        // A surrogate pair as one code point; a lone surrogate reads as itself.
        c = o.codePointAt(i++)!;
        if (c < 0x10000) fail('lone surrogate in string');
      }
      let k = c < 0x800 ? 1 : c < 0x10000 ? 2 : 3; // continuation bytes
      if (!buf) pos += k + 1;
      else {
        buf[pos++] = ((0xf0 << (3 - k)) & 0xf0) | (c >> (6 * k)); // lead: 110xxxxx, 1110xxxx or 11110xxx
        while (k--) buf[pos++] = 0x80 | ((c >> (6 * k)) & 63);
      }
    }
  }
  if (kind !== STR_DATA) {
    if (pos - start > 65535) fail('string over 65535 bytes', 1);
    if (pos === start && kind) fail('empty topic');
  }
  return pos;
}

/**
 * Checks bytes [start, end) as an MQTT UTF-8 string: well-formed (no overlong form, no surrogate,
 * nothing above U+10FFFF, nothing truncated), no U+0000; a topic name also has no wildcard.
 * U+FEFF is kept as a character [MQTT-1.5.3-3]. U+0001..U+001F and U+007F..U+009F are accepted: the
 * spec lets a receiver close on them (MAY) but brokers pass them on, and closing would lose messages.
 * Returns 0, NULL_IN_STRING, BAD_UTF8 or WILDCARD_IN_TOPIC.
 */
export function checkUtf8(data: Uint8Array, start: number, end: number, topic: boolean): number {
  while (start < end) {
    const b = data[start++];
    if (b < 0x80) {
      if (b === 0) return NULL_IN_STRING;
      if (topic && (b === PLUS || b === HASH)) return WILDCARD_IN_TOPIC;
      continue;
    }
    // Well-formed sequences (Unicode Table 3-7): the second byte's range depends on the lead.
    if (b < 0xc2 || b > 0xf4) return BAD_UTF8;
    let more = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
    if (start + more > end) return BAD_UTF8;
    const b2 = data[start];
    if (b2 < (b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80) || b2 > (b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf)) {
      return BAD_UTF8;
    }
    while (more--) if ((data[start++] & 0xc0) !== 0x80) return BAD_UTF8;
  }
  return 0;
}

/**
 * Decodes bytes [start, end) as UTF-8 to a string, reading nothing outside that range. As
 * TextDecoder does (WHATWG Encoding): each ill-formed sequence (a stray continuation byte, an
 * overlong form, a surrogate, a code point over U+10FFFF, one cut short by `end`) becomes U+FFFD,
 * its longest valid prefix counted as one; never throws. Payloads are binary: this is for the ones
 * the application knows are text, and for topics. Allocates the string: call it only when one is wanted.
 */
export function decodeUtf8(data: Uint8Array, start: number, end: number): string {
  let s = EMPTY;
  while (start < end) {
    const b = data[start++];
    let c = b < 0x80 ? b : 0xfffd;
    if (b >= 0xc2 && b <= 0xf4) {
      let k = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3; // continuation bytes
      let v = b & (0x3f >> k);
      // The second byte's range depends on the lead (Unicode Table 3-7), the others are 80..BF.
      let lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
      let hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
      for (; k && start < end && data[start] >= lo && data[start] <= hi; k--) {
        v = (v << 6) | (data[start++] & 63);
        lo = 0x80;
        hi = 0xbf;
      }
      if (!k) c = v; // else U+FFFD, and the byte that broke the sequence starts the next one
    }
    s += String.fromCodePoint(c);
  }
  return s;
}
