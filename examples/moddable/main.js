// The smallest Moddable app with xs-mqtt: connect, subscribe, publish at QoS 1, print what comes
// back. Its manifest includes the library's (../../manifest_mqtt.json: plain TCP, DNS, preloaded).
//   npm run build                      # in the repository: dist/xs/, which the manifest maps
//   cd examples/moddable && mcconfig -d -m -p esp32 ssid=… password=… broker=192.168.1.10
import config from "mc/config";
import { Client } from "xs-mqtt";
import { ModdableHost } from "xs-mqtt/moddable";

const id = String(config.clientId);
const client = new Client(new ModdableHost(), { host: String(config.broker), port: Number(config.port), clientId: id }, {
  onConnect() {
    trace("hello: online\n");
    client.publish(`hello/${id}`, "hello from xs-mqtt", 1);
  },
  onPublished(packetId) {
    trace(`hello: acknowledged ${packetId}\n`);
  },
  onDisconnect(status, retryMs, reason) {
    trace(`hello: offline ${status} ${reason}\n`);
  },
});
client.subscribe(`hello/${id}`, 1, (m) => trace(`hello: received ${m.topic} ${m.text}\n`));
client.start();
