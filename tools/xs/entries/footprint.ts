/// <reference path="../xs-globals.d.ts" />
// The library's footprint in XS, for tools/xs/footprint.mjs: `xsFootprint.make()` builds a Client
// with the device app's options (examples/sensor/main.ts) on a host that does no I/O (the constructor
// calls none), and keeps it; `buffers()` sums the bytes of the ArrayBuffers it holds (chunks, which
// the heap-slot count leaves out).
import { Client } from '../../../src/index.js';
import type { Host } from '../../../src/index.js';

const idle: Host = {
  nowMs: () => 0,
  setTimer: () => 0,
  clearTimer: () => {},
  defer: () => {},
  random: () => 0.5,
  open: () => {
    throw new Error('no I/O here');
  },
};

/** The device app's client options (examples/sensor/main.ts). */
const deviceOptions = {
  host: '192.0.2.1',
  port: 1883,
  clientId: 'xs-mqtt-sensor',
  keepAliveSec: 30,
  will: { topic: 'devices/xs-mqtt-sensor/status', payload: 'offline', qos: 1, retain: true },
  offlineQos0: 'drop' as const,
  rxBufferSize: 512,
  txBufferSize: 512,
  outboxBytes: 2048,
  rxQueueBytes: 2048,
};

const kept: Client[] = [];

function buffers(root: unknown): number {
  const seen = new Set<unknown>();
  const buffersSeen = new Set<ArrayBufferLike>();
  let bytes = 0;
  const walk = (v: unknown): void => {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (!buffersSeen.has(v.buffer)) {
        buffersSeen.add(v.buffer);
        bytes += v.buffer.byteLength;
      }
      return;
    }
    if (v instanceof Map) v.forEach((x, k) => (walk(k), walk(x)));
    if (v instanceof Set) v.forEach((x) => walk(x));
    if (typeof v === 'function') return; // the library's code, not this client's state
    for (const k of Object.getOwnPropertyNames(v)) {
      const d = Object.getOwnPropertyDescriptor(v, k)!;
      if ('value' in d) walk(d.value);
    }
  };
  walk(root);
  return bytes;
}

(globalThis as any).xsFootprint = {
  make(): void {
    kept.push(new Client(idle, deviceOptions));
  },
  buffers: () => buffers(kept[0]),
  count: () => kept.length,
};
