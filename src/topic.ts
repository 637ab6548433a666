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

// decodeUtf8 lives with the codec's UTF-8 (the decoder's record gives a message's text with it).
export { decodeUtf8 } from './codec/utf8.js';
