// embedded:io/socket/udp for test/moddable/guards (its manifest maps the name here, for the DNS
// resolver's socket): every query is answered by two identical replies (127.0.0.1) in one
// onReadable(2), as lwIP delivers them when the first reply came late, with the resolver's 1 s retry's
// behind it. The resolver's onReadable reads the first, resolves, and closes the socket; read() then
// throws, as lwIP's does on a closed socket (xsmcGetHostDataValidate). The callback is called from a
// timer, unguarded, as the platform's socket calls it: a throw out of it is "XS abort".
import Timer from "timer";

export default class UDP {
	#onReadable;
	#queue = [];
	#closed = false;
	constructor(options) {
		this.target = options.target;
		this.#onReadable = options.onReadable;
	}
	write(query, address, port) {
		if (this.#closed)
			throw new Error("closed");
		const q = new Uint8Array(ArrayBuffer.isView(query) ? query.buffer.slice(query.byteOffset, query.byteOffset + query.byteLength) : query);
		let end = 12; // the question: its name's labels, a 0, then type and class
		while (q[end])
			end += q[end] + 1;
		end += 5;
		const reply = new Uint8Array(end + 16);
		reply.set(q.subarray(0, end));
		reply.set([0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0], 2); // a response, recursion available, no error; 1 question, 1 answer
		reply.set([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1], end); // the question's name: A, IN, TTL 60, 127.0.0.1
		trace(`fakeudp: query ${(q[0] << 8) | q[1]} to ${address}:${port}\n`);
		Timer.set(() => {
			if (this.#closed)
				return;
			this.#queue.push(reply.buffer, reply.slice().buffer);
			trace("fakeudp: 2 replies\n");
			this.#onReadable.call(this, 2);
		}, 20);
	}
	read() {
		if (this.#closed) {
			trace("fakeudp: read after close\n");
			throw new Error("closed");
		}
		return this.#queue.shift();
	}
	close() {
		this.#closed = true;
	}
	get format() {
		return "buffer";
	}
}
