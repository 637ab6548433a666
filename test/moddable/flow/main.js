// Flow control on the device (test/moddable.test.ts): the client's receive queue (64 B) is smaller
// than what the link reads at a time (256 B) and than each message (about 110 B), so the client
// takes part of each read, the link keeps the rest (ModdableLink's kept bytes), and resume() gives it
// again once the queue drained, over and over. Every message must arrive, once, in order.
// Then the other way: one QoS 1 message of 6,000 B, more than the simulator's socket takes at once
// (its send buffer is 1,536 B), goes out through the link's write stage, the socket's room and the
// tail the link holds back until onWritable; the test checks every byte arrived.
import config from "mc/config";
import { Client } from "xs-mqtt";
import { ModdableHost } from "xs-mqtt/moddable";

const id = String(config.clientId);
const n = Number(config.n);
let next = 0;
const client = new Client(new ModdableHost(), {
  host: String(config.broker), port: Number(config.port), clientId: id, rxQueueBytes: 64, rxBufferSize: 256,
  outboxBytes: 8192,
}, {
  onPublished() { trace("flow: big acknowledged\n"); },
  onSubscribed() { trace("flow: ready\n"); },
  onDisconnect(status, retryMs, reason) { trace(`flow: offline ${status} ${reason}\n`); },
});
client.subscribe(`flow/${id}`, 1, (m) => {
  const k = parseInt(m.text, 10);
  if (k !== next) trace(`flow: out of order ${k}, expected ${next}\n`);
  next = k + 1;
  if (next === n) {
    trace(`flow: received ${n}\n`);
    const big = new Uint8Array(6000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    trace(`flow: big ${client.publish(`flow/${id}/big`, big, 1)}\n`);
  }
});
client.start();
