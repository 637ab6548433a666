// Run by test/alloc.test.ts in its own `node --expose-gc` process (bundled from src/).
// Steady state of a connected session: publishing QoS 0 and QoS 1 (with the broker's PUBACKs), and
// receiving QoS 0 and QoS 1 messages and dispatching them by wildcard match (with our PUBACKs).
// argv[2] = 'control' adds one small allocation per iteration: the harness must then report it.
import { PUBACK, matchTopic, writeAck, writePublish } from '../../src/index.js';
import { measureAllocation } from './measure.js';
import { Session } from '../../src/session/session.js';

const N = 100_000;
const control = process.argv[2] === 'control';

let sentBytes = 0;
let dispatched = 0;
let keep: unknown = null;
const filter = new TextEncoder().encode('devices/+/cmd/#');
const session: Session = new Session(
  { clientId: 'alloc', keepAliveSec: 60, inflightWindow: 8, outboxMessages: 32 },
  {
    send: (_b, _o, l) => ((sentBytes += l), true),
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

const payload = new Uint8Array(32).fill(1);
const rx = new Uint8Array(256);
let rxEnd = writePublish(rx, 0, 'devices/d1/cmd/interval', 'set 10', 0, false, false, 0);
const q1At = rxEnd;
rxEnd = writePublish(rx, rxEnd, 'devices/d1/cmd/reboot', payload, 1, false, false, 1);
const ack = new Uint8Array(4);

function iteration(i: number): void {
  now = (now + 1) >>> 0;
  session.publish('devices/d1/telemetry', payload, 0, false, now);
  const id = session.publish('devices/d1/alerts', '{"t":41.2}', 1, false, now);
  writeAck(ack, 0, PUBACK, id);
  session.receive(ack, 0, 4, now); // the broker acknowledges it
  // Incoming: a QoS 0 and a QoS 1 message (its id varies), dispatched, the QoS 1 acknowledged.
  const rid = (i % 65535) + 1;
  rx[q1At + 2 + 2 + 21] = rid >> 8;
  rx[q1At + 2 + 2 + 21 + 1] = rid & 255;
  session.receive(rx, 0, rxEnd, now);
  session.tick(now);
  if (control) keep = new Uint8Array(1);
}

measureAllocation(iteration, N, () => ({ ok: session.queued === 0 && dispatched > 0 && sentBytes > 0, kept: keep !== null || !control }));
