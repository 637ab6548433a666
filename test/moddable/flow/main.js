// Flow control on the device (test/moddable.test.ts): the client's receive queue (64 B) is smaller
// than what the link reads at a time (256 B) and than each message (about 110 B), so the client
// takes part of each read, the link keeps the rest (ModdableLink's kept bytes), and resume() gives it
// again once the queue drained, over and over. Every message must arrive, once, in order.
import config from "mc/config";
import { Client } from "xs-mqtt";
import { ModdableHost } from "xs-mqtt/moddable";

const id = String(config.clientId);
const n = Number(config.n);
let next = 0;
const client = new Client(new ModdableHost(), {
  host: String(config.broker), port: Number(config.port), clientId: id, rxQueueBytes: 64, rxBufferSize: 256,
}, {
  onSubscribed() { trace("flow: ready\n"); },
  onDisconnect(status, retryMs, reason) { trace(`flow: offline ${status} ${reason}\n`); },
});
client.subscribe(`flow/${id}`, 1, (m) => {
  const k = parseInt(m.text, 10);
  if (k !== next) trace(`flow: out of order ${k}, expected ${next}\n`);
  next = k + 1;
  if (next === n) trace(`flow: received ${n}\n`);
});
client.start();
