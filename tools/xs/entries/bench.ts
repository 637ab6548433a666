/// <reference path="../xs-globals.d.ts" />
// The codec and session loops of tools/bench-xs.mjs: the same bundle runs under xsnap (XS) and
// under Node (V8), so the two engines time identical code. `xsBench.run(name, n)` returns the
// milliseconds n iterations took, timed with performance.now() (both engines have it).
import { PUBACK, writeAck, writePublish } from '../../../src/index.js';
import { decodeSteady, encodeSteady, payload, sessionPublish, sessionReceive } from '../../../test/alloc/workloads.js';

const tx = new Uint8Array(4096);
const topicBytes = new Uint8Array([0x64, 0x65, 0x76, 0x69, 0x63, 0x65, 0x73, 0x2f, 0x64, 0x31, 0x2f, 0x74]); // "devices/d1/t"
let sink = 0;

/** Each workload, and how many MQTT packets one iteration handles (to report packets/s). */
export const workloads: Record<string, { packets: number; fn: (i: number) => void }> = {
  'encode PUBLISH QoS 0, 64 B, topic as bytes': { packets: 1, fn: () => void (sink += writePublish(tx, 0, topicBytes, payload, 0, false, false, 0)) },
  'encode PUBLISH QoS 1, 64 B, topic as bytes': { packets: 1, fn: (i) => void (sink += writePublish(tx, 0, topicBytes, payload, 1, false, false, (i % 65535) + 1)) },
  'encode PUBACK': { packets: 1, fn: (i) => void (sink += writeAck(tx, 0, PUBACK, (i % 65535) + 1)) },
  'encode PUBLISH ×2, PUBACK, PINGREQ, string topics': { packets: 4, fn: (i) => void (sink += encodeSteady(i)) },
  'decode PUBLISH ×2, PUBACK, PINGRESP, whole + 5-byte chunks': { packets: 8, fn: () => void (sink += decodeSteady()) },
  'session: publish QoS 0 + QoS 1 with its PUBACK (bytes)': { packets: 3, fn: () => void (sink += sessionPublish(false)) },
  'session: publish QoS 0 + QoS 1 with its PUBACK (string topics)': { packets: 3, fn: () => void (sink += sessionPublish(true)) },
  'session: receive + dispatch QoS 0 + QoS 1, PUBACK out': { packets: 3, fn: (i) => void (sink += sessionReceive(i)) },
};

function run(name: string, n: number): number {
  const w = workloads[name].fn;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) w(i);
  return performance.now() - t0;
}

(globalThis as any).xsBench = { run, names: Object.keys(workloads), packets: (name: string) => workloads[name].packets, sink: () => sink };
