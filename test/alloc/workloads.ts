// The steady-state workloads both allocation proofs measure: test/alloc/codec-alloc.ts on V8 and
// tools/xs/entries/alloc.ts in XS. Engine-neutral (no Node or XS imports), so the two proofs run
// the very same code. Buffers are made once, here; each call returns a number to keep the work live.
import { Decoder, EV_PACKET, PUBACK, writeAck, writePingreq, writePublish } from '../../src/index.js';

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
