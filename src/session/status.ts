// One status space for every layer (codec statuses live in codec/constants.ts), and their names for logs.

// Status -n's name is word n of this list ('' in the gaps), found when asked (for a log line): an
// array of its 67 words made at load would be about 70 preloaded slots of the device's flash.
// test/codec.test.ts checks every name.
const NAMES =
  ' WOULD_BLOCK' + // -1
  '         ' + // -2..-9 unused
  'REMAINING_LENGTH_TOO_LONG REMAINING_LENGTH_NOT_MINIMAL PACKET_TOO_LARGE MESSAGE_TOO_LARGE TOPIC_TOO_LARGE ' + // -10..-14
  'RESERVED_PACKET_TYPE UNEXPECTED_PACKET PACKET_BEFORE_CONNACK DUPLICATE_CONNACK BAD_FLAGS BAD_LENGTH ' + // -15..-20
  'BAD_CONNACK_FLAGS SESSION_PRESENT_ON_ERROR BAD_RETURN_CODE BAD_QOS PACKET_ID_ZERO DUP_ON_QOS0 EMPTY_TOPIC ' + // -21..-27
  'WILDCARD_IN_TOPIC NULL_IN_STRING BAD_UTF8 BAD_TOPIC_LENGTH  ' + // -28..-31, -32 unused
  'SUBACK_COUNT_MISMATCH SUBACK_QOS_ABOVE_REQUESTED ' + // -33, -34
  'KEEPALIVE_TIMEOUT CONNACK_TIMEOUT CONNECTION_LOST  UNEXPECTED_ACK  ' + // -35..-37, -38 unused, -39, -40 unused
  'REFUSED_PROTOCOL_VERSION REFUSED_IDENTIFIER REFUSED_SERVER_UNAVAILABLE REFUSED_BAD_CREDENTIALS REFUSED_NOT_AUTHORIZED ' + // -41..-45
  'SESSION_PRESENT_ON_CLEAN              ' + // -46, -47..-59 unused
  'NO_MEMORY NOT_CONNECTED OUTBOX_FULL QOS2_TABLE_FULL STOPPED  QOS0_DROPPED'; // -60..-66, -65 unused

/** A status's name for logs: 'OK' for 0 and above, 'STATUS_<n>' for an unknown code. */
export function statusName(code: number): string {
  if (code >= 0) return 'OK';
  let at = 0;
  for (let k = -code; k > 0; k--) {
    at = NAMES.indexOf(' ', at) + 1;
    if (!at) return 'STATUS_' + code; // past the last word
  }
  const end = NAMES.indexOf(' ', at);
  return NAMES.slice(at, end < 0 ? NAMES.length : end) || 'STATUS_' + code;
}

/** Remote statuses: the peer broke the protocol and the connection is finished. */
export function isRemoteError(code: number): boolean {
  return code <= -10 && code > -60;
}
