// xs-mqtt over plain TCP, with the sensor app's buffer settings (examples/sensor/main.ts).
import config from "mc/config";
import { Client } from "xs-mqtt";
import { ModdableHost } from "xs-mqtt/moddable";
import { before, connected, step } from "size/common";

before();
const host = new ModdableHost();
step("new ModdableHost()");
const client = new Client(host, {
  host: config.broker, port: Number(config.port), clientId: "size-plain", keepAliveSec: 60,
  rxBufferSize: 512, txBufferSize: 512, outboxBytes: 2048, rxQueueBytes: 2048,
}, { onConnect() { step("connected (the session online; less what opening held)"); connected(); } });
step("new Client(): Client, Session, Decoder, Outbox, their buffers and callbacks");
client.start();
step("start(): the link, its buffers, DNS or socket, timers");
