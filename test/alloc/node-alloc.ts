// Run by test/alloc.test.ts in its own `node --expose-gc` process (bundled from src/ and hosts/node).
// The Node host's own path on a real socket: a link from NodeHost.open() to a TCP server in this
// process. Node itself allocates per turn (the write request, the staging buffer, the tick that
// flushes it) and per read (the Buffer it reads into); what is measured is what the host adds per
// packet. Each measurement is on a fresh link: argv[3] 'write', n packets written through
// link.write() in one turn (the host stages them); 'read', n packets the peer wrote at once, read
// until all are decoded; each at n and 2n, less a single packet (the turn's or the read's own cost).
// argv[2] = 'control:K' seeds an allocation every K packets.
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { NodeHost } from '../../hosts/node/index.js';
import type { Link } from '../../src/index.js';
import { Decoder, EV_PACKET, writePublish } from '../../src/index.js';
import { seed, seedEvery } from './measure.js';

declare const gc: () => void;

const N = 400; // 16-byte packets: 2N of them fit the host's 16 KiB staging buffer, so no flush mid-loop
const pkt = new Uint8Array(16);
const len = writePublish(pkt, 0, 'dev/t', new Uint8Array(7), 0, false, false, 0);
if (len !== 16) throw new Error('packet of ' + len);

let received = 0;
let accepted = 0;
let opened = 0;
let peer: Socket | null = null; // the server's side of the link being measured
const server = createServer((s: Socket) => {
  peer = s;
  accepted++;
  s.on('data', (b) => (received += b.length));
  s.on('error', () => {});
});
const host = new NodeHost();

function openLink(port: number): Promise<Link> {
  return new Promise((resolve, reject) => {
    const link: Link = host.open(
      { host: '127.0.0.1', port },
      {
        onOpen: () => {
          opened++;
          resolve(link);
        },
        onData: (b, o, l) => take(b, o, l),
        onWritable: () => {},
        onClose: (reason) => reject(new Error(reason)),
      },
    );
  });
}

// Collections while a measurement runs (gc() itself excluded): any would hide allocations.
let gcs = 0;
const windows: number[] = []; // [start, end) of each measurement, performance.now()
function young(): number {
  const spaces = getHeapSpaceStatistics();
  for (let i = 0; i < spaces.length; i++) if (spaces[i].space_name === 'new_space') return spaces[i].space_used_size;
  return 0;
}

// The read path: incoming bytes go to a Decoder, as the client's session does.
const dec = new Decoder(64);
dec.awaitingConnack = false;
let packetsIn = 0;
let bytesIn = 0;
function take(b: Uint8Array, o: number, l: number): number {
  bytesIn += l;
  let off = o;
  while (off < o + l) {
    if (dec.push(b, off, o + l - off) === EV_PACKET) seed(packetsIn++);
    off += dec.consumed;
  }
  if (bytesIn >= bytesWanted && done) {
    const d = done;
    done = null;
    d();
  }
  return l;
}
let bytesWanted = 0;
let done: (() => void) | null = null;
/** count packets in one chunk, as the broker's one write of a burst of messages. */
const chunks = new Map<number, Buffer>();
function chunk(count: number): Buffer {
  let c = chunks.get(count);
  if (!c) {
    c = Buffer.alloc(count * len);
    for (let i = 0; i < count; i++) c.set(pkt.subarray(0, len), i * len);
    chunks.set(count, c);
  }
  return c;
}

let ok = true;
function writes(link: Link, count: number): void {
  for (let i = 0; i < count; i++) {
    if (!link.write(pkt, 0, len)) ok = false;
    seed(i);
  }
}

/** New-space bytes of one turn writing `count` packets on a fresh link (after warm links). */
async function measure(port: number, count: number): Promise<number> {
  const link = await openLink(port);
  await new Promise((r) => setImmediate(r));
  gc();
  gc();
  const t0 = performance.now();
  const y0 = young();
  writes(link, count);
  const y1 = young();
  windows.push(t0, performance.now());
  link.close();
  return y1 - y0;
}

/** New-space bytes of receiving `count` packets written by the peer at once, on a fresh link, until they are all decoded. */
async function measureRead(port: number, count: number): Promise<number> {
  const link = await openLink(port);
  while (accepted < opened) await new Promise((r) => setImmediate(r)); // `peer` is this link's
  await new Promise((r) => setImmediate(r));
  const c = chunk(count);
  bytesIn = 0;
  bytesWanted = c.length;
  const all = new Promise<void>((r) => (done = r));
  gc();
  gc();
  const t0 = performance.now();
  const y0 = young();
  peer!.write(c);
  await all;
  const y1 = young();
  windows.push(t0, performance.now());
  link.close();
  return y1 - y0;
}

server.listen(0, '127.0.0.1', async () => {
  const port = (server.address() as AddressInfo).port;
  /** The least of three (Node's own turn may vary) of a measurement at 1, N and 2N packets. */
  const m = async (f: (port: number, count: number) => Promise<number>): Promise<number[]> => {
    for (let k = 0; k < 30; k++) await f(port, 2 * N); // warm-up: let the JIT settle
    const r: number[] = [];
    for (const count of [1, N, 2 * N]) {
      let best = Infinity;
      for (let k = 0; k < 3; k++) best = Math.min(best, await f(port, count));
      r.push(best);
    }
    return r;
  };
  const reading = process.argv[3] === 'read';
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) for (let k = 0; k < windows.length; k += 2) if (e.startTime >= windows[k] && e.startTime <= windows[k + 1]) gcs++;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const y = await m(reading ? measureRead : measure);
  await new Promise((r) => setTimeout(r, 100));
  gcObserver.disconnect();
  server.close();
  const packets = (30 * 2 * N + 3 * (1 + N + 2 * N)) * len;
  console.log(
    JSON.stringify({
      n: N,
      // What n and 2n packets written in a turn (or read in one chunk) cost beyond a single one.
      young: y[1] - y[0],
      young2: y[2] - y[0],
      other: 0,
      other2: 0,
      gcs,
      seedEvery,
      kept: true,
      turns: y,
      ok: ok && (reading ? packetsIn === packets / len : received === packets),
    }),
  );
  process.exit(0);
});
