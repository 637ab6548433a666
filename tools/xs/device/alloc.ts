/// <reference path="../xs-globals.d.ts" />
// The whole device path in XS, for the heap-slot proof in test/xs.test.ts: the Client on the
// Moddable host (hosts/moddable/index.ts) over an in-memory lwIP-like socket
// (tools/xs/device/tcp-memory.ts), with the sensor app's options. One iteration publishes a QoS 0
// reading and a QoS 1 alert (topics as bytes, or as strings) and takes the broker's PUBACK, then receives a QoS 1
// and a QoS 0 command, dispatches them and acknowledges the QoS 1, and a QoS 0 message no handler
// matches, for the catch-all onMessage — the host's reads, its deferred drain, the client, the
// session and the codec, all of it.
import { Client, PUBACK, topicBytes, writeAck, writePublish } from '../../../src/index.js';
import type { Message } from '../../../src/index.js';
import { ModdableHost } from '../../../hosts/moddable/index.js';
import { runTimers } from './io.js';
import { connect, feed, wire } from './tcp-memory.js';

let dispatched = 0;
let caught = 0;
let published = 0;
const client = new Client(
  new ModdableHost(),
  { host: '192.0.2.1', port: 1883, clientId: 'alloc', keepAliveSec: 60, rxBufferSize: 512, txBufferSize: 512, outboxBytes: 2048, rxQueueBytes: 2048 },
  { onPublished: () => void published++, onMessage: (m: Message) => void (caught += m.payloadLength) },
);
client.subscribe('devices/+/cmd/#', 1, (m: Message) => void (dispatched += m.payloadLength));
client.start();
connect();
runTimers();
feed(new Uint8Array([0x20, 2, 0, 0]), 0, 4); // CONNACK
runTimers();
feed(new Uint8Array([0x90, 3, 0, 1, 1]), 0, 5); // SUBACK for the subscription (packet id 1)
runTimers();

const telemetry = topicBytes('devices/alloc/telemetry');
const alerts = topicBytes('devices/alloc/alerts');
const reading = topicBytes('{"t":21.4}'); // the payload's UTF-8 (a valid topic name too)
const ack = new Uint8Array(4);
const rx = new Uint8Array(256);
let rxEnd = writePublish(rx, 0, 'devices/alloc/cmd/interval', '5000', 1, false, false, 1);
const idAt = rxEnd - 4 - 2; // the QoS 1 packet id, before the 4-byte payload
rxEnd = writePublish(rx, rxEnd, 'devices/alloc/cmd/led', 'on', 0, false, false, 0);
rxEnd = writePublish(rx, rxEnd, 'fleet/alloc/notice', 'x', 0, false, false, 0); // no handler: onMessage

// The same topics and payload as strings, as an app written without topicBytes would give them.
const telemetryText = 'devices/alloc/telemetry';
const alertsText = 'devices/alloc/alerts';
const readingText = '{"t":21.4}';

function iteration(i: number, strings: boolean): void {
  if (strings) client.publish(telemetryText, readingText, 0);
  else client.publish(telemetry, reading, 0);
  const id = strings ? client.publish(alertsText, readingText, 1) : client.publish(alerts, reading, 1);
  writeAck(ack, 0, PUBACK, id);
  feed(ack, 0, 4);
  runTimers();
  const rid = (i % 65535) + 1;
  rx[idAt] = rid >> 8;
  rx[idAt + 1] = rid & 255;
  feed(rx, 0, rxEnd);
  runTimers();
}

(globalThis as any).xsDeviceAlloc = {
  run(n: number, strings = false): number {
    for (let i = 0; i < n; i++) iteration(i, strings);
    return dispatched;
  },
  ok: () => client.online && published > 0 && dispatched > 0 && caught > 0 && wire.sent > 0 && client.session.queued === 0,
};
