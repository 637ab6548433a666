// The plain app's client (size/plain: the same options), connected; then every object it holds is
// listed with what it costs (size/list). An app of its own: the listing's code in the plain app would
// move the plain app's own figures (this one measures a little more: its callback reaches what it lists).
// Then what use adds, step by step (size/common's step; not in the plain app, for the same reason):
// a string topic published (the client caches its bytes), and a subscription with its handler
// (measured in that handler, so its SUBACK has come: a message to it follows the SUBACK in order).
import config from "mc/config";
import { Client } from "xs-mqtt";
import { ModdableHost } from "xs-mqtt/moddable";
import { before, connected, step } from "size/common";
import { inventory } from "size/list";

before();
const host = new ModdableHost();
const options = {
  host: config.broker, port: Number(config.port), clientId: "size-plain", keepAliveSec: 60,
  rxBufferSize: 512, txBufferSize: 512, outboxBytes: 2048, rxQueueBytes: 2048,
};
const client = new Client(host, options, { onConnect() {
  connected();
  inventory(host, client);
  step("listed");
  client.publish("size/a/cmd", "1");
  step("use: a string topic published, its bytes cached");
  client.subscribe("size/+/cmd", 0, () => {
    step("use: a subscription with its handler, and a second string topic published");
    trace("size: use end\n");
  });
  client.publish("size/b/cmd", "1");
} });
client.start();
