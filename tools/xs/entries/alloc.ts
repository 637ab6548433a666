/// <reference path="../xs-globals.d.ts" />
// Workloads for the XS heap-slot proof (tools/xs/worker.mjs, test/xs.test.ts): each runs n times
// what test/alloc/codec-alloc.ts and session-alloc.ts run under Node (test/alloc/workloads.ts).
// `control` allocates one small Uint8Array per iteration, so the harness must see it.
import { PUBACK, writeAck, writePingreq, writePublish } from '../../../src/index.js';
import { decodeSteady, encodeSteady, payload, sessionDispatched, sessionOk, sessionPublish, sessionReceive } from '../../../test/alloc/workloads.js';

const tx = new Uint8Array(4096);
const topicBytes = new Uint8Array([0x64, 0x65, 0x76, 0x2f, 0x74]); // "dev/t"

let sink = 0;
let keep: unknown = null;

const workloads: Record<string, (i: number) => void> = {
  publish(i) {
    sink += encodeSteady(i);
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
  // Reads a string by its properties (length, charCodeAt): XS boxes a primitive string to get a
  // property of it, which takes 2 slots per read.
  stringRead() {
    const s = 'devices/d1/telemetry';
    for (let k = 0; k < s.length; k++) sink += s.charCodeAt(k);
  },
  // The same reads as the encoder makes them in XS (src/codec/utf8.ts): through a String object made
  // once, whose own reads XS does not box: 2 slots a string, whatever its length.
  stringReadBox() {
    const o = Object('devices/d1/telemetry') as string;
    for (let k = 0; k < o.length; k++) sink += o.charCodeAt(k);
  },
  decode() {
    sink += decodeSteady();
  },
  // The connected session: publish QoS 0 + QoS 1 with its PUBACK (topics as bytes, as the README
  // advises on XS), and receive + dispatch QoS 0 + QoS 1 with our PUBACK.
  sessionPublish() {
    sink += sessionPublish(false);
  },
  sessionPublishStrings() {
    sink += sessionPublish(true);
  },
  sessionReceive(i) {
    sink += sessionReceive(i);
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

(globalThis as any).xsAlloc = { run, names: Object.keys(workloads), sessionOk, sessionDispatched };
