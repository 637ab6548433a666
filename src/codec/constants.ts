// MQTT 3.1.1 wire constants and the one status space shared by every layer.
// `export const` numbers, never `enum`: esbuild inlines them and XS keeps no enum objects in RAM.

// Control packet types (the high nibble of the first byte) [MQTT-2.2.1].
export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

// CONNACK return codes [MQTT-3.2.2.3].
export const CONNACK_ACCEPTED = 0;
export const CONNACK_UNACCEPTABLE_PROTOCOL = 1;
export const CONNACK_IDENTIFIER_REJECTED = 2;
export const CONNACK_SERVER_UNAVAILABLE = 3;
export const CONNACK_BAD_CREDENTIALS = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

/** SUBACK return code for a refused filter [MQTT-3.9.3]. */
export const SUBACK_FAILURE = 0x80;

export const MAX_PACKET_ID = 65535;
/** Largest remaining length a 4-byte variable integer can hold [MQTT-2.2.3]. */
export const MAX_REMAINING_LENGTH = 268435455;

// ---- Statuses -------------------------------------------------------------------------------
// Zero and positive values are results (an end offset, an event); negative values are statuses.
// Transient: try again with more input / more room later.
export const OK = 0;
export const NEED_MORE = 0; // decoder: every byte pushed was consumed, no packet is complete yet
export const WOULD_BLOCK = -1;

// Remote: the peer broke the protocol. The connection is finished; close without DISCONNECT.
export const REMAINING_LENGTH_TOO_LONG = -10; // case 1: a 4th length byte with its continuation bit
export const REMAINING_LENGTH_NOT_MINIMAL = -11; // case 2
export const PACKET_TOO_LARGE = -12; // case 3: a non-PUBLISH packet larger than the receive buffer
export const MESSAGE_TOO_LARGE = -13; // case 3: a PUBLISH above the configured maximum message size
export const TOPIC_TOO_LARGE = -14; // case 3: a PUBLISH whose variable header exceeds the buffer
export const RESERVED_PACKET_TYPE = -15; // case 4
export const UNEXPECTED_PACKET = -16; // case 5: a packet only a client may send
export const PACKET_BEFORE_CONNACK = -17; // case 6 [MQTT-3.2.0-1]
export const DUPLICATE_CONNACK = -18; // case 6
export const BAD_FLAGS = -19; // cases 7, 29, 32, 34, 37, 38 [MQTT-2.2.2-2]
export const BAD_LENGTH = -20; // cases 8, 23, 30, 34, 37, 38
export const BAD_CONNACK_FLAGS = -21; // case 9 [MQTT-3.2.2.1]
export const SESSION_PRESENT_ON_ERROR = -22; // case 10 [MQTT-3.2.2-4]
export const BAD_RETURN_CODE = -23; // cases 11, 33 [MQTT-3.9.3-2]
export const BAD_QOS = -24; // case 12 [MQTT-3.3.1-4]
export const PACKET_ID_ZERO = -25; // cases 13, 28, 34 [MQTT-2.3.1-1]
export const DUP_ON_QOS0 = -26; // case 14 [MQTT-3.3.1-2]
export const EMPTY_TOPIC = -27; // case 15 [MQTT-4.7.3-1]
export const WILDCARD_IN_TOPIC = -28; // case 16 [MQTT-3.3.2-2]
export const NULL_IN_STRING = -29; // case 17 [MQTT-1.5.3-2]
export const BAD_UTF8 = -30; // case 18 [MQTT-1.5.3-1]
export const BAD_TOPIC_LENGTH = -31; // case 22: topic length beyond the remaining length
export const SUBACK_COUNT_MISMATCH = -33; // case 35 [MQTT-3.8.4-5]
export const SUBACK_QOS_ABOVE_REQUESTED = -34; // case 36

// Remote, found by the session: the connection is finished.
export const KEEPALIVE_TIMEOUT = -35; // no PINGRESP in time: a dead or half-open link (fault 5)
export const CONNACK_TIMEOUT = -36; // no CONNACK in time (fault 6)
export const CONNECTION_LOST = -37; // the link closed under us (fault 1)
export const UNEXPECTED_ACK = -39; // a PUBREC or PUBCOMP for no QoS 2 message of ours awaiting it
// CONNACK refusals [MQTT-3.2.2-5] (fault 7): -40 - return code.
export const REFUSED_PROTOCOL_VERSION = -41; // 1: a configuration error, do not retry
export const REFUSED_IDENTIFIER = -42; // 2: a configuration error, do not retry
export const REFUSED_SERVER_UNAVAILABLE = -43; // 3: back off and retry
export const REFUSED_BAD_CREDENTIALS = -44; // 4: stop (or retry slowly)
export const REFUSED_NOT_AUTHORIZED = -45; // 5: stop (or retry slowly)
export const SESSION_PRESENT_ON_CLEAN = -46; // CONNACK session present = 1 after a clean-session CONNECT [MQTT-3.2.2-1]

// Local: the caller's resources or state do not allow it. Nothing was written or queued.
export const NO_MEMORY = -60; // the caller's buffer is too small for the packet [coreMQTT MQTTNoMemory]
export const NOT_CONNECTED = -61; // a QoS 0 publish, a subscribe or unsubscribe while offline
export const OUTBOX_FULL = -62; // no room for another QoS 1 message (fault 13: never overwrites)
export const QOS2_TABLE_FULL = -63; // too many incoming QoS 2 exchanges open at once: closed, the broker resends
export const STOPPED = -64; // the client was stopped (by the application, or after a final refusal)
export const QOS0_DROPPED = -66; // a QoS 0 publish while offline, dropped as the client was told to (offlineQos0: 'drop')

// Decoder events (positive results of Decoder.push).
export const EV_PACKET = 1; // a whole packet is in the decoder's record
export const EV_FRAGMENT = 2; // a piece of a PUBLISH larger than the receive buffer
