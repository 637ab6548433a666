// The steady-state workloads both allocation proofs measure: test/alloc/codec-alloc.ts on V8 and
// tools/xs/entries/alloc.ts in XS. Engine-neutral (no Node or XS imports), so the two proofs run
// the very same code. Buffers are made once, here; each call returns a number to keep the work live.
import { Decoder, EV_PACKET, PUBACK, PUBCOMP, PUBREC, matchTopic, writeAck, writePingreq, writePublish } from '../../src/index.js';
import { Session } from '../../src/session/session.js';

const tx = new Uint8Array(4096);
export const payload = new Uint8Array(64).fill(7);
const dec = new Decoder(512);
dec.awaitingConnack = false;

// Incoming bytes prepared once: QoS 0 and QoS 1 PUBLISH, PUBACK, PINGRESP in one stream.
const rx = new Uint8Array(512);
let rxEnd = writePublish(rx, 0, 'devices/d1/cmd/interval', payload, 0, false, false, 0);
rxEnd = writePublish(rx, rxEnd, 'devices/d1/cmd/interval', 'set 10', 1, false, false, 42);
rxEnd = writeAck(rx, rxEnd, PUBACK, 7);
rx[rxEnd++] = 0xd0;
rx[rxEnd++] = 0x00;

/** What a device sends in steady state: PUBLISH QoS 0 and QoS 1 (string topics), PUBACK, PINGREQ. */
export function encodeSteady(i: number): number {
  let p = writePublish(tx, 0, 'devices/d1/telemetry', payload, 0, false, false, 0);
  p = writePublish(tx, p, 'devices/d1/alerts', '{"t":21.5}', 1, false, false, (i % 65535) + 1);
  p = writeAck(tx, p, PUBACK, (i % 65535) + 1);
  return writePingreq(tx, p);
}

/** The prepared stream decoded whole (parsed in place), then in 5-byte chunks (gathered). */
export function decodeSteady(): number {
  let sink = 0;
  let off = 0;
  while (off < rxEnd) {
    if (dec.push(rx, off, rxEnd - off) === EV_PACKET) sink += dec.type + dec.payloadLength + dec.topicLength;
    off += dec.consumed;
  }
  off = 0;
  while (off < rxEnd) {
    const n = rxEnd - off < 5 ? rxEnd - off : 5;
    let o = off;
    while (o < off + n) {
      if (dec.push(rx, o, off + n - o) === EV_PACKET) sink += dec.packetId;
      o += dec.consumed;
    }
    off += n;
  }
  return sink;
}

// The steady state of a connected session: publishing QoS 0 and QoS 1 (with the broker's PUBACKs),
// and receiving QoS 0 and QoS 1 messages dispatched by wildcard match (with our PUBACKs).
const filter = new TextEncoder().encode('devices/+/cmd/#');
let sessionSent = 0;
let dispatched = 0;
const session: Session = new Session(
  { clientId: 'alloc', keepAliveSec: 60, inflightWindow: 8, outboxMessages: 32 },
  {
    send: (_b, _o, l) => ((sessionSent += l), true),
    onConnected: () => {},
    onMessage: () => {
      const m = session.message;
      if (matchTopic(filter, 0, filter.length, m.topicData, m.topicOffset, m.topicOffset + m.topicLength)) dispatched += m.payloadLength;
    },
    onPublished: () => {},
    onSubscribed: () => {},
    onUnsubscribed: () => {},
    onClose: (s) => {
      throw new Error('closed: ' + s);
    },
  },
);
let now = 0;
session.start(now);
session.receive(new Uint8Array([0x20, 2, 0, 0]), 0, 4, now);

const sPayload = new Uint8Array(32).fill(1);
const alertPayload = new TextEncoder().encode('{"t":41.2}');
const telemetryTopic = new TextEncoder().encode('devices/d1/telemetry');
const alertsTopic = new TextEncoder().encode('devices/d1/alerts');
const sRx = new Uint8Array(256);
let sRxEnd = writePublish(sRx, 0, 'devices/d1/cmd/interval', 'set 10', 0, false, false, 0);
const q1At = sRxEnd;
sRxEnd = writePublish(sRx, sRxEnd, 'devices/d1/cmd/reboot', sPayload, 1, false, false, 1);
const brokerAck = new Uint8Array(4);

/**
 * Publishes a QoS 0, a QoS 1 and a QoS 2 message and takes the broker's PUBACK, PUBREC and PUBCOMP. `strings`: topics (and the
 * alert) as strings, as an app on V8 writes them; otherwise as bytes, as the README advises on XS.
 */
export function sessionPublish(strings: boolean): number {
  now = (now + 1) >>> 0;
  session.publish(strings ? 'devices/d1/telemetry' : telemetryTopic, sPayload, 0, false, now);
  const id = strings ? session.publish('devices/d1/alerts', '{"t":41.2}', 1, false, now) : session.publish(alertsTopic, alertPayload, 1, false, now);
  writeAck(brokerAck, 0, PUBACK, id);
  session.receive(brokerAck, 0, 4, now); // the broker acknowledges it
  // QoS 2: PUBLISH, PUBREC in, PUBREL out, PUBCOMP in.
  const id2 = strings ? session.publish('devices/d1/alerts', '{"t":41.2}', 2, false, now) : session.publish(alertsTopic, alertPayload, 2, false, now);
  writeAck(brokerAck, 0, PUBREC, id2);
  session.receive(brokerAck, 0, 4, now);
  writeAck(brokerAck, 0, PUBCOMP, id2);
  session.receive(brokerAck, 0, 4, now);
  session.tick(now);
  return id;
}

/** Receives a QoS 0 and a QoS 1 message (its id varies with i), dispatches them, acknowledges the QoS 1. */
export function sessionReceive(i: number): number {
  now = (now + 1) >>> 0;
  const rid = (i % 65535) + 1;
  sRx[q1At + 2 + 2 + 21] = rid >> 8;
  sRx[q1At + 2 + 2 + 21 + 1] = rid & 255;
  session.receive(sRx, 0, sRxEnd, now);
  session.tick(now);
  return dispatched;
}

/** The session stayed connected, everything it published was acknowledged, and it sent bytes. */
export function sessionOk(): boolean {
  return session.queued === 0 && session.state === 2 && sessionSent > 0;
}

/** Payload bytes of the messages the session dispatched to the matching filter. */
export function sessionDispatched(): number {
  return dispatched;
}
