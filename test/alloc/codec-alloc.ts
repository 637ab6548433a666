// Run by test/alloc.test.ts in its own `node --expose-gc` process (bundled by esbuild from src/).
// After warm-up, N encodes and decodes of PUBLISH QoS 0/1, PUBACK and PINGREQ/PINGRESP must leave
// the heap where it was, with a GC observer proving no collection hid an allocation in between.
// argv[2] = 'control' adds one small allocation per iteration: the harness must then report it.
import { Decoder, EV_PACKET, PUBACK, writeAck, writePingreq, writePublish } from '../../src/index.js';
import { measureAllocation } from './measure.js';

const N = 100_000;
const control = process.argv[2] === 'control';

const tx = new Uint8Array(4096);
const payload = new Uint8Array(64).fill(7);
const dec = new Decoder(512);
dec.awaitingConnack = false;

// Incoming bytes prepared once: QoS 0 and QoS 1 PUBLISH, PUBACK, PINGRESP in one stream.
const rx = new Uint8Array(512);
let rxEnd = writePublish(rx, 0, 'devices/d1/cmd/interval', payload, 0, false, false, 0);
rxEnd = writePublish(rx, rxEnd, 'devices/d1/cmd/interval', 'set 10', 1, false, false, 42);
rxEnd = writeAck(rx, rxEnd, PUBACK, 7);
rx[rxEnd++] = 0xd0;
rx[rxEnd++] = 0x00;

let sink = 0;
let keep: unknown = null;
function iteration(i: number): void {
  // Encode: what a device sends in steady state.
  let p = writePublish(tx, 0, 'devices/d1/telemetry', payload, 0, false, false, 0);
  p = writePublish(tx, p, 'devices/d1/alerts', '{"t":21.5}', 1, false, false, (i % 65535) + 1);
  p = writeAck(tx, p, PUBACK, (i % 65535) + 1);
  p = writePingreq(tx, p);
  sink += p;
  // Decode: the prepared stream whole (parsed in place), then in 5-byte chunks (gathered).
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
  if (control) keep = new Uint8Array(1); // 1 byte: small, as a careless view or object would be
}

measureAllocation(iteration, N, () => ({ sink: sink > 0, kept: keep !== null || !control }));
