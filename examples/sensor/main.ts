// A sensor-telemetry device app: xs-mqtt's Client on the Moddable host. Settings come from the
// manifest's "config" (module mc/config), each overridable on the mcconfig command line. `npm run
// build` bundles this file into dist/xs/sensor.js, which examples/sensor/manifest.json names; then
//   cd examples/sensor && mcconfig -d -m -p esp32 ssid=<wifi> password=<wifi password> broker=<host> port=1883 clientId=<id>
// ("password" is Wi-Fi's; the broker's credentials are mqttUser / mqttPassword.)
// TLS (mqttTls=true): the broker's certificate is verified against the device's certificate store,
// or against mqttCa=<resource>, a DER certificate among the app's resources; mqttCert=<resource> and
// mqttKey=<resource> (DER, PKCS#8) for a broker that asks for a client certificate; mqttServername
// when the certificate's name is not the broker's. (Not `tls`: Moddable's TLS library has a `tls`
// object in the config of its own manifest, which a value of that name would replace.)
// Wi-Fi is up before this module runs: manifest_net.json's setup/network connects with ssid/password
// first on a device; the simulator uses the computer's network.
//
// Topics (<id> is clientId):
//   devices/<id>/status       "online" on connect, "offline" as the will; both retained, QoS 1
//   devices/<id>/telemetry    a reading every `interval` ms, QoS 0 (dropped while offline: the next one follows)
//   devices/<id>/alerts       on crossing `threshold` upwards, QoS 1 (kept across reconnects until PUBACK)
//   devices/<id>/cmd/#        subscribed; cmd/interval (a number of ms, 1000..3600000) changes the interval
import config from 'mc/config';
import Resource from 'Resource';
import Timer from 'timer';
import { Client, SUBACK_FAILURE, statusName, topicBytes } from '../../src/index.js';
import type { Message } from '../../src/index.js';
import { ModdableHost } from '../../hosts/moddable/index.js';
import { TLS } from '../../hosts/moddable/tls.js';

const id: string = String(config.clientId ?? 'xs-mqtt-sensor');
const base = 'devices/' + id;
// Topics as bytes, made once: a publish given bytes reads no string, so it allocates nothing in XS.
const statusTopic = topicBytes(base + '/status');
const telemetryTopic = topicBytes(base + '/telemetry');
const alertsTopic = topicBytes(base + '/alerts');
const intervalTopic = base + '/cmd/interval';
const threshold = Number(config.threshold ?? 30);
let interval = Number(config.interval ?? 5000);

/** The bytes of the resource named by a config value (a DER certificate or key), or undefined. */
function resource(name: unknown): Uint8Array | undefined {
  return name ? new Uint8Array(new Resource(String(name)).slice(0)) : undefined;
}

const t = config.mqttTls;
const tls = t === true || t === 'true' || t === '1' || t === 1;
// TLS: manifest_tls.json, which this app's manifest includes. Its random() seeds differ per boot.
const host = new ModdableHost({ TLS });
const client = new Client(
  host,
  {
    host: String(config.broker ?? 'test.mosquitto.org'),
    port: Number(config.port ?? (tls ? 8883 : 1883)),
    tls: tls
      ? {
          servername: config.mqttServername ? String(config.mqttServername) : undefined,
          ca: resource(config.mqttCa),
          cert: resource(config.mqttCert),
          key: resource(config.mqttKey),
        }
      : undefined,
    clientId: id,
    clean: true,
    keepAliveSec: 30,
    username: config.mqttUser ? String(config.mqttUser) : undefined,
    password: config.mqttPassword ? String(config.mqttPassword) : undefined,
    will: { topic: base + '/status', payload: 'offline', qos: 1, retain: true },
    offlineQos0: 'drop',
    // Small buffers: an ESP8266 has about 40 KB for the whole app.
    rxBufferSize: 512,
    txBufferSize: 512,
    outboxBytes: 2048,
    rxQueueBytes: 2048,
  },
  {
    onConnect(sessionPresent) {
      trace(`mqtt: online (session present: ${sessionPresent})\n`);
      client.publish(statusTopic, 'online', 1, true);
    },
    onDisconnect(status, retryMs, reason) {
      trace(`mqtt: offline, ${statusName(status)}${reason ? ` (${reason})` : ''}${retryMs < 0 ? ', stopped' : `, retry in ${retryMs} ms`}\n`);
    },
    onSubscribed(filter, granted) {
      if (granted === SUBACK_FAILURE) trace(`mqtt: subscription refused: ${filter}\n`);
    },
  },
);

client.subscribe(base + '/cmd/#', 1, (m: Message) => {
  // A command larger than the receive buffer (512 B) arrives in pieces: only its size is noted.
  if (m.payloadLength !== m.messageLength) {
    if (m.fragmentOffset + m.payloadLength === m.messageLength) trace(`mqtt: ${m.topic}: ${m.messageLength} bytes, in pieces\n`);
    return;
  }
  const topic = m.topic;
  trace(`mqtt: ${topic} ${m.text}\n`);
  if (topic === intervalTopic) {
    const ms = Number(m.text);
    if (ms >= 1000 && ms <= 3600000) {
      interval = ms;
      Timer.schedule(timer, interval, interval);
    }
  }
});

// The simulated sensor: a temperature wandering around 22 °C (pulled back towards it), bounded to [10, 40].
let value = 22;
let above = false;
let alerts = 0;
function read(): number {
  value += (22 - value) * 0.2 + (host.random() - 0.5) * 1.5; // not Math.random: XS's repeats from boot to boot
  if (value < 10) value = 10;
  if (value > 40) value = 40;
  return Math.round(value * 10) / 10;
}

// The telemetry payload {"t":dd.d}, written into one buffer: t is in [10.0, 40.0], so its length
// never changes, and a reading costs no string.
const reading = new Uint8Array(10);
reading.set([0x7b, 0x22, 0x74, 0x22, 0x3a, 0, 0, 0x2e, 0, 0x7d]); // {"t":__.__}
function writeReading(t: number): Uint8Array {
  const tenths = Math.round(t * 10);
  reading[5] = 0x30 + ((tenths / 100) | 0);
  reading[6] = 0x30 + (((tenths / 10) | 0) % 10);
  reading[8] = 0x30 + (tenths % 10);
  return reading;
}

const timer = Timer.repeat(() => {
  const t = read();
  if (client.online) client.publish(telemetryTopic, writeReading(t), 0);
  // Alerts go even while offline: QoS 1 waits in the outbox for the next connection.
  if (t >= threshold && !above) {
    // Numbered, so a receiver can tell that none was lost (an alert is rare: its string may allocate).
    alerts++;
    client.publish(alertsTopic, `{"t":${t},"threshold":${threshold},"n":${alerts}}`, 1);
    trace(`mqtt: alert ${alerts}${client.online ? '' : ' queued'}\n`);
  }
  above = t >= threshold;
}, interval);

client.start();
