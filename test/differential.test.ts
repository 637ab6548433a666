// Differential tests against mqtt-packet, the codec of the mqtt.js client, on random valid packets
// (fast-check; well over 10,000 per run, counted and asserted by the last test):
// - encode: our bytes for every client→server packet parse in mqtt-packet to the packet we meant,
//   and are byte-identical to what mqtt-packet's generate() makes of the same packet;
// - decode: mqtt-packet's generate() output for every server→client packet decodes with ours to
//   the same fields, fed whole and in random splits, with random receive buffer sizes (so a large
//   PUBLISH is also streamed in fragments);
// - streams: runs of packets back to back, written at successive offsets / parsed across packet
//   boundaries;
// - mutated server streams (a byte set, flipped, inserted, deleted, or the end cut): where
//   mqtt-packet accepts a packet, we decode the same fields, or refuse it by a rule of
//   REFUSAL_RULES that holds of that packet ("a client refuses what only a server receives"…);
//   and we take no packet it refuses.
// fast-check picks the seed and prints it with the shrunk counterexample on failure.
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import * as C from '../src/index.js';
import { decodeChunks, rng, toHex, type Snap } from './helpers.js';

/** The floor: random packets checked per run, over all properties. */
const MIN_PACKETS = 10_000;

/** numRuns per property. Streams carry 1..10 packets a run (5.5 on average). */
const RUNS = {
  connect: 1200,
  publish: 2000,
  ack: 600,
  subscribe: 700,
  unsubscribe: 500,
  clientStream: 250,
  connack: 300,
  serverPublish: 2000,
  serverAck: 600,
  suback: 500,
  unsuback: 300,
  serverStream: 250,
};

/** Packets that went through every check of a differential, counted by the last test. */
let checked = 0;

type Data = Uint8Array | string;

// ---------------------------------------------------------------------------------------------
// Arbitraries: only packets MQTT 3.1.1 allows.

const isSurrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;
const codePoints = (min: number, max: number, except: string = '') =>
  fc
    .integer({ min, max })
    .filter((c) => !isSurrogate(c) && !except.includes(String.fromCodePoint(c)))
    .map((c) => String.fromCodePoint(c));

/**
 * One character of an MQTT UTF-8 string: any code point but U+0000 and the surrogates (paired
 * surrogates arrive as astral characters) [MQTT-1.5.3-1/2], weighted towards ASCII and '/', with
 * each UTF-8 length boundary and the controls, noncharacters and U+FEFF the spec singles out.
 */
function mqttChar(except: string) {
  const edges = ['\u0001', '\u001f', '\u007f', '\u0080', '\u009f', '\u07ff', '\u0800', '\ufeff', '\ufffe', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}'];
  return fc.oneof(
    { weight: 6, arbitrary: codePoints(0x20, 0x7e, except) },
    { weight: except.includes('/') ? 0 : 2, arbitrary: fc.constant('/') },
    { weight: 1, arbitrary: codePoints(0x01, 0x9f, except) },
    { weight: 2, arbitrary: codePoints(0x80, 0xffff, except) },
    { weight: 2, arbitrary: codePoints(0x10000, 0x10ffff, except) },
    { weight: 1, arbitrary: fc.constantFrom(...edges) },
  );
}

/** Topic names: non-empty, no wildcard [MQTT-3.3.2-2] [MQTT-4.7.3-1], up to 100 characters. */
const topicArb = fc.string({ unit: mqttChar('+#'), minLength: 1, maxLength: 100, size: 'max' });

/** Client ids and user names: any MQTT string, '+' and '#' included, possibly empty. */
const textArb = (maxLength: number) => fc.string({ unit: mqttChar(''), maxLength, size: 'max' });

/**
 * Topic filters [MQTT-4.7.1]: levels that are '+' or literal (possibly empty: `a//b`), joined by
 * '/', optionally ending in '#' (alone or after a '/').
 */
const levelArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant('+') },
  { weight: 3, arbitrary: fc.string({ unit: mqttChar('+#/'), maxLength: 12 }) },
);
const filterArb = fc
  .record({ levels: fc.array(levelArb, { maxLength: 6 }), hash: fc.boolean() })
  .map(({ levels, hash }) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0);

const qosArb = fc.integer({ min: 0, max: 2 });
const idArb = fc.integer({ min: 1, max: 65535 });

/** Binary data given as a string: any code point, U+0000 included, sent as UTF-8. */
const dataStringArb = (maxLength: number) =>
  fc.string({ unit: fc.oneof(fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength, size: 'max' });

const bytesArb = (maxLength: number) => fc.uint8Array({ maxLength, size: 'max' });
const dataArb = (maxBytes: number): fc.Arbitrary<Data> => fc.oneof(bytesArb(maxBytes), dataStringArb(maxBytes >> 3));

/** Deterministic filler for large payloads (fast-check would be slow to draw 16 KB byte by byte). */
function filled(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

interface Pub {
  topic: string;
  payload: Data | null;
  qos: number;
  retain: boolean;
  dup: boolean;
  id: number;
}

/**
 * PUBLISH: random bytes (0..2000), a string, no payload at all, or a payload sized so that the
 * remaining length lands on a varint boundary (127/128, 16383/16384). DUP and a packet id only
 * with QoS 1 and 2 [MQTT-3.3.1-2] [MQTT-2.3.1-1].
 */
const pubArb: fc.Arbitrary<Pub> = fc
  .record({
    topic: topicArb,
    payload: fc.oneof(
      { weight: 5, arbitrary: bytesArb(2000) },
      { weight: 2, arbitrary: dataStringArb(200) },
      { weight: 1, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: fc.record({ rl: fc.oneof(fc.integer({ min: 126, max: 129 }), fc.integer({ min: 16382, max: 16385 })), seed: fc.integer() }),
      },
    ),
    qos: qosArb,
    retain: fc.boolean(),
    dup: fc.boolean(),
    id: idArb,
  })
  .map(({ topic, payload: spec, qos, retain, dup, id }): Pub => {
    let payload: Data | null;
    if (spec === null || typeof spec === 'string' || spec instanceof Uint8Array) payload = spec;
    else payload = filled(Math.max(0, spec.rl - 2 - Buffer.byteLength(topic) - (qos ? 2 : 0)), spec.seed);
    return { topic, payload, qos, retain, dup: qos > 0 && dup, id: qos ? id : 0 };
  });

// Client → server packets, as arguments to our encoders.
type AckCmd = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
type ClientPacket =
  | { cmd: 'connect'; o: C.ConnectOptions }
  | ({ cmd: 'publish'; rawTopic: boolean } & Pub) // rawTopic: the topic passed as its UTF-8 bytes
  | { cmd: AckCmd; id: number }
  | { cmd: 'subscribe'; id: number; filters: string[]; qos: number[] }
  | { cmd: 'unsubscribe'; id: number; filters: string[] }
  | { cmd: 'pingreq' }
  | { cmd: 'disconnect' };

const ACK_TYPE: Record<AckCmd, number> = { puback: C.PUBACK, pubrec: C.PUBREC, pubrel: C.PUBREL, pubcomp: C.PUBCOMP };
const ackCmdArb = fc.constantFrom<AckCmd>('puback', 'pubrec', 'pubrel', 'pubcomp');

/**
 * CONNECT, optional fields absent or present (our defaults: clean, keepalive 60, will QoS 0,
 * no retain). Never a password without a user name [MQTT-3.1.2-22], never an empty client id
 * with a persistent session [MQTT-3.1.3-7].
 */
const connectArb: fc.Arbitrary<ClientPacket> = fc
  .record(
    {
      clientId: textArb(30),
      clean: fc.boolean(),
      keepAliveSec: fc.integer({ min: 0, max: 65535 }),
      username: textArb(30),
      password: dataArb(200),
      will: fc.record(
        { topic: topicArb, payload: dataArb(2000), qos: qosArb, retain: fc.boolean() },
        { requiredKeys: ['topic', 'payload'] },
      ),
    },
    { requiredKeys: ['clientId'] },
  )
  .filter((o) => (o.password === undefined || o.username !== undefined) && (o.clientId !== '' || o.clean !== false))
  .map((o) => ({ cmd: 'connect' as const, o }));

const publishArb: fc.Arbitrary<ClientPacket> = fc.tuple(pubArb, fc.boolean()).map(([p, rawTopic]) => ({ cmd: 'publish' as const, rawTopic, ...p }));
const ackArb: fc.Arbitrary<ClientPacket> = fc.record({ cmd: ackCmdArb, id: idArb });
const subscribeArb: fc.Arbitrary<ClientPacket> = fc
  .record({ id: idArb, subs: fc.array(fc.tuple(filterArb, qosArb), { minLength: 1, maxLength: 5 }) })
  .map(({ id, subs }) => ({ cmd: 'subscribe' as const, id, filters: subs.map((s) => s[0]), qos: subs.map((s) => s[1]) }));
const unsubscribeArb: fc.Arbitrary<ClientPacket> = fc
  .record({ id: idArb, filters: fc.array(filterArb, { minLength: 1, maxLength: 5 }) })
  .map(({ id, filters }) => ({ cmd: 'unsubscribe' as const, id, filters }));
const clientPacketArb: fc.Arbitrary<ClientPacket> = fc.oneof(
  connectArb,
  publishArb,
  ackArb,
  subscribeArb,
  unsubscribeArb,
  fc.constant<ClientPacket>({ cmd: 'pingreq' }),
  fc.constant<ClientPacket>({ cmd: 'disconnect' }),
);

// Server → client packets, as mqtt-packet objects for generate().
const connackArb: fc.Arbitrary<Packet> = fc
  .oneof(
    fc.record({ returnCode: fc.constant(0), sessionPresent: fc.boolean() }),
    // A refused connection has no session [MQTT-3.2.2-4].
    fc.record({ returnCode: fc.integer({ min: 1, max: 5 }), sessionPresent: fc.constant(false) }),
  )
  .map((c) => ({ cmd: 'connack' as const, ...c }));
const serverPublishArb: fc.Arbitrary<Packet> = pubArb.map((p) => ({
  cmd: 'publish' as const,
  topic: p.topic,
  payload: p.payload === null ? Buffer.alloc(0) : typeof p.payload === 'string' ? p.payload : Buffer.from(p.payload),
  qos: p.qos as 0 | 1 | 2,
  retain: p.retain,
  dup: p.dup,
  ...(p.qos ? { messageId: p.id } : {}),
}));
const serverAckArb: fc.Arbitrary<Packet> = fc.record({ cmd: ackCmdArb, messageId: idArb });
const subackArb: fc.Arbitrary<Packet> = fc.record({
  cmd: fc.constant('suback' as const),
  messageId: idArb,
  granted: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 10 }),
});
// (mqtt-packet's type wants MQTT 5's `granted` on UNSUBACK; 3.1.1 has none.)
const unsubackArb = fc.record({ cmd: fc.constant('unsuback' as const), messageId: idArb }) as fc.Arbitrary<Packet>;
const serverPacketArb: fc.Arbitrary<Packet> = fc.oneof(
  serverPublishArb,
  serverAckArb,
  subackArb,
  unsubackArb,
  fc.constant<Packet>({ cmd: 'pingresp' }),
);

/** Chunk sizes, cycled: small ones (byte by byte included) and large ones. */
const splitsArb = fc.array(fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 3000 })), { minLength: 1, maxLength: 8 });
/** Receive buffer sizes: a PUBLISH whose remaining length exceeds it is streamed in fragments. */
const bufferSizeArb = fc.integer({ min: 16, max: 4096 });

// ---------------------------------------------------------------------------------------------
// Both sides.

const hexOf = (d: Data | null) => (d === null ? '' : typeof d === 'string' ? Buffer.from(d, 'utf8').toString('hex') : toHex(d));

function cycle(sizes: number[]): () => number {
  let i = 0;
  return () => sizes[i++ % sizes.length];
}

function chunked(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const next = cycle(sizes);
  const out: Uint8Array[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    const n = next();
    out.push(bytes.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

const OUT = new Uint8Array(1 << 20);

/** A PUBLISH's topic as our encoder gets it: the string, or its UTF-8 bytes. */
function ourTopic(p: { topic: string; rawTopic: boolean }): Data {
  return p.rawTopic ? new Uint8Array(Buffer.from(p.topic, 'utf8')) : p.topic;
}

function writeOurs(buf: Uint8Array, pos: number, p: ClientPacket): number {
  switch (p.cmd) {
    case 'connect':
      return C.writeConnect(buf, pos, p.o);
    case 'publish':
      return C.writePublish(buf, pos, ourTopic(p), p.payload, p.qos, p.retain, p.dup, p.id);
    case 'subscribe':
      return C.writeSubscribe(buf, pos, p.id, p.filters, p.qos);
    case 'unsubscribe':
      return C.writeUnsubscribe(buf, pos, p.id, p.filters);
    case 'pingreq':
      return C.writePingreq(buf, pos);
    case 'disconnect':
      return C.writeDisconnect(buf, pos);
    default:
      return C.writeAck(buf, pos, ACK_TYPE[p.cmd], p.id);
  }
}

/** The same packet as an mqtt-packet object, for generate(). */
function reference(p: ClientPacket): Packet {
  const buf = (d: Data) => (typeof d === 'string' ? d : Buffer.from(d));
  switch (p.cmd) {
    case 'connect': {
      const o = p.o;
      return {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: o.clientId ?? '',
        clean: o.clean !== false,
        keepalive: o.keepAliveSec ?? 60,
        ...(o.username !== undefined ? { username: o.username } : {}),
        ...(o.password !== undefined ? { password: Buffer.from(buf(o.password)) } : {}),
        ...(o.will
          ? { will: { topic: o.will.topic, payload: buf(o.will.payload), qos: (o.will.qos ?? 0) as 0 | 1 | 2, retain: !!o.will.retain } }
          : {}),
      };
    }
    case 'publish':
      return {
        cmd: 'publish',
        topic: p.topic,
        payload: p.payload === null ? Buffer.alloc(0) : buf(p.payload),
        qos: p.qos as 0 | 1 | 2,
        retain: p.retain,
        dup: p.dup,
        ...(p.qos ? { messageId: p.id } : {}),
      };
    case 'subscribe':
      return { cmd: 'subscribe', messageId: p.id, subscriptions: p.filters.map((topic, i) => ({ topic, qos: p.qos[i] as 0 | 1 | 2 })) };
    case 'unsubscribe':
      return { cmd: 'unsubscribe', messageId: p.id, unsubscriptions: p.filters };
    case 'pingreq':
    case 'disconnect':
      return { cmd: p.cmd };
    default:
      return { cmd: p.cmd, messageId: p.id };
  }
}

/** What mqtt-packet's parser must emit for p (plain, buffers as hex, without `length`). */
function expectedParse(p: ClientPacket): Record<string, unknown> {
  // Fields every parsed packet carries; the fixed-header flags of SUBSCRIBE, UNSUBSCRIBE and PUBREL
  // are 0010, which mqtt-packet reports as qos 1 [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1].
  const base = { cmd: p.cmd, retain: false, qos: 0, dup: false, topic: null, payload: null };
  switch (p.cmd) {
    case 'connect': {
      const o = p.o;
      return {
        ...base,
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: o.clean !== false,
        keepalive: o.keepAliveSec ?? 60,
        clientId: o.clientId,
        ...(o.will ? { will: { retain: !!o.will.retain, qos: o.will.qos ?? 0, topic: o.will.topic, payload: hexOf(o.will.payload) } } : {}),
        ...(o.username !== undefined ? { username: o.username } : {}),
        ...(o.password !== undefined ? { password: hexOf(o.password) } : {}),
      };
    }
    case 'publish':
      return {
        cmd: 'publish',
        retain: p.retain,
        qos: p.qos,
        dup: p.dup,
        topic: p.topic,
        payload: hexOf(p.payload),
        ...(p.qos ? { messageId: p.id } : {}),
      };
    case 'subscribe':
      return { ...base, qos: 1, subscriptions: p.filters.map((topic, i) => ({ topic, qos: p.qos[i] })), messageId: p.id };
    case 'unsubscribe':
      return { ...base, qos: 1, unsubscriptions: p.filters, messageId: p.id };
    case 'pingreq':
    case 'disconnect':
      return base;
    default:
      return { ...base, qos: p.cmd === 'pubrel' ? 1 : 0, messageId: p.id };
  }
}

/** A parsed mqtt-packet object as plain data: Buffers as hex, no `length` (checked via the bytes). */
function plain(v: unknown, top = true): unknown {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map((x) => plain(x, false));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!(top && k === 'length')) o[k] = plain(x, false);
    return o;
  }
  return v;
}

/** Feeds the chunks to one mqtt-packet parser (MQTT 3.1.1). */
function parseWithReference(chunks: Uint8Array[]): { packets: unknown[]; errors: string[]; left: number } {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: unknown[] = [];
  const errors: string[] = [];
  parser.on('packet', (p) => packets.push(plain(p)));
  parser.on('error', (e) => errors.push(e.message));
  let left = 0;
  for (const c of chunks) left = parser.parse(Buffer.from(c));
  return { packets, errors, left };
}

/** Bytes of our encoding of p at `pos`. Also checks sizeOfConnect / sizeOfPublish. */
function encodeOurs(p: ClientPacket, pos = 0): Uint8Array {
  const end = writeOurs(OUT, pos, p);
  expect(end, 'write status').toBeGreaterThan(pos);
  if (p.cmd === 'connect') expect(C.sizeOfConnect(p.o), 'sizeOfConnect').toBe(end - pos);
  if (p.cmd === 'publish') expect(C.sizeOfPublish(ourTopic(p), p.payload, p.qos), 'sizeOfPublish').toBe(end - pos);
  // Again into a buffer that ends with the packet: a PUBLISH with a non-ASCII string then takes its
  // exact-sizing path instead of the one-pass one (encode.ts) and must write the same bytes.
  // One byte less is NO_MEMORY.
  const tight = new Uint8Array(end);
  expect(writeOurs(tight, pos, p), 'write status, exact room').toBe(end);
  expect(toHex(tight, pos, end), 'bytes, exact room').toBe(toHex(OUT, pos, end));
  expect(writeOurs(new Uint8Array(end - 1), pos, p), 'one byte short').toBe(C.NO_MEMORY);
  return OUT.slice(pos, end);
}

/** Our bytes parse in mqtt-packet to p, and equal mqtt-packet's generate() of p. */
function checkEncode(p: ClientPacket, pos: number): void {
  const ours = encodeOurs(p, pos);
  const parsed = parseWithReference([ours]);
  expect(parsed.errors, 'mqtt-packet parse errors').toEqual([]);
  expect(parsed.packets).toStrictEqual([expectedParse(p)]);
  expect(parsed.left, 'bytes left unparsed').toBe(0);
  const ref = mqttPacket.generate(reference(p));
  expect(ours.length, 'length vs generate()').toBe(ref.length);
  expect(toHex(ours), 'bytes vs generate()').toBe(ref.toString('hex'));
  checked++;
}

/** What our decoder must record for a server packet (the `Snap` of test/helpers.ts). */
function expectedSnap(p: Packet): Snap {
  switch (p.cmd) {
    case 'connack':
      return { type: C.CONNACK, returnCode: p.returnCode!, sessionPresent: p.sessionPresent };
    case 'publish': {
      const topic = Buffer.from(p.topic as string, 'utf8');
      return {
        type: C.PUBLISH,
        qos: p.qos,
        dup: p.dup,
        retain: p.retain,
        packetId: p.qos ? p.messageId! : 0,
        topic: topic.toString('hex'),
        topicString: p.topic as string,
        payload: Buffer.from(p.payload as Buffer | string).toString('hex'),
      };
    }
    case 'suback':
      return { type: C.SUBACK, packetId: p.messageId!, codes: p.granted as number[] };
    case 'pingresp':
      return { type: C.PINGRESP };
    default: {
      const type = { puback: C.PUBACK, pubrec: C.PUBREC, pubrel: C.PUBREL, pubcomp: C.PUBCOMP, unsuback: C.UNSUBACK }[p.cmd as string];
      if (type === undefined) throw new Error('not a server packet: ' + p.cmd);
      return { type, packetId: p.messageId! };
    }
  }
}

/** Remaining length of the packet at bytes[at], and its total length (fixed header included). */
function remainingLength(bytes: Uint8Array, at = 0): { rl: number; total: number } {
  let rl = 0;
  let i = at + 1;
  for (let mult = 1; ; mult *= 128) {
    const b = bytes[i++];
    rl += (b & 127) * mult;
    if (b < 128) break;
  }
  return { rl, total: i - at + rl };
}

/**
 * Decodes mqtt-packet's bytes for `ps` (back to back) with ours: whole into a receive buffer large
 * enough to gather anything, and in random splits into one of `bufferSize` bytes (at least a
 * streamed PUBLISH's topic + packet id, the documented limit), where a larger PUBLISH must arrive
 * in fragments. Every packet must come out with the fields it was generated with.
 */
function checkDecode(ps: Packet[], splits: number[], bufferSize: number): void {
  const bytes = new Uint8Array(Buffer.concat(ps.map((p) => mqttPacket.generate(p))));
  const want = ps.map(expectedSnap);
  const awaitingConnack = ps[0].cmd === 'connack';

  const whole = decodeChunks(bytes, () => 1 << 30, { awaitingConnack, bufferSize: 70000 });
  expect(C.statusName(whole.status), 'status, fed whole').toBe('OK');
  expect(whole.consumed).toBe(bytes.length);
  expect(whole.fragments, 'fragments, fed whole into a 70000-byte buffer').toBe(0);
  expect(whole.packets).toStrictEqual(want);

  // A streamed PUBLISH's topic and packet id must fit the buffer (else TOPIC_TOO_LARGE, by design):
  // grow the buffer to the largest such header, exactly, so that edge is hit too.
  for (const s of want) if (s.type === C.PUBLISH) bufferSize = Math.max(bufferSize, 2 + s.topic!.length / 2 + (s.qos ? 2 : 0));
  // Which packets the buffer is too small to gather, so they must arrive in fragments.
  let streamed = 0;
  const wantSplit = want.map((s) => ({ ...s }));
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const { rl, total } = remainingLength(bytes, at);
    if (wantSplit[i].type === C.PUBLISH && rl > bufferSize) {
      wantSplit[i].fragmented = true;
      streamed++;
    }
    at += total;
  }
  const split = decodeChunks(bytes, cycle(splits), { awaitingConnack, bufferSize });
  expect(C.statusName(split.status), `status, split ${JSON.stringify(splits)}, buffer ${bufferSize}`).toBe('OK');
  expect(split.consumed).toBe(bytes.length);
  expect(split.packets).toStrictEqual(wantSplit);
  expect(split.fragments >= streamed, 'fragments').toBe(true);
  if (!streamed) expect(split.fragments).toBe(0);
  checked += ps.length;
}

// ---------------------------------------------------------------------------------------------

describe('encode: our client packets parse in mqtt-packet as sent, and equal its generate() bytes', () => {
  const offsetArb = fc.integer({ min: 0, max: 9 });
  it.each([
    ['CONNECT', connectArb, RUNS.connect],
    ['PUBLISH', publishArb, RUNS.publish],
    ['PUBACK, PUBREC, PUBREL, PUBCOMP', ackArb, RUNS.ack],
    ['SUBSCRIBE', subscribeArb, RUNS.subscribe],
    ['UNSUBSCRIBE', unsubscribeArb, RUNS.unsubscribe],
  ] as const)('%s', (_, arb, numRuns) => {
    fc.assert(
      fc.property(arb, offsetArb, (p, pos) => checkEncode(p, pos)),
      { numRuns },
    );
  });

  it('PINGREQ and DISCONNECT', () => {
    checkEncode({ cmd: 'pingreq' }, 0);
    checkEncode({ cmd: 'disconnect' }, 3);
  });

  it('streams: packets written back to back parse as the same packets, fed in random splits', () => {
    fc.assert(
      fc.property(fc.array(clientPacketArb, { minLength: 1, maxLength: 10 }), splitsArb, (ps, splits) => {
        let pos = 0;
        for (const p of ps) {
          const end = writeOurs(OUT, pos, p);
          expect(end, 'write status').toBeGreaterThan(pos);
          pos = end;
        }
        const bytes = OUT.slice(0, pos);
        const parsed = parseWithReference(chunked(bytes, splits));
        expect(parsed.errors, 'mqtt-packet parse errors').toEqual([]);
        expect(parsed.packets).toStrictEqual(ps.map(expectedParse));
        expect(parsed.left, 'bytes left unparsed').toBe(0);
        expect(toHex(bytes)).toBe(Buffer.concat(ps.map((p) => mqttPacket.generate(reference(p)))).toString('hex'));
        checked += ps.length;
      }),
      { numRuns: RUNS.clientStream },
    );
  });
});

describe('decode: mqtt-packet generate() output decodes with ours to the same fields', () => {
  it.each([
    ['CONNACK', connackArb, RUNS.connack],
    ['PUBLISH', serverPublishArb, RUNS.serverPublish],
    ['PUBACK, PUBREC, PUBREL, PUBCOMP', serverAckArb, RUNS.serverAck],
    ['SUBACK', subackArb, RUNS.suback],
    ['UNSUBACK', unsubackArb, RUNS.unsuback],
  ] as const)('%s, whole and in random splits', (_, arb, numRuns) => {
    fc.assert(
      fc.property(arb, splitsArb, bufferSizeArb, (p, splits, bufferSize) => checkDecode([p], splits, bufferSize)),
      { numRuns },
    );
  });

  it('PINGRESP', () => {
    checkDecode([{ cmd: 'pingresp' }], [1], 16);
  });

  it('streams: CONNACK then packets back to back, in random splits and buffer sizes', () => {
    fc.assert(
      fc.property(connackArb, fc.array(serverPacketArb, { maxLength: 9 }), splitsArb, bufferSizeArb, (ack, ps, splits, bufferSize) =>
        checkDecode([ack, ...ps], splits, bufferSize),
      ),
      { numRuns: RUNS.serverStream },
    );
  });
});

describe('volume', () => {
  it(`checked at least ${MIN_PACKETS} random packets in this run`, () => {
    expect(checked).toBeGreaterThanOrEqual(MIN_PACKETS);
  });
});

// ---------------------------------------------------------------------------------------------
// Mutated server packets: a differential oracle where there is no expected value. mqtt-packet's
// parser reads what a mutation made of valid bytes; where it accepts a packet, our decoder must
// record the same fields, or refuse it by a rule named here, which must hold of that packet.

/** A packet mqtt-packet parsed, with its bytes in the stream. */
interface RefPacket {
  p: Packet & Record<string, unknown>;
  bytes: Uint8Array; // the whole packet, fixed header included
}

/** What our decoder's state was when the packet came. */
interface Context {
  awaitingConnack: boolean;
}

/** The fixed-header flags MQTT 3.1.1 requires for each packet type a client receives [MQTT-2.2.2-1]. */
const FIXED_FLAGS: Record<number, number> = { 2: 0, 4: 0, 5: 0, 6: 2, 7: 0, 9: 0, 11: 0, 13: 0 };
const CLIENT_ONLY = ['connect', 'subscribe', 'unsubscribe', 'pingreq', 'disconnect'];

/** Offset of the variable header: after the type byte and the remaining length's bytes (whatever their form). */
function bodyAt(b: Uint8Array): number {
  let i = 1;
  while (b[i] & 0x80) i++;
  return i + 1;
}

/** UTF-8 as MQTT 3.1.1 requires it [MQTT-1.5.3-1]: well-formed (no surrogates, no overlongs). */
function wellFormedUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** A PUBLISH's topic bytes, from its own bytes. */
function topicOf(r: RefPacket): Uint8Array {
  const at = bodyAt(r.bytes);
  const n = (r.bytes[at] << 8) | r.bytes[at + 1];
  return r.bytes.subarray(at + 2, at + 2 + n);
}

/**
 * The rules by which our client refuses a packet mqtt-packet accepts, keyed by the status we return.
 * Each says when it applies, from the packet's own bytes and fields: a refusal whose rule does not
 * hold of the packet is a failure, as is one with no rule.
 */
const REFUSAL_RULES: Record<number, { rule: string; holds: (r: RefPacket, c: Context) => boolean }> = {
  [C.UNEXPECTED_PACKET]: {
    rule: 'a client refuses what only a server receives: CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT',
    holds: (r) => CLIENT_ONLY.includes(r.p.cmd),
  },
  [C.PACKET_BEFORE_CONNACK]: { rule: 'the first packet from the server is a CONNACK [MQTT-3.2.0-1]', holds: (r, c) => c.awaitingConnack && r.p.cmd !== 'connack' },
  [C.DUPLICATE_CONNACK]: { rule: 'a server sends one CONNACK per connection [MQTT-3.2.0-1]', holds: (r, c) => !c.awaitingConnack && r.p.cmd === 'connack' },
  [C.BAD_FLAGS]: {
    rule: 'fixed-header flags other than the packet type requires are malformed [MQTT-2.2.2-2]',
    holds: (r) => (r.bytes[0] >> 4) in FIXED_FLAGS && (r.bytes[0] & 15) !== FIXED_FLAGS[r.bytes[0] >> 4],
  },
  [C.BAD_CONNACK_FLAGS]: { rule: "CONNACK's reserved flag bits are 0 [MQTT-3.2.2.1]", holds: (r) => r.p.cmd === 'connack' && (r.bytes[bodyAt(r.bytes)] & 0xfe) !== 0 },
  [C.SESSION_PRESENT_ON_ERROR]: {
    rule: 'a refused CONNACK has session present 0 [MQTT-3.2.2-4]',
    holds: (r) => r.p.cmd === 'connack' && r.p.returnCode !== 0 && r.p.sessionPresent === true,
  },
  [C.BAD_RETURN_CODE]: {
    rule: 'CONNACK return codes are 0-5, SUBACK return codes 0, 1, 2, 0x80 [MQTT-3.9.3-2]',
    holds: (r) =>
      (r.p.cmd === 'connack' && (r.p.returnCode as number) > 5) ||
      (r.p.cmd === 'suback' && (r.p.granted as number[]).some((g) => g !== 0 && g !== 1 && g !== 2 && g !== 0x80)),
  },
  [C.BAD_LENGTH]: {
    rule: 'a fixed-size packet has its size (CONNACK, the acks, UNSUBACK: 2; PINGRESP: 0), a SUBACK at least one return code, a PUBLISH room for a topic of a character (and its packet id)',
    holds: (r) => {
      const rl = r.bytes.length - bodyAt(r.bytes);
      const want = { connack: 2, puback: 2, pubrec: 2, pubrel: 2, pubcomp: 2, unsuback: 2, pingresp: 0 }[r.p.cmd as string];
      if (want !== undefined) return rl !== want;
      if (r.p.cmd === 'publish') return rl < 2 + Math.max(1, topicOf(r).length) + (r.p.qos ? 2 : 0);
      return r.p.cmd === 'suback' && rl < 3;
    },
  },
  [C.PACKET_ID_ZERO]: {
    rule: 'a packet identifier is non-zero [MQTT-2.3.1-1]',
    holds: (r) => r.p.messageId === 0 && (r.p.cmd !== 'publish' || (r.p.qos as number) > 0),
  },
  [C.DUP_ON_QOS0]: { rule: 'a QoS 0 PUBLISH has DUP 0 [MQTT-3.3.1-2]', holds: (r) => r.p.cmd === 'publish' && r.p.qos === 0 && r.p.dup === true },
  [C.EMPTY_TOPIC]: { rule: 'a topic name is at least one character [MQTT-4.7.3-1]', holds: (r) => r.p.cmd === 'publish' && topicOf(r).length === 0 },
  [C.WILDCARD_IN_TOPIC]: {
    rule: 'a topic name has no wildcard [MQTT-3.3.2-2]',
    holds: (r) => r.p.cmd === 'publish' && (topicOf(r).includes(0x2b) || topicOf(r).includes(0x23)),
  },
  [C.NULL_IN_STRING]: { rule: 'a string has no U+0000 [MQTT-1.5.3-2]', holds: (r) => r.p.cmd === 'publish' && topicOf(r).includes(0) },
  [C.BAD_UTF8]: { rule: 'a topic name is well-formed UTF-8 [MQTT-1.5.3-1]', holds: (r) => r.p.cmd === 'publish' && !wellFormedUtf8(topicOf(r)) },
  [C.REMAINING_LENGTH_NOT_MINIMAL]: {
    rule: 'the remaining length is in its fewest bytes (case 2)',
    holds: (r) => {
      const at = bodyAt(r.bytes);
      return at > 2 && r.bytes[at - 1] === 0;
    },
  },
};

/** Feeds bytes to mqtt-packet: the packets it accepted before anything it refused, with their bytes. */
function referenceParse(bytes: Uint8Array): { packets: RefPacket[]; error: string } {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: RefPacket[] = [];
  let error = '';
  let at = 0;
  parser.on('packet', (p) => {
    const { total } = remainingLength(bytes, at);
    packets.push({ p: p as RefPacket['p'], bytes: bytes.slice(at, at + total) });
    at += total;
  });
  parser.on('error', (e) => (error ||= e.message));
  parser.parse(Buffer.from(bytes));
  return { packets, error };
}

/** Our record of a packet mqtt-packet accepted, as a Snap (what expectedSnap makes of a generated one). */
function referenceSnap(r: RefPacket): Snap {
  const p = r.p;
  if (p.cmd === 'publish') {
    const s = expectedSnap(p);
    s.topic = toHex(topicOf(r)); // mqtt-packet's string may have lost bytes that are not UTF-8
    s.topicString = C.decodeUtf8(topicOf(r), 0, topicOf(r).length);
    return s;
  }
  return expectedSnap(p);
}

const mutationArb = fc.record({
  op: fc.constantFrom('set', 'flip', 'delete', 'insert', 'truncate'),
  at: fc.nat({ max: 1 << 20 }), // modulo the length: uniform over the bytes (fc.double is biased to 0)
  value: fc.integer({ min: 0, max: 255 }),
});

function mutate(bytes: Uint8Array, ms: Array<{ op: string; at: number; value: number }>): Uint8Array {
  const b = Array.from(bytes);
  for (const m of ms) {
    if (!b.length) break;
    const at = m.at % b.length;
    if (m.op === 'set') b[at] = m.value;
    else if (m.op === 'flip') b[at] ^= 1 << (m.value & 7);
    else if (m.op === 'delete') b.splice(at, 1);
    else if (m.op === 'insert') b.splice(at, 0, m.value);
    else b.length = at;
  }
  return Uint8Array.from(b);
}

describe('mutated server packets: where mqtt-packet accepts one, we decode the same fields or name the rule we refuse it by; we take none it refuses', () => {
  const seen = { compared: 0, refused: new Map<string, number>(), bothRefused: 0 };

  it('random valid streams, 1-3 mutations each', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        connackArb,
        fc.array(
          fc.oneof(
            { weight: 8, arbitrary: serverPacketArb },
            // Valid bytes in the wrong place: what a client sends, a second CONNACK.
            { weight: 1, arbitrary: fc.constantFrom<Packet>({ cmd: 'pingreq' }, { cmd: 'disconnect' }, { cmd: 'connack', returnCode: 0, sessionPresent: false }) },
          ),
          { minLength: 1, maxLength: 3 },
        ),
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        (awaitingConnack, ack, ps, ms) => {
          const valid = new Uint8Array(Buffer.concat((awaitingConnack ? [ack, ...ps] : ps).map((p) => mqttPacket.generate(p))));
          const bytes = mutate(valid, ms);
          const ref = referenceParse(bytes);
          const ours = decodeChunks(bytes, () => 1 << 30, { awaitingConnack, bufferSize: 70000 });
          // Every packet both accepted: the same fields.
          const n = Math.min(ref.packets.length, ours.packets.length);
          for (let i = 0; i < n; i++) expect(ours.packets[i], `packet ${i} of ${toHex(bytes)}`).toStrictEqual(referenceSnap(ref.packets[i]));
          seen.compared += n;
          // The other way, nothing needs naming so far: we take no packet mqtt-packet refuses.
          expect(ours.packets.length, `we took a packet mqtt-packet refused (${ref.error || 'it waits for more'}): ${toHex(bytes)}`).toBeLessThanOrEqual(
            ref.packets.length,
          );
          if (ours.status === 0 || ours.packets.length >= ref.packets.length) {
            if (ours.status !== 0) seen.bothRefused++;
            return;
          }
          // We refused a packet mqtt-packet accepted: by a rule that holds of it.
          const r = ref.packets[ours.packets.length];
          const c: Context = { awaitingConnack: awaitingConnack && ours.packets.length === 0 };
          const rule = REFUSAL_RULES[ours.status];
          const what = `${C.statusName(ours.status)} for ${JSON.stringify(plain(r.p))} (${toHex(r.bytes)}) in ${toHex(bytes)}`;
          expect(rule, `no rule names this refusal: ${what}`).toBeDefined();
          expect(rule.holds(r, c), `"${rule.rule}" does not hold: ${what}`).toBe(true);
          seen.refused.set(rule.rule, (seen.refused.get(rule.rule) ?? 0) + 1);
        },
      ),
      { numRuns: 30_000 },
    );
    if (process.env.FUZZ_STATS) console.log(seen);
    // The oracle is not idle: packets compared, and refusals under many rules.
    expect(seen.compared).toBeGreaterThan(15_000);
    expect(seen.refused.size).toBeGreaterThanOrEqual(8);
  });
});
