// PUBLISH fragments both ways through ECMA-419's MQTT client class (test/moddable-ecma419.test.ts):
// - out/a: 3000 bytes at QoS 1 in writes of 700 (byteLength on the first, no options on the rest),
//   kept by the session's outbox; out/b: 20000 bytes at QoS 0, larger than the session keeps, streamed
//   from onWritable (each write within the count onWritable gave). Byte i of a message with seed s is (i * 7 + s) & 255.
// - in/bye: DISCONNECT (then onClose; the broker discards the will, out/will).
// - with config.reconnect: the `reconnect` option; a QoS 1 message written while offline.
// - in: what the test sends, read in pieces (onReadable with `more`), half through read(count) and
//   half through read(buffer), each byte checked against seed 3. A 10-byte message is not read in
//   onReadable but 300 ms later (as ECMA-419 allows): what follows it must wait, and come intact.
import MQTTClient from "embedded:network/mqtt/client";
import config from "mc/config";
import Timer from "timer";

const id = config.clientId;
const IN = `e419/${id}/in`;
const OUT = `e419/${id}/out`;

function piece(at, n, seed) {
	const b = new Uint8Array(n);
	for (let i = 0; i < n; i++)
		b[i] = ((at + i) * 7 + seed) & 255;
	return b.buffer;
}

// Callbacks run with `this` the client: out/b's next piece, within onWritable's count.
function writeB(client, count) {
	const left = (client.bTotal ?? 0) - (client.bAt ?? 0);
	if (left <= 0)
		return;
	if (0 === client.bAt) {		// the first write names the topic and the whole length
		if (count < 200)
			return;
		client.write(piece(0, 100, 2), {topic: OUT + "/b", byteLength: client.bTotal});
		client.bAt = 100;
		return;
	}
	const n = Math.min(count, left, 1500);
	client.write(piece(client.bAt, n, 2));
	client.bAt += n;
	if (client.bAt === client.bTotal)
		trace("e419: sent b\n");
}

new MQTTClient({
	host: config.broker,
	port: config.port,
	id,
	keepAlive: 30_000,
	will: {topic: OUT + "/will", message: ArrayBuffer.fromString("gone"), QoS: 1},
	reconnect: config.reconnect || undefined,		// xs-mqtt's extension: 0 (off) by default
	onControl(msg) {
		if (MQTTClient.CONNACK === msg.operation) {
			trace("e419: connack\n");
			this.write(null, {operation: MQTTClient.SUBSCRIBE, items: [{topic: IN + "/#", QoS: 1}]});
		}
		else if (MQTTClient.SUBACK === msg.operation) {
			trace(`e419: suback ${Array.from(new Uint8Array(msg.payload)).join(",")}\n`);
			const total = 3000;
			let at = 0;
			this.write(piece(at, 700, 1), {topic: OUT + "/a", QoS: 1, byteLength: total});
			for (at = 700; at < total; at += 700)
				this.write(piece(at, Math.min(700, total - at), 1));
			trace("e419: sent a\n");
			this.bAt = 0;		// out/b starts from onWritable: out/a may have filled the socket
			this.bTotal = 20_000;
		}
		else if (MQTTClient.PUBACK === msg.operation)
			trace(`e419: puback ${msg.id}\n`);
		else if (MQTTClient.DISCONNECT === msg.operation) {		// reconnect: the connection was lost; another follows
			trace(`e419: offline ${msg.status}\n`);
			if (!this.offlineSent) {		// kept in the outbox, sent once online again
				this.offlineSent = true;
				this.write(piece(0, 50, 4), {topic: OUT + "/offline", QoS: 1});
				trace("e419: queued offline\n");
			}
		}
	},
	onWritable(count) {
		try {
			writeB(this, count);
		}
		catch (e) {
			trace(`e419: write threw ${e} (count ${count})\n`);
		}
	},
	onReadable(count, options) {
		if (options.topic === IN + "/bye") {		// a clean end: the broker discards the will
			this.write(null, {operation: MQTTClient.DISCONNECT});
			return;
		}
		if ((options.topic !== undefined) && (10 === options.byteLength)) {
			Timer.set(() => {
				const a = new Uint8Array(this.read(4));
				const b = new Uint8Array(6);
				const n = this.read(b);
				let ok = (4 === a.length) && (6 === n);
				for (let i = 0; i < 10; i++)
					ok &&= ((i < 4) ? a[i] : b[i - 4]) === ((i * 7 + 3) & 255);
				trace(`e419: late len=${a.length + n} ok=${ok} empty=${undefined === this.read(1)}\n`);
			}, 300);
			return;
		}
		if (options.topic !== undefined)
			this.rx = {topic: options.topic, QoS: options.QoS, byteLength: options.byteLength, got: 0, pieces: 0, ok: true, more: true};
		const r = this.rx;
		r.pieces++;
		const half = count >> 1;
		const a = new Uint8Array(this.read(half));
		const b = new Uint8Array(count - half);
		const n = this.read(b);
		if ((a.length !== half) || (n !== b.length))
			r.ok = false;
		for (let i = 0; i < count; i++) {
			const byte = (i < half) ? a[i] : b[i - half];
			if (byte !== (((r.got + i) * 7 + 3) & 255))
				r.ok = false;
		}
		r.got += count;
		if (this.read(1) !== undefined)		// nothing is left of this piece
			r.ok = false;
		if (options.more !== (r.got < r.byteLength))
			r.more = false;
		if (!options.more)
			trace(`e419: rx ${r.topic} QoS=${r.QoS} len=${r.got}/${r.byteLength} pieces=${r.pieces} ok=${r.ok} more=${r.more}\n`);
	},
	onError() {
		trace("e419: error\n");
	},
	onClose() {
		trace("e419: closed\n");
	}
});
