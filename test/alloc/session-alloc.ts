// Run by test/alloc.test.ts in its own `node --expose-gc` process (bundled from src/).
// Steady state of a connected session (test/alloc/workloads.ts, the same code the XS proof runs):
// publishing QoS 0 and QoS 1 (with the broker's PUBACKs), and receiving QoS 0 and QoS 1 messages and
// dispatching them by wildcard match (with our PUBACKs). Topics as strings: V8 reads them freely.
// argv[2] = 'control' adds one small allocation per iteration: the harness must then report it.
import { measureAllocation } from './measure.js';
import { sessionDispatched, sessionOk, sessionPublish, sessionReceive } from './workloads.js';

const N = 100_000;
const control = process.argv[2] === 'control';
let keep: unknown = null;

function iteration(i: number): void {
  sessionPublish(true);
  sessionReceive(i);
  if (control) keep = new Uint8Array(1);
}

measureAllocation(iteration, N, () => ({ ok: sessionOk() && sessionDispatched() > 0, kept: keep !== null || !control }));
