// The plain app's client (size/plain: the same options), connected; then every object it holds is
// listed with what it costs (size/list). An app of its own: the listing's code in the plain app would
// move the plain app's own figures (this one measures a little more: its callback reaches what it lists).
import config from "mc/config";
import { Client } from "xs-mqtt";
import { ModdableHost } from "xs-mqtt/moddable";
import { before, connected } from "size/common";
import { inventory } from "size/list";

before();
const host = new ModdableHost();
const options = {
  host: config.broker, port: Number(config.port), clientId: "size-plain", keepAliveSec: 60,
  rxBufferSize: 512, txBufferSize: 512, outboxBytes: 2048, rxQueueBytes: 2048,
};
const client = new Client(host, options, { onConnect() { connected(); inventory(host, client); } });
client.start();
