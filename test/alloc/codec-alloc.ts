// Run by test/alloc.test.ts in its own `node --expose-gc` process (bundled by esbuild from src/).
// After warm-up, N encodes and decodes of PUBLISH QoS 0/1, PUBACK and PINGREQ/PINGRESP must leave
// the heap where it was, with a GC observer proving no collection hid an allocation in between.
// argv[2] = 'control' adds one small allocation per iteration: the harness must then report it.
import { decodeSteady, encodeSteady } from './workloads.js';
import { measureAllocation } from './measure.js';

const N = 100_000;
const control = process.argv[2] === 'control';

let sink = 0;
let keep: unknown = null;
function iteration(i: number): void {
  sink += encodeSteady(i) + decodeSteady();
  if (control) keep = new Uint8Array(1); // 1 byte: small, as a careless view or object would be
}

measureAllocation(iteration, N, () => ({ sink: sink > 0, kept: keep !== null || !control }));
