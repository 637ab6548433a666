// ECMA-419's MQTT client class at its edges (test/moddable-ecma419.test.ts), config.part:
// - "close": a broker (the test's) sends CONNACK and a PUBLISH in one write; the app closes in
//   onControl(CONNACK): no onReadable may follow. And format "number" is a RangeError (as Moddable's).
// - "fault": a socket whose write throws once armed (options.socket.io): first the PUBACK the class
//   writes inside the socket's onReadable, then (after reconnecting) the PINGREQ it writes from its
//   timer. Uncaught, either is "XS abort"; the connection must end as lost instead (reconnect: 100).
// - "ids": packet ids. First a SUBSCRIBE with the app's id 0x4321 and a QoS 1 message that the session
//   keeps (it fits outboxBytes) with the app's id 0x1234, as Moddable's client takes options.id; the
//   same id again while that message is in flight, and ids 0, 65536 and 1.5, are each a RangeError.
//   Then config.n - 1 larger messages without ids, each sent straight to the socket: they take theirs
//   from the session's one counter, after the app's (0x1235 on), which wraps 65535 -> 1 (never 0,
//   which the broker refuses); each PUBACK comes back.
import TCP from "embedded:io/socket/tcp";
import MQTTClient from "embedded:network/mqtt/client";
import config from "mc/config";
import Timer from "timer";

const id = config.clientId;
const part = config.part;

let armed = false;
class FaultyTCP {
	#socket;
	constructor(options) {
		this.#socket = new TCP(options);
	}
	read(buffer) {
		return this.#socket.read(buffer);
	}
	write(buffer) {
		if (armed) {
			armed = false;
			trace("x: write throws\n");
			throw new Error("injected");
		}
		return this.#socket.write(buffer);
	}
	close() {
		this.#socket.close();
	}
}

if ("close" === part) {
	try {
		new MQTTClient({host: "127.0.0.1", port: 9, format: "number"});
		trace("x: format accepted\n");
	}
	catch (e) {
		trace(`x: format ${e.name}\n`);
	}
	new MQTTClient({
		host: config.broker,
		port: config.port,
		id,
		onControl(msg) {
			if (MQTTClient.CONNACK === msg.operation) {
				this.close();
				trace("x: closed\n");
				Timer.set(() => trace("x: done\n"), 500);
			}
		},
		onReadable(count, options) {
			trace(`x: onReadable after close ${options.topic}\n`);
		},
		onError() {
			trace("x: error\n");
		}
	});
}
else if ("fault" === part) {
	let connacks = 0;
	new MQTTClient({
		host: config.broker,
		port: config.port,
		id,
		keepAlive: 2000,
		reconnect: 100,
		socket: {io: FaultyTCP},
		onControl(msg) {
			if (MQTTClient.CONNACK === msg.operation) {
				trace(`x: connack ${++connacks}\n`);
				if (1 === connacks)
					this.write(null, {operation: MQTTClient.SUBSCRIBE, items: [{topic: `x/${id}/in`, QoS: 1}]});
				else if (2 === connacks)
					armed = true;		// the next write: the PINGREQ, from the class's timer
			}
			else if (MQTTClient.SUBACK === msg.operation) {
				armed = true;		// the next write: the PUBACK for the test's QoS 1 message, inside onReadable
				trace("x: ready\n");
			}
			else if (MQTTClient.DISCONNECT === msg.operation)
				trace(`x: offline ${msg.status}\n`);
		},
		onReadable(count, options) {
			trace(`x: message ${options.topic}\n`);
		},
		onError() {
			trace("x: error\n");
		}
	});
}
else if ("ids" === part) {
	const n = Number(config.n);		// (a config value given to mcconfig on its command line is a string)
	const payload = new ArrayBuffer(32);
	const options = Object.freeze({topic: `x/${id}/ids`, QoS: 1});
	let sent = 0, acked = 0, low = 0xFFFF, high = 0, last = 0, first = "";
	const send = (client, count) => {
		if (!sent) {
			client.write(null, {operation: MQTTClient.SUBSCRIBE, items: [{topic: `x/${id}/none`}], id: 0x4321});
			// No payload: it fits outboxBytes, and the session keeps it.
			count = client.write(null, {topic: options.topic, QoS: 1, id: 0x1234});
			sent = 1;
			const refused = [];
			for (const bad of [0x1234, 0, 65536, 1.5]) {
				try {
					client.write(null, {topic: options.topic, QoS: 1, id: bad});
					refused.push(`${bad}:taken`);
				}
				catch (e) {
					refused.push(`${bad}:${e.name}`);
				}
			}
			trace(`x: ids refused ${refused.join(" ")}\n`);
		}
		// Each message: 2 + 1 + 2 + topic + 2 + 32 bytes; within onWritable's count.
		const size = 39 + options.topic.length;
		for (; (sent < n) && (count >= size); sent++)
			count = client.write(payload, options);
	};
	new MQTTClient({
		host: config.broker,
		port: config.port,
		id,
		outboxBytes: 32,		// every message is larger: straight to the socket, with the class's own id
		onControl(msg) {
			if (MQTTClient.CONNACK === msg.operation)
				trace("x: connack\n");
			else if (MQTTClient.SUBACK === msg.operation)
				trace(`x: suback ${msg.id}\n`);
			else if (MQTTClient.PUBACK === msg.operation) {
				if (++acked <= 2)
					first += (acked > 1 ? "," : "") + msg.id;
				last = msg.id;
				if (msg.id < low) low = msg.id;
				if (msg.id > high) high = msg.id;
				if (acked === n)
					trace(`x: pubacks ${acked} low=${low} high=${high} last=${last} first=${first}\n`);
			}
		},
		onWritable(count) {
			try {
				send(this, count);
			}
			catch (e) {
				trace(`x: write threw ${e}\n`);
			}
		},
		onError() {
			trace(`x: error after ${sent} sent, ${acked} acknowledged (last id ${last})\n`);
		}
	});
}
