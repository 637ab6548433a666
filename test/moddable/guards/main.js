// The host's guards against throws out of the platform's callbacks (test/moddable.test.ts), one after
// the other:
// 1. "host": ModdableHost resolving "broker.test" through Moddable's DNS resolver over ./fakeudp (two
//    replies in one onReadable, the second read after the resolver closed its socket): online.
// 2. "class": ECMA-419's MQTT client class, its default dns, the same: CONNACK.
// 3. "tls": ModdableHost with a TLS opener of this app's: Moddable's TLS socket's contract over plain
//    TCP (no encryption: the test's broker listens in plain), whose write returns what tlssocket.js's
//    does when its TCP socket's write returned undefined (lwIP: a reset not yet delivered; lin: write()
//    < 0): Math.max(0, undefined - 32), NaN. Two QoS 1 publishes in one turn from a timer, the first
//    through that write: both acknowledged (the second waits for onWritable). Then a write that throws:
//    the QoS 0 publish through it is not reported sent.
// 4. "peer": a broker of the test's (config.peerPort) that answers CONNACK, then writes 6 QoS 0
//    PUBLISHes (38 B each) and its FIN at once. The link reads them all at once; the client's receive
//    queue (64 B) takes a message or so at a time, and each handler takes 30 ms, so the link still
//    holds some in rx when the socket (polled every 20 ms on lin) reports the close: all 6 must arrive
//    first. Then the same with QoS 1 messages (keepalive 0): their PUBACKs, written after the close,
//    must not stop the client reading what is held (it would wait for ever): all 6, then offline.
import TCP from "embedded:io/socket/tcp";
import MQTTClient from "embedded:network/mqtt/client";
import config from "mc/config";
import Timer from "timer";
import { Client } from "xs-mqtt";
import { ModdableHost } from "xs-mqtt/moddable";

const id = String(config.clientId);
const port = Number(config.port);

function host() {
	const client = new Client(new ModdableHost(), { host: "broker.test", port, clientId: id + "h" }, {
		onConnect() {
			trace("guards: host online\n");
			client.stop();
			Timer.set(ecma419, 0);
		},
		onDisconnect(status, retryMs, reason) {
			trace(`guards: host offline ${status} ${reason}\n`);
		},
	});
	client.start();
}

function ecma419() {
	new MQTTClient({
		host: "broker.test",
		port,
		id: id + "c",
		onControl(msg) {
			if (MQTTClient.CONNACK === msg.operation) {
				trace("guards: class online\n");
				this.close();
				Timer.set(tls, 0);
			}
		},
		onError() {
			trace("guards: class error\n");
		},
	});
}

let undefinedOnce = false;
let throwOnce = false;
/** "xs-mqtt/tls"'s TLSOpener in shape: (options, target, fail) => a socket as Moddable's TLS socket. */
function PlainTLS(options) {
	const on = { target: options.target }; // the host's callbacks find their link as this.target
	const tcp = new TCP({
		address: options.address,
		port: options.port,
		nodelay: true,
		onReadable(count) {
			options.onReadable.call(on, count);
		},
		onWritable(count) {
			if (count > 96)
				options.onWritable.call(on, count - 96);
		},
		onError() {
			options.onError.call(on);
		},
	});
	return {
		read(n) {
			const b = new Uint8Array(n);
			tcp.read(b);
			return b.buffer;
		},
		write(buffer) {
			if (throwOnce) {
				throwOnce = false;
				throw new Error("injected");
			}
			let writable = tcp.write(buffer);
			if (undefinedOnce) {
				undefinedOnce = false;
				trace("guards: write returns NaN\n");
				writable = undefined; // the bytes went out here; the TCP socket's result did not come back
			}
			return Math.max(0, writable - 32); // session_419.js's write
		},
		close() {
			tcp.close();
		},
	};
}

function tls() {
	let acks = 0;
	const client = new Client(new ModdableHost({ TLS: PlainTLS }), { host: "127.0.0.1", port, clientId: id + "t", tls: {} }, {
		onConnect() {
			trace("guards: tls online\n");
			Timer.set(() => {
				undefinedOnce = true;
				client.publish(`guards/${id}/a`, "a", 1);
				client.publish(`guards/${id}/b`, "b", 1);
				trace("guards: tls published 2\n");
			}, 0);
		},
		onPublished() {
			if (2 === ++acks) {
				trace("guards: tls acknowledged 2\n");
				// A socket that throws: the link ends, and the QoS 0 publish was not sent (WOULD_BLOCK, -1; not 0).
				throwOnce = true;
				trace(`guards: qos0 through a throw ${client.publish(`guards/${id}/c`, "c", 0)}\n`);
			}
		},
		onDisconnect(status, retryMs, reason) {
			trace(`guards: tls offline ${status} ${reason}\n`);
			client.stop(); // no reconnect
			Timer.set(() => peer(0), 0);
		},
	});
	client.start();
}

function peer(qos) {
	let received = 0;
	const client = new Client(new ModdableHost(), {
		host: "127.0.0.1", port: Number(config.peerPort), clientId: id + "p", rxQueueBytes: 64, rxBufferSize: 256, keepAliveSec: 0,
	}, {
		onMessage(m) {
			const k = parseInt(m.text, 10);
			if (k !== received) trace(`guards: peer out of order ${k}, expected ${received}\n`);
			received++;
			for (const t = Date.now(); Date.now() - t < 30; );
		},
		onDisconnect(status, retryMs, reason) {
			trace(`guards: peer qos${qos} offline ${reason}, received ${received}\n`);
			client.stop();
			if (!qos) Timer.set(() => peer(1), 0);
		},
	});
	client.start();
}

host();
