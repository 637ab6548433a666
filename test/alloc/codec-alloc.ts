// Run by test/alloc.test.ts in its own `node --expose-gc` process (bundled by esbuild from src/).
// After warm-up, encodes and decodes of PUBLISH QoS 0/1, PUBACK and PINGREQ/PINGRESP must allocate
// nothing (alloc/measure.ts). argv[2] = 'control:K' seeds one allocation every K iterations.
import { decodeSteady, encodeSteady } from './workloads.js';
import { measureAllocation, seed } from './measure.js';

let sink = 0;
function iteration(i: number): void {
  sink = (sink + encodeSteady(i) + decodeSteady()) & 0xffff; // a small integer: no heap number
  seed(i);
}

measureAllocation(iteration, 100_000, () => ({ ok: sink >= 0 }));
