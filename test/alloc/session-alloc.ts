// Run by test/alloc.test.ts in its own `node --expose-gc` process (bundled from src/).
// Steady state of a connected session (test/alloc/workloads.ts, the same code the XS proof runs):
// publishing QoS 0, 1 and 2 (with the broker's PUBACK, PUBREC, PUBCOMP), and receiving QoS 0 and
// QoS 1 messages and dispatching them by wildcard match (with our PUBACKs). Topics as strings: V8
// reads them freely. argv[2] = 'control:K' seeds one allocation every K iterations.
import { measureAllocation, seed } from './measure.js';
import { sessionDispatched, sessionOk, sessionPublish, sessionReceive } from './workloads.js';

function iteration(i: number): void {
  sessionPublish(true);
  sessionReceive(i);
  seed(i);
}

measureAllocation(iteration, 100_000, () => ({ ok: sessionOk() && sessionDispatched() > 0 }));
