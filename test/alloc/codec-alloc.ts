// Run by test/alloc.test.ts in its own `node --expose-gc` process (bundled by esbuild from src/).
// After warm-up, N encodes and decodes of PUBLISH QoS 0/1, PUBACK and PINGREQ/PINGRESP must leave
// the heap where it was, with a GC observer proving no collection hid an allocation in between.
// argv[2] = 'control' adds one small allocation per iteration: the harness must then report it.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { Decoder, EV_PACKET, PUBACK, writeAck, writePingreq, writePublish } from '../../src/index.js';

declare const gc: () => void;
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

// The measured loop is a function warmed up like the rest: otherwise V8 compiles the loop itself
// (on-stack replacement) during the measurement, a one-time ~170 KB of code that is not the codec's.
function loop(n: number): void {
  for (let i = 0; i < n; i++) iteration(i);
}
for (let k = 0; k < 20; k++) loop(10_000); // warm-up: let the JIT settle

let gcs = 0;
let t0 = 0;
let t1 = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.startTime >= t0 && e.startTime <= t1) gcs++;
});
obs.observe({ entryTypes: ['gc'] });

/** Heap bytes (JS heap + array buffers) that loop(n) leaves behind, measured after a full GC. */
function measure(n: number): number {
  gc();
  gc();
  const m0 = process.memoryUsage();
  t0 = performance.now();
  loop(n);
  t1 = performance.now();
  const m1 = process.memoryUsage();
  return m1.heapUsed + m1.arrayBuffers - (m0.heapUsed + m0.arrayBuffers);
}
measure(0);
const harness = measure(0); // what measuring itself costs (memoryUsage's objects, timestamps)
const total = measure(N);
setTimeout(() => {
  obs.disconnect();
  const delta = total - harness;
  console.log(JSON.stringify({ n: N, delta, harness, gcs, perIteration: delta / N, sink: sink > 0, kept: keep !== null || !control }));
}, 50);
