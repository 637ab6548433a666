// Moddable's ECMA-419 MQTT client (examples/io/tcp/mqttclient), an anchor.
import config from "mc/config";
import MQTTClient from "embedded:network/mqtt/client";
import TCP from "embedded:io/socket/tcp";
import UDP from "embedded:io/socket/udp";
import Resolver from "embedded:network/dns/resolver/udp";
import { before, connected } from "size/common";

before();
new MQTTClient({
  host: config.broker, port: Number(config.port), id: "size-ecma419", keepalive: 60_000,
  dns: { io: Resolver, servers: ["1.1.1.1"], socket: { io: UDP } },
  socket: { io: TCP },
  onControl(msg) { if (MQTTClient.CONNACK === msg.operation) connected(); },
  onReadable() {},
  onError() { trace("size: error\n"); },
});
