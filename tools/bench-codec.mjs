// Codec micro-benchmark: xs-mqtt against mqtt-packet 9, same packets, same process, same run.
//
//   npm run bench:codec            (node --expose-gc tools/bench-codec.mjs)
//   npm run bench:codec -- --json  (the results as JSON, for a README update script)
//
// Method
// - Equal work: every encode case is first checked byte for byte against mqtt-packet.generate(),
//   and both decoders are checked to report all 1000 packets with the right topic and payload.
//   Any mismatch throws: a bench that compares unequal work (or nothing) is a defect.
// - Each case × library is one closure holding its own loop (no shared per-iteration call site, so
//   each loop is optimised on its own), and every loop folds its results into a sum that is checked
//   against the expected value, so the JIT cannot drop the work.
// - xs-mqtt encodes into one preallocated 8 KiB Uint8Array at offset 0; mqtt-packet generates from a
//   packet object built once. Decoding reuses one Decoder / one mqtt-packet parser for the whole run.
// - Time: warm up (≥ 20k packets), size a run to ~RUN_MS, then gc() and time RUNS runs with
//   process.hrtime.bigint(); report the best (minimum) ns/packet. GC cost inside a run is counted:
//   it is part of what allocating costs.
// - Allocation: a separate loop after gc(): Δ(heapUsed + arrayBuffers) from process.memoryUsage()
//   over the loop, minus the same measurement around an empty loop, divided by the packets. A
//   PerformanceObserver counts 'gc' entries; if a GC ran inside the loop the figure would be low, so
//   the loop is halved and retried, and a figure that still saw a GC is marked '~' (a lower bound).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mqttPacket from 'mqtt-packet';
import { ensureExposeGc } from './run-ts.mjs';

const JSON_OUT = process.argv.includes('--json');
const SELF = fileURLToPath(import.meta.url);
const ROOT = path.dirname(path.dirname(SELF));

// gc() is needed for the allocation figures: without --expose-gc, run again with it.
await ensureExposeGc(SELF);
const gc = globalThis.gc;
const MQTT_PACKET_VERSION = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('mqtt-packet/package.json'), 'utf8')).version;

const DIST = new URL('../dist/index.js', import.meta.url);
if (!existsSync(DIST)) {
  execFileSync(process.execPath, [path.join(ROOT, 'tools/build.mjs')], { cwd: ROOT, stdio: JSON_OUT ? 'ignore' : 'inherit' });
}
const xs = await import(DIST.href);
const { writeConnect, writePublish, writeAck, writeSubscribe, writePingreq, Decoder, PUBACK, EV_PACKET, NEED_MORE } = xs;

const WARMUP_PACKETS = 20_000;
const RUNS = 5;
const RUN_MS = 120; // target length of one timed run
const ALLOC_CALLS = 10_000; // encode calls in the allocation loop (halved while a GC interferes)

// ---- GC detection ----------------------------------------------------------------------------
let gcCount = 0;
new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });
// GC entries are delivered asynchronously: give them time to arrive.
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

// ---- Fixtures --------------------------------------------------------------------------------
const enc = new TextEncoder();
function bytes(n, seed = 1) {
  const u = new Uint8Array(n);
  for (let i = 0; i < n; i++) u[i] = (i * 31 + seed) & 255;
  return u;
}
const buffer = (u8) => Buffer.from(u8); // mqtt-packet gets a Buffer copy of the same bytes

const out = new Uint8Array(8192);

const CLIENT_ID = 'xs-mqtt-bench-client';
const USERNAME = 'bench-user';
const PASSWORD = enc.encode('s3cret-password');
const WILL_TOPIC = 'devices/abc/status';
const WILL_PAYLOAD = enc.encode('offline');
const connectOpts = {
  clientId: CLIENT_ID,
  clean: true,
  keepAliveSec: 60,
  username: USERNAME,
  password: PASSWORD,
  will: { topic: WILL_TOPIC, payload: WILL_PAYLOAD, qos: 1, retain: true },
};
const connectPkt = {
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  clientId: CLIENT_ID,
  keepalive: 60,
  username: USERNAME,
  password: buffer(PASSWORD),
  will: { topic: WILL_TOPIC, payload: buffer(WILL_PAYLOAD), qos: 1, retain: true },
};

const TOPIC = 'devices/abc/telemetry';
const PACKET_ID = 1234;
const FILTERS = ['devices/+/telemetry', 'devices/abc/cmd/#', 'status'];
const FILTER_QOS = [0, 1, 2];

// ---- Cases -----------------------------------------------------------------------------------
// Each side is make() → loop(calls) returning a checksum; check(sum, calls) throws if it is wrong.
// packets: packets per call. bytes(): the encoded packet, compared between the two libraries.

function encodeCase(name, xsWrite, mpPacket) {
  const mpGenerate = mqttPacket.generate;
  const mine = xsWrite(out);
  const theirs = mqttPacket.generate(mpPacket);
  if (mine < 0) throw new Error(`${name}: xs-mqtt encoder returned status ${mine}`);
  const a = Buffer.from(out.subarray(0, mine)).toString('hex');
  const b = theirs.toString('hex');
  if (a !== b) throw new Error(`${name}: encodings differ\n  xs-mqtt     ${a}\n  mqtt-packet ${b}`);
  const len = mine;
  return {
    name,
    packets: 1,
    xs: {
      // Each loop written out (not a shared helper calling xsWrite) so the call is monomorphic.
      loop: xsWrite.loop,
      check: (sum, calls) => sum === len * calls,
    },
    mp: {
      loop(calls) {
        let sum = 0;
        for (let i = 0; i < calls; i++) sum += mpGenerate(mpPacket).length;
        return sum;
      },
      check: (sum, calls) => sum === len * calls,
    },
  };
}

// A writer for the byte check plus its own timed loop.
function writer(once, loop) {
  once.loop = loop;
  return once;
}

// preencoded: the topic is given as its UTF-8 bytes, to both libraries (a device encodes its few
// topics once at start-up; mqtt-packet accepts a Buffer topic and writes the same bytes).
function publishCase(name, payloadBytes, qos, preencoded = false) {
  const payload = bytes(payloadBytes);
  const id = qos ? PACKET_ID : 0;
  const topic = preencoded ? enc.encode(TOPIC) : TOPIC;
  return encodeCase(
    name,
    writer(
      (buf) => writePublish(buf, 0, topic, payload, qos, false, false, id),
      (calls) => {
        let sum = 0;
        for (let i = 0; i < calls; i++) sum += writePublish(out, 0, topic, payload, qos, false, false, id);
        return sum;
      },
    ),
    { cmd: 'publish', topic: preencoded ? Buffer.from(topic) : TOPIC, payload: buffer(payload), qos, retain: false, dup: false, messageId: qos ? PACKET_ID : undefined },
  );
}

// Decoding: STREAM_PACKETS QoS 0 PUBLISHes of DECODE_PAYLOAD bytes back to back in one chunk.
const STREAM_PACKETS = 1000;
const DECODE_PAYLOAD = 64;
const CHUNK = 7;
const streamPayload = bytes(DECODE_PAYLOAD, 7);
const onePublish = mqttPacket.generate({ cmd: 'publish', topic: TOPIC, payload: buffer(streamPayload), qos: 0, retain: false, dup: false });
const stream = new Uint8Array(onePublish.length * STREAM_PACKETS);
for (let i = 0; i < STREAM_PACKETS; i++) stream.set(onePublish, i * onePublish.length);
const streamBuf = Buffer.from(stream); // mqtt-packet's input: same bytes, as a Buffer
const streamChunks = []; // the 7-byte pieces for mqtt-packet, cut once outside the timed loops
for (let o = 0; o < streamBuf.length; o += CHUNK) streamChunks.push(streamBuf.subarray(o, o + CHUNK));
const TOPIC_BYTES = enc.encode(TOPIC);

function sameBytes(data, off, len, expect) {
  if (len !== expect.length) return false;
  for (let i = 0; i < len; i++) if (data[off + i] !== expect[i]) return false;
  return true;
}

function xsDecoder() {
  const dec = new Decoder(4096);
  dec.awaitingConnack = false; // a stream of PUBLISHes without a CONNACK first
  return dec;
}

/** Pushes bytes[offset, offset+length) through dec; returns the EV_PACKET count. Throws on a status. */
function pushAll(dec, data, offset, length) {
  let n = 0;
  while (length > 0) {
    const ev = dec.push(data, offset, length);
    offset += dec.consumed;
    length -= dec.consumed;
    if (ev === EV_PACKET) n++;
    else if (ev === NEED_MORE) break;
    else throw new Error(`xs-mqtt decoder: status ${ev}`);
  }
  return n;
}

function decodeCase(name, chunked) {
  // Checksum per stream: packets × (payload length + 1).
  const perStream = STREAM_PACKETS * (DECODE_PAYLOAD + 1);

  const dec = xsDecoder();
  // Correctness, once: every packet is a PUBLISH with the right topic and payload.
  {
    const d = xsDecoder();
    let n = 0;
    for (let o = 0; o < stream.length; o += chunked ? CHUNK : stream.length) {
      let off = o;
      let len = Math.min(chunked ? CHUNK : stream.length, stream.length - o);
      while (len > 0) {
        const ev = d.push(stream, off, len);
        off += d.consumed;
        len -= d.consumed;
        if (ev === EV_PACKET) {
          n++;
          if (d.type !== 3 || d.qos !== 0 || !sameBytes(d.topicData, d.topicOffset, d.topicLength, TOPIC_BYTES) || !sameBytes(d.data, d.payloadOffset, d.payloadLength, streamPayload)) {
            throw new Error(`${name}: xs-mqtt decoded packet ${n} wrongly`);
          }
        } else if (ev === NEED_MORE) break;
        else throw new Error(`${name}: xs-mqtt decoder status ${ev}`);
      }
    }
    if (n !== STREAM_PACKETS) throw new Error(`${name}: xs-mqtt decoded ${n} packets, expected ${STREAM_PACKETS}`);
  }

  const xsLoop = chunked
    ? (calls) => {
        let sum = 0;
        const total = stream.length;
        for (let c = 0; c < calls; c++) {
          for (let o = 0; o < total; o += CHUNK) {
            let off = o;
            let len = total - o < CHUNK ? total - o : CHUNK;
            while (len > 0) {
              const ev = dec.push(stream, off, len);
              off += dec.consumed;
              len -= dec.consumed;
              if (ev === EV_PACKET) sum += dec.payloadLength + 1;
              else if (ev === NEED_MORE) break;
              else throw new Error(`xs-mqtt decoder: status ${ev}`);
            }
          }
        }
        return sum;
      }
    : (calls) => {
        let sum = 0;
        for (let c = 0; c < calls; c++) {
          let off = 0;
          let len = stream.length;
          while (len > 0) {
            const ev = dec.push(stream, off, len);
            off += dec.consumed;
            len -= dec.consumed;
            if (ev === EV_PACKET) sum += dec.payloadLength + 1;
            else if (ev === NEED_MORE) break;
            else throw new Error(`xs-mqtt decoder: status ${ev}`);
          }
        }
        return sum;
      };

  // mqtt-packet: one parser for the whole run; the handler folds each packet into `mpSum`.
  let mpSum = 0;
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on('packet', (p) => {
    mpSum += p.payload.length + 1;
  });
  parser.on('error', (e) => {
    throw new Error(`${name}: mqtt-packet parser error: ${e.message}`);
  });
  {
    const p = mqttPacket.parser({ protocolVersion: 4 });
    let n = 0;
    p.on('packet', (pk) => {
      n++;
      if (pk.cmd !== 'publish' || pk.topic !== TOPIC || pk.qos !== 0 || !sameBytes(pk.payload, 0, pk.payload.length, streamPayload)) {
        throw new Error(`${name}: mqtt-packet decoded packet ${n} wrongly`);
      }
    });
    p.on('error', (e) => {
      throw e;
    });
    if (chunked) for (const c of streamChunks) p.parse(c);
    else p.parse(streamBuf);
    if (n !== STREAM_PACKETS) throw new Error(`${name}: mqtt-packet decoded ${n} packets, expected ${STREAM_PACKETS}`);
  }
  const mpLoop = chunked
    ? (calls) => {
        mpSum = 0;
        const chunks = streamChunks;
        for (let c = 0; c < calls; c++) for (let i = 0; i < chunks.length; i++) parser.parse(chunks[i]);
        return mpSum;
      }
    : (calls) => {
        mpSum = 0;
        for (let c = 0; c < calls; c++) parser.parse(streamBuf);
        return mpSum;
      };

  return {
    name,
    packets: STREAM_PACKETS,
    xs: { loop: xsLoop, check: (sum, calls) => sum === perStream * calls },
    mp: { loop: mpLoop, check: (sum, calls) => sum === perStream * calls },
  };
}

const cases = [
  encodeCase(
    'CONNECT (will, user/pass)',
    writer(
      (buf) => writeConnect(buf, 0, connectOpts),
      (calls) => {
        let sum = 0;
        for (let i = 0; i < calls; i++) sum += writeConnect(out, 0, connectOpts);
        return sum;
      },
    ),
    connectPkt,
  ),
  publishCase('PUBLISH QoS 0, 16 B', 16, 0),
  publishCase('PUBLISH QoS 0, 256 B', 256, 0),
  publishCase('PUBLISH QoS 0, 4 KiB', 4096, 0),
  publishCase('PUBLISH QoS 1, 64 B', 64, 1),
  publishCase('PUBLISH QoS 0, 16 B, topic as bytes', 16, 0, true),
  encodeCase(
    'PUBACK',
    writer(
      (buf) => writeAck(buf, 0, PUBACK, PACKET_ID),
      (calls) => {
        let sum = 0;
        for (let i = 0; i < calls; i++) sum += writeAck(out, 0, PUBACK, PACKET_ID);
        return sum;
      },
    ),
    { cmd: 'puback', messageId: PACKET_ID },
  ),
  encodeCase(
    'SUBSCRIBE, 3 filters',
    writer(
      (buf) => writeSubscribe(buf, 0, PACKET_ID, FILTERS, FILTER_QOS),
      (calls) => {
        let sum = 0;
        for (let i = 0; i < calls; i++) sum += writeSubscribe(out, 0, PACKET_ID, FILTERS, FILTER_QOS);
        return sum;
      },
    ),
    { cmd: 'subscribe', messageId: PACKET_ID, subscriptions: FILTERS.map((topic, i) => ({ topic, qos: FILTER_QOS[i] })) },
  ),
  encodeCase(
    'PINGREQ',
    writer(
      (buf) => writePingreq(buf, 0),
      (calls) => {
        let sum = 0;
        for (let i = 0; i < calls; i++) sum += writePingreq(out, 0);
        return sum;
      },
    ),
    { cmd: 'pingreq' },
  ),
  decodeCase(`decode ${STREAM_PACKETS}× PUBLISH ${DECODE_PAYLOAD} B, one chunk`, false),
  decodeCase(`decode ${STREAM_PACKETS}× PUBLISH ${DECODE_PAYLOAD} B, ${CHUNK}-byte chunks`, true),
];

// ---- Measurement -----------------------------------------------------------------------------
function run(side, calls) {
  const sum = side.loop(calls);
  if (!side.check(sum, calls)) throw new Error(`checksum ${sum} wrong for ${calls} calls`);
}

function timeNs(side, calls) {
  gc();
  const t0 = process.hrtime.bigint();
  const sum = side.loop(calls);
  const t1 = process.hrtime.bigint();
  if (!side.check(sum, calls)) throw new Error(`checksum ${sum} wrong for ${calls} calls`);
  return Number(t1 - t0);
}

const memNow = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** Bytes allocated around one loop(calls), or null if a GC ran meanwhile. */
async function allocOnce(loop, calls) {
  gc();
  await settle();
  const gcBefore = gcCount;
  const m0 = memNow();
  loop(calls);
  const m1 = memNow();
  await settle();
  return gcCount !== gcBefore || m1 < m0 ? null : m1 - m0;
}

// What the measurement itself allocates (memoryUsage()'s result object): the least of a few tries
// around an empty call, subtracted from every figure.
const noop = () => 0;
let memOverhead = Infinity;
for (let i = 0; i < 5; i++) {
  const b = await allocOnce(noop, 0);
  if (b !== null) memOverhead = Math.min(memOverhead, b);
}
if (memOverhead === Infinity) memOverhead = 0;

/** { bytes per packet, reliable }: halves the loop while a GC interferes. */
async function allocPerPacket(side, packetsPerCall) {
  let calls = Math.max(1, Math.round(ALLOC_CALLS / packetsPerCall));
  for (;;) {
    const used = await allocOnce(side.loop, calls);
    if (used !== null) return { bytes: Math.max(0, used - memOverhead) / (calls * packetsPerCall), reliable: true };
    if (calls === 1) break;
    calls = Math.max(1, calls >> 1);
  }
  // Even one call saw a GC: report what was still in the heap after it, a lower bound, marked '~'.
  gc();
  await settle();
  const m0 = memNow();
  side.loop(calls);
  const m1 = memNow();
  return { bytes: Math.max(0, m1 - m0 - memOverhead) / (calls * packetsPerCall), reliable: false };
}

async function measure(side, packetsPerCall) {
  // Warm up, then size a run to about RUN_MS from the warm-up's pace.
  const warmCalls = Math.max(1, Math.ceil(WARMUP_PACKETS / packetsPerCall));
  run(side, warmCalls);
  const warmNs = timeNs(side, warmCalls);
  const calls = Math.max(1, Math.round((RUN_MS * 1e6 * warmCalls) / Math.max(warmNs, 1)));
  let best = Infinity;
  for (let r = 0; r < RUNS; r++) best = Math.min(best, timeNs(side, calls) / (calls * packetsPerCall));
  const alloc = await allocPerPacket(side, packetsPerCall);
  return { nsPerPacket: best, bytesPerPacket: alloc.bytes, allocReliable: alloc.reliable };
}

const results = [];
for (const c of cases) {
  const xsRes = await measure(c.xs, c.packets);
  const mpRes = await measure(c.mp, c.packets);
  results.push({ case: c.name, xsMqtt: xsRes, mqttPacket: mpRes, ratio: mpRes.nsPerPacket / xsRes.nsPerPacket });
}

// ---- Report ----------------------------------------------------------------------------------
const bytesShown = (r) => {
  const b = Math.round(r.bytesPerPacket);
  return (r.allocReliable ? '' : '~') + String(b);
};
const nsShown = (ns) => (ns < 10 ? ns.toFixed(2) : ns < 100 ? ns.toFixed(1) : ns.toFixed(0));

const failures = [];
for (const r of results) {
  const why = [];
  if (!(r.ratio >= 10)) why.push(`${r.ratio.toFixed(1)}×`);
  if (!r.xsMqtt.allocReliable) why.push('allocation not measurable');
  else if (Math.round(r.xsMqtt.bytesPerPacket) !== 0) why.push(`${Math.round(r.xsMqtt.bytesPerPacket)} B/pkt`);
  if (why.length) failures.push(`${r.case} (${why.join(', ')})`);
}

const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
const command = ['node', ...process.execArgv, path.relative(process.cwd(), SELF) || SELF, ...process.argv.slice(2)].join(' ');
const date = new Date().toISOString().slice(0, 10);

if (JSON_OUT) {
  console.log(
    JSON.stringify(
      {
        date,
        node: process.version,
        cpu,
        command,
        mqttPacketVersion: MQTT_PACKET_VERSION,
        results,
        target: { description: '>=10x faster and 0 B/packet on every case', met: failures.length === 0, failures },
      },
      null,
      2,
    ),
  );
} else {
  console.log(`${date} · node ${process.version} · ${cpu} · mqtt-packet ${MQTT_PACKET_VERSION} · \`${command}\``);
  console.log('');
  console.log('| case | xs-mqtt ns/pkt | mqtt-packet ns/pkt | ratio (×) | xs-mqtt B/pkt | mqtt-packet B/pkt |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.case} | ${nsShown(r.xsMqtt.nsPerPacket)} | ${nsShown(r.mqttPacket.nsPerPacket)} | ${r.ratio.toFixed(1)} | ${bytesShown(r.xsMqtt)} | ${bytesShown(r.mqttPacket)} |`,
    );
  }
  if (results.some((r) => !r.xsMqtt.allocReliable || !r.mqttPacket.allocReliable)) {
    console.log('');
    console.log("'~': a GC ran during even the shortest allocation loop; the figure is a lower bound.");
  }
  console.log('');
  console.log(`target: ≥10× faster and 0 B/packet on every case: ${failures.length ? `NOT met for ${failures.join('; ')}` : 'met'}`);
}
