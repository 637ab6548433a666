// Matching a SUBACK to the SUBSCRIBE it answers: a check that needs what was requested, so it lives
// above the codec (the decoder has already checked each return code on its own).
import { SUBACK_COUNT_MISMATCH, SUBACK_FAILURE, SUBACK_QOS_ABOVE_REQUESTED } from '../codec/constants.js';

/**
 * Checks return codes codes[offset, offset + count) (a decoded SUBACK: `dec.data`,
 * `dec.payloadOffset`, `dec.payloadLength`) against the QoS requested for each filter.
 * Returns 0, SUBACK_COUNT_MISMATCH (one code per filter [MQTT-3.8.4-5], case 35) or
 * SUBACK_QOS_ABOVE_REQUESTED (a grant above the request, case 36: we close rather than clamp, since
 * a broker that grants more than asked may also send more than granted). 0x80 is a per-filter
 * failure that the caller reports, not a protocol error.
 */
export function checkSuback(codes: Uint8Array, offset: number, count: number, requested: ArrayLike<number>): number {
  if (count !== requested.length) return SUBACK_COUNT_MISMATCH;
  for (let i = 0; i < count; i++) {
    const c = codes[offset + i];
    if (c !== SUBACK_FAILURE && c > requested[i]) return SUBACK_QOS_ABOVE_REQUESTED;
  }
  return 0;
}
