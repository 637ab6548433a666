// Topic names and filters [MQTT-4.7]: validation from strings, matching on bytes (no allocation).
import { utf8, STR_FILTER, STR_TOPIC } from './codec/utf8.js';

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

/** Throws TypeError unless `filter` is a valid topic filter ('+' and '#' as whole levels, '#' last). */
export function validateFilter(filter: string): void {
  utf8(filter, STR_FILTER);
}

/** Throws TypeError unless `topic` is a valid topic name (non-empty, no wildcard, no U+0000). */
export function validateTopic(topic: string): void {
  utf8(topic, STR_TOPIC);
}

/**
 * A topic name's UTF-8 bytes, validated (TypeError as validateTopic). Make them once and publish
 * with them: under XS every property read of a primitive string (`length`, `charCodeAt`) boxes it,
 * so a publish given a string topic allocates there, and one given bytes does not.
 */
export function topicBytes(topic: string): Uint8Array {
  const b = new Uint8Array(utf8(topic, STR_TOPIC));
  utf8(topic, STR_TOPIC, b, 0);
  return b;
}

/**
 * Does topic name t[ts, te) match topic filter f[fs, fe)? Both are UTF-8 bytes, already valid.
 * '+' matches one whole level (an empty one too), '#' the rest including the parent level
 * ("a/#" matches "a") [MQTT-4.7.1-2]; a topic starting with '$' is not matched by a filter that
 * starts with a wildcard [MQTT-4.7.2-1].
 */
export function matchTopic(f: Uint8Array, fs: number, fe: number, t: Uint8Array, ts: number, te: number): boolean {
  if (t[ts] === DOLLAR && (f[fs] === PLUS || f[fs] === HASH)) return false;
  while (fs < fe) {
    const c = f[fs];
    if (c === HASH) return true;
    if (c === PLUS) {
      while (ts < te && t[ts] !== SLASH) ts++;
      fs++;
    } else if (ts < te && t[ts] === c) {
      fs++;
      ts++;
    } else {
      // The topic ended where the filter has "/#": the parent level matches too.
      return ts === te && c === SLASH && fs + 2 === fe && f[fs + 1] === HASH;
    }
  }
  return ts === te;
}

/**
 * Decodes bytes [start, end) as UTF-8 to a string, reading nothing outside that range. As
 * TextDecoder does (WHATWG Encoding): each ill-formed sequence (a stray continuation byte, an
 * overlong form, a surrogate, a code point over U+10FFFF, one cut short by `end`) becomes U+FFFD,
 * its longest valid prefix counted as one; never throws. Payloads are binary: this is for the ones
 * the application knows are text, and for topics. Allocates the string: call it only when one is wanted.
 */
export function decodeUtf8(data: Uint8Array, start: number, end: number): string {
  let s = '';
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
