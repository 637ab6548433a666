// Remaining length [MQTT-2.2.3]: 7 bits a byte, least significant first, at most 4 bytes.
// Reading is resumable and lives in the decoder's state machine (decoder.ts), which rejects a
// 4th byte with its continuation bit (case 1) and a non-minimal encoding (case 2) as it goes.

/** Bytes needed to encode `n` (0 ≤ n ≤ MAX_REMAINING_LENGTH). */
export function sizeOfVarint(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/** Writes `n` at `pos`; returns the offset after it. The caller has checked the room. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  do {
    let b = n & 127;
    n >>>= 7;
    if (n > 0) b |= 128;
    buf[pos++] = b;
  } while (n > 0);
  return pos;
}
