// Moddable's mqtt module (modules/network/mqtt), an anchor.
import config from "mc/config";
import Client from "mqtt";
import { before, connected } from "size/common";

before();
const client = new Client({ host: config.broker, port: Number(config.port), id: "size-mqtt", timeout: 60_000 });
client.onReady = function () { connected(); };
client.onMessage = function () {};
client.onClose = function () { trace("size: error\n"); };
