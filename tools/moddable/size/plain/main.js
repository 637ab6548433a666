// xs-mqtt over plain TCP, with the sensor app's buffer settings (examples/sensor/main.ts).
import config from "mc/config";
import { Client } from "xs-mqtt";
import { ModdableHost } from "xs-mqtt/moddable";
import { before, connected } from "size/common";

before();
const client = new Client(new ModdableHost(), {
  host: config.broker, port: Number(config.port), clientId: "size-plain", keepAliveSec: 60,
  rxBufferSize: 512, txBufferSize: 512, outboxBytes: 2048, rxQueueBytes: 2048,
}, { onConnect() { connected(); } });
client.start();
