// xs-mqtt with TLS linked in (manifest_tls.json and "xs-mqtt/tls"): connects over plain TCP,
// as the RAM of a TLS session is Moddable's TLS stack's, not the client's.
import config from "mc/config";
import { Client } from "xs-mqtt";
import { ModdableHost } from "xs-mqtt/moddable";
import { TLS } from "xs-mqtt/tls";
import { before, connected } from "size/common";

before();
const client = new Client(new ModdableHost({ TLS }), {
  host: config.broker, port: Number(config.port), clientId: "size-tls", keepAliveSec: 60,
  rxBufferSize: 512, txBufferSize: 512, outboxBytes: 2048, rxQueueBytes: 2048,
}, { onConnect() { connected(); } });
client.start();
