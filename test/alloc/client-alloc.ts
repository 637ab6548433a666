// Run by test/alloc.test.ts in its own `node --expose-gc` process (bundled from src/).
// The Client's steady state on a host that does no I/O: its link counts the bytes written, its
// deferred tasks run from a fixed ring, and the broker's bytes are handed to the link's onData as a
// socket would. Each iteration publishes QoS 0, 1 and 2 with string topics (as a Node app writes
// them; the client keeps their bytes) and takes the broker's PUBACK, PUBREC and PUBCOMP, then
// receives a QoS 0, a QoS 1 and a QoS 2 message (ids varying) with the PUBREL, dispatches them to a
// wildcard handler that reads Message's fields (not .topic/.text/.payload, which make strings and
// views by design), and fires the session's timer. argv[2] = 'control:K' seeds an allocation.
import { Client, PUBACK, PUBCOMP, PUBREC, PUBREL, writeAck, writePublish } from '../../src/index.js';
import type { Host, Link, LinkEvents, Message } from '../../src/index.js';
import { measureAllocation, seed } from './measure.js';

let now = 1000;
let sent = 0;
const lastOut = new Uint8Array(8); // the head of the last packet written: the SUBSCRIBE's id
const RING = 16;
const tasks: Array<(() => void) | null> = new Array<(() => void) | null>(RING).fill(null);
let head = 0;
let tail = 0;
let timerFn: (() => void) | null = null;
let events: LinkEvents | null = null;

const link: Link = {
  write(bytes, offset, length) {
    sent = (sent + length) & 0xfffffff;
    for (let i = 0; i < lastOut.length && i < length; i++) lastOut[i] = bytes[offset + i];
    return true;
  },
  resume() {},
  close() {},
};
const host: Host = {
  nowMs: () => now,
  setTimer(fn) {
    timerFn = fn;
    return 1;
  },
  clearTimer() {},
  defer(fn) {
    if (tail - head === RING) throw new Error('deferred ring full');
    tasks[tail++ % RING] = fn;
  },
  random: () => 0.5,
  open(_target, e) {
    events = e;
    return link;
  },
};
function runDeferred(): void {
  while (head !== tail) {
    const fn = tasks[head % RING]!;
    tasks[head++ % RING] = null;
    fn();
  }
}
function fromBroker(bytes: Uint8Array, length: number): void {
  events!.onData(bytes, 0, length);
  runDeferred();
}

let published = 0;
let dispatched = 0;
const client = new Client(host, { host: 'sim', port: 1883, clientId: 'alloc', keepAliveSec: 60, inflightWindow: 8, outboxMessages: 32 }, {
  onPublished: () => {
    published = (published + 1) & 0xfffffff;
  },
});
function handler(m: Message): void {
  const t = m.topicData;
  let s = t[m.topicOffset] + t[m.topicOffset + m.topicLength - 1] + m.data[m.payloadOffset] + m.payloadLength + m.qos + m.fragmentOffset + m.messageLength;
  if (m.retain) s++;
  if (m.dup) s++;
  dispatched = (dispatched + s) & 0xfffffff;
}
client.subscribe('devices/+/cmd/#', 2, handler);
client.start();
events!.onOpen();
runDeferred();
const ack = new Uint8Array(8);
ack.set([0x20, 2, 0, 0]);
fromBroker(ack, 4); // CONNACK
if (lastOut[0] !== 0x82) throw new Error('no SUBSCRIBE after CONNACK');
ack.set([0x90, 3, lastOut[2], lastOut[3], 2]);
fromBroker(ack, 5); // SUBACK, QoS 2 granted

const payload = new Uint8Array(32).fill(1);
const rx = new Uint8Array(256);
let rxEnd = writePublish(rx, 0, 'devices/d1/cmd/interval', 'set 10', 0, false, false, 0);
const q1At = rxEnd;
rxEnd = writePublish(rx, rxEnd, 'devices/d1/cmd/reboot', payload, 1, false, false, 1);
const q2At = rxEnd;
rxEnd = writePublish(rx, rxEnd, 'devices/d1/cmd/config', payload, 2, false, false, 1);
const idAt = (at: number, topicLength: number): number => at + 2 + 2 + topicLength; // header, length, topic

function brokerAck(type: number, id: number): void {
  writeAck(ack, 0, type, id);
  fromBroker(ack, 4);
}

function iteration(i: number): void {
  now = (now + 1) & 0x3fffffff;
  client.publish('devices/d1/telemetry', payload, 0);
  brokerAck(PUBACK, client.publish('devices/d1/alerts', payload, 1));
  const id2 = client.publish('devices/d1/alerts', payload, 2);
  brokerAck(PUBREC, id2);
  brokerAck(PUBCOMP, id2);
  const rid = (i % 65535) + 1;
  rx[idAt(q1At, 21)] = rid >> 8;
  rx[idAt(q1At, 21) + 1] = rid & 255;
  rx[idAt(q2At, 21)] = rid >> 8;
  rx[idAt(q2At, 21) + 1] = rid & 255;
  fromBroker(rx, rxEnd); // QoS 0, 1, 2: dispatched; PUBACK and PUBREC go out
  brokerAck(PUBREL, rid); // PUBCOMP goes out
  timerFn?.();
  seed(i);
}

measureAllocation(iteration, 100_000, () => ({
  ok: client.online && client.session.queued === 0 && published > 0 && dispatched > 0 && sent > 0 && lastOut[0] === 0x70,
}));
