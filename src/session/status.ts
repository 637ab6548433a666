// One status space for every layer (codec statuses live in codec/constants.ts), and their names for logs.
import * as C from '../codec/constants.js';

const NAMES: Record<number, string> = {
  [C.WOULD_BLOCK]: 'WOULD_BLOCK',
  [C.REMAINING_LENGTH_TOO_LONG]: 'REMAINING_LENGTH_TOO_LONG',
  [C.REMAINING_LENGTH_NOT_MINIMAL]: 'REMAINING_LENGTH_NOT_MINIMAL',
  [C.PACKET_TOO_LARGE]: 'PACKET_TOO_LARGE',
  [C.MESSAGE_TOO_LARGE]: 'MESSAGE_TOO_LARGE',
  [C.TOPIC_TOO_LARGE]: 'TOPIC_TOO_LARGE',
  [C.RESERVED_PACKET_TYPE]: 'RESERVED_PACKET_TYPE',
  [C.UNEXPECTED_PACKET]: 'UNEXPECTED_PACKET',
  [C.PACKET_BEFORE_CONNACK]: 'PACKET_BEFORE_CONNACK',
  [C.DUPLICATE_CONNACK]: 'DUPLICATE_CONNACK',
  [C.BAD_FLAGS]: 'BAD_FLAGS',
  [C.BAD_LENGTH]: 'BAD_LENGTH',
  [C.BAD_CONNACK_FLAGS]: 'BAD_CONNACK_FLAGS',
  [C.SESSION_PRESENT_ON_ERROR]: 'SESSION_PRESENT_ON_ERROR',
  [C.BAD_RETURN_CODE]: 'BAD_RETURN_CODE',
  [C.BAD_QOS]: 'BAD_QOS',
  [C.PACKET_ID_ZERO]: 'PACKET_ID_ZERO',
  [C.DUP_ON_QOS0]: 'DUP_ON_QOS0',
  [C.EMPTY_TOPIC]: 'EMPTY_TOPIC',
  [C.WILDCARD_IN_TOPIC]: 'WILDCARD_IN_TOPIC',
  [C.NULL_IN_STRING]: 'NULL_IN_STRING',
  [C.BAD_UTF8]: 'BAD_UTF8',
  [C.BAD_TOPIC_LENGTH]: 'BAD_TOPIC_LENGTH',
  [C.QOS_NOT_GRANTED]: 'QOS_NOT_GRANTED',
  [C.SUBACK_COUNT_MISMATCH]: 'SUBACK_COUNT_MISMATCH',
  [C.SUBACK_QOS_ABOVE_REQUESTED]: 'SUBACK_QOS_ABOVE_REQUESTED',
  [C.NO_MEMORY]: 'NO_MEMORY',
};

/** A status's name for logs: 'OK' for 0 and above, 'STATUS_<n>' for an unknown code. */
export function statusName(code: number): string {
  return code >= 0 ? 'OK' : NAMES[code] || 'STATUS_' + code;
}

/** Remote statuses: the peer broke the protocol and the connection is finished. */
export function isRemoteError(code: number): boolean {
  return code <= -10 && code > -60;
}
