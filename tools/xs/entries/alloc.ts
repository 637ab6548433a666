/// <reference path="../xs-globals.d.ts" />
// Workloads for the XS heap-slot proof (tools/xs/worker.mjs, test/xs.test.ts): each runs n times
// what test/alloc/codec-alloc.ts runs under Node. `control` allocates one small Uint8Array per
// iteration, so the harness must see it.
import { Decoder, EV_PACKET, PUBACK, writeAck, writePingreq, writePublish } from '../../../src/index.js';

const tx = new Uint8Array(4096);
const payload = new Uint8Array(64).fill(7);
const topicBytes = new Uint8Array([0x64, 0x65, 0x76, 0x2f, 0x74]); // "dev/t"
const dec = new Decoder(512);
dec.awaitingConnack = false;

const rx = new Uint8Array(512);
let rxEnd = writePublish(rx, 0, 'devices/d1/cmd/interval', payload, 0, false, false, 0);
rxEnd = writePublish(rx, rxEnd, 'devices/d1/cmd/interval', 'set 10', 1, false, false, 42);
rxEnd = writeAck(rx, rxEnd, PUBACK, 7);
rx[rxEnd++] = 0xd0;
rx[rxEnd++] = 0x00;

let sink = 0;
let keep: unknown = null;

const workloads: Record<string, (i: number) => void> = {
  publish(i) {
    let p = writePublish(tx, 0, 'devices/d1/telemetry', payload, 0, false, false, 0);
    p = writePublish(tx, p, 'devices/d1/alerts', '{"t":21.5}', 1, false, false, (i % 65535) + 1);
    p = writeAck(tx, p, PUBACK, (i % 65535) + 1);
    p = writePingreq(tx, p);
    sink += p;
  },
  // The same packets with the topic and payload as bytes: no string is read.
  publishBinary(i) {
    let p = writePublish(tx, 0, topicBytes, payload, 0, false, false, 0);
    p = writePublish(tx, p, topicBytes, payload, 1, false, false, (i % 65535) + 1);
    sink += p;
  },
  acks(i) {
    let p = writeAck(tx, 0, PUBACK, (i % 65535) + 1);
    p = writePingreq(tx, p);
    sink += p;
  },
  // Reads a string as the encoder does (length, charCodeAt): XS boxes a primitive string to get a
  // property of it, which takes slots.
  stringRead() {
    const s = 'devices/d1/telemetry';
    for (let k = 0; k < s.length; k++) sink += s.charCodeAt(k);
  },
  decode() {
    let off = 0;
    while (off < rxEnd) {
      if (dec.push(rx, off, rxEnd - off) === EV_PACKET) sink += dec.type + dec.payloadLength + dec.topicLength;
      off += dec.consumed;
    }
    off = 0;
    while (off < rxEnd) {
      const n = rxEnd - off < 5 ? rxEnd - off : 5;
      let o = off;
      while (o < off + n) {
        if (dec.push(rx, o, off + n - o) === EV_PACKET) sink += dec.packetId;
        o += dec.consumed;
      }
      off += n;
    }
  },
  control(i) {
    keep = new Uint8Array(1);
    sink += i;
  },
};

function run(name: string, n: number): number {
  const w = workloads[name];
  for (let i = 0; i < n; i++) w(i);
  return keep === null ? sink : sink + 1;
}

(globalThis as any).xsAlloc = { run, names: Object.keys(workloads) };
