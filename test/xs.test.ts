// The codec under the real XS engine (Moddable's, as built by @agoric/xsnap from its C sources):
// the fixture table of codec.test.ts run inside plain `xsnap`, and heap slots counted by
// `xsnap-worker` to show which steady-state paths allocate nothing in XS. The first run compiles
// XS (about 25 s on 2 cores); the binaries are cached in tools/.cache/xsnap/<version>/.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs tools without declarations
import { buildXsnap } from '../tools/xs/build-xsnap.mjs';
// @ts-expect-error plain .mjs tools without declarations
import { bundleForXs, runXs } from '../tools/xs/run.mjs';
// @ts-expect-error plain .mjs tools without declarations
import { startWorker } from '../tools/xs/worker.mjs';
// @ts-expect-error plain .mjs tools without declarations
import { footprint } from '../tools/xs/footprint.mjs';
// @ts-expect-error plain .mjs tools without declarations
import { bundleWithStandIns } from '../tools/xs/device.mjs';

const BUILD_TIMEOUT = 600_000;

/** Runs an entry of tools/xs/entries/ in xsnap and returns its XS-RESULT line, parsed. */
async function xsResult(entry: string): Promise<Record<string, any>> {
  const r = await runXs(await bundleForXs(entry));
  expect(r.code, r.stderr).toBe(0);
  const line = r.stdout.trim().split('\n').pop()!;
  expect(line.startsWith('XS-RESULT '), r.stdout).toBe(true);
  const res = JSON.parse(line.slice('XS-RESULT '.length));
  expect(res.failures).toEqual([]);
  expect(res.fail).toBe(0);
  return res;
}

beforeAll(async () => {
  await buildXsnap();
}, BUILD_TIMEOUT);

describe('XS: the codec runs in xsnap', () => {
  it('encodes a PUBLISH and decodes it back', async () => {
    const r = await runXs(await bundleForXs('tools/xs/entries/smoke.ts'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('decoded EV_PACKET type 3 qos 1 id 42 topic devices/d1/telemetry payload {"t":21.5} consumed 36');
  });

  it('passes every case of the fixture table (decode whole, byte by byte, random splits; encode; round trips)', async () => {
    const res = await xsResult('tools/xs/entries/fixtures.ts');
    expect(res.decodeCases).toBeGreaterThan(50);
    expect(res.encodeCases).toBeGreaterThan(10);
    // 3 feedings per decode case, at least 3 checks per encode case: it cannot pass vacuously.
    expect(res.pass).toBeGreaterThanOrEqual(3 * res.decodeCases + 3 * res.encodeCases);
  });
});

describe('XS: the session runs in xsnap', () => {
  it('passes every session transcript (whole, byte by byte, random splits), case 39 and the random mix', async () => {
    const res = await xsResult('tools/xs/entries/transcripts.ts');
    expect(res.transcripts).toBeGreaterThan(25);
    expect(res.pass).toBe(3 * res.transcripts + 2); // every feeding of every transcript, case 39, the mix
    expect(res.accepted).toBeGreaterThan(500);
  });
});

describe('XS: heap slots allocated per iteration (xsnap-worker currentHeapCount)', () => {
  let worker: Awaited<ReturnType<typeof startWorker>>;
  beforeAll(async () => {
    worker = await startWorker();
    await worker.evaluate(readFileSync(await bundleForXs('tools/xs/entries/alloc.ts'), 'utf8'));
  }, BUILD_TIMEOUT);
  afterAll(async () => {
    await worker?.close();
  });

  // XS counts each slot it takes and resets the count only when it collects. After gc(), running a
  // workload 1,000 and 2,000 times (same script text, same length) differs only by the slots the
  // extra 1,000 iterations took; constant costs (the script itself, a loop scope) cancel out. The
  // worker also keeps about 1 slot per evaluation, so the 2,000 run is compared with the mean of a
  // 1,000 run before and after it.
  async function slotsPerIteration(name: string): Promise<number> {
    const count = async (n: number) => (await worker.evaluate(`gc(); xsAlloc.run(${JSON.stringify(name)}, ${n})`)).currentHeapCount as number;
    await count(1000); // warm up
    const before = await count(1000);
    const twice = await count(2000);
    const after = await count(1000);
    return (twice - (before + after) / 2) / 1000;
  }

  it('the harness sees an allocation: one Uint8Array(1) per iteration (control)', async () => {
    expect(await slotsPerIteration('control')).toBeGreaterThanOrEqual(1);
  });

  it('decoding PUBLISH QoS 0/1, PUBACK, PINGRESP (whole and in 5-byte chunks) allocates nothing', async () => {
    expect(await slotsPerIteration('decode')).toBe(0);
  });

  it('encoding PUBACK and PINGREQ allocates nothing', async () => {
    expect(await slotsPerIteration('acks')).toBe(0);
  });

  it('encoding PUBLISH with a binary topic and payload allocates nothing', async () => {
    expect(await slotsPerIteration('publishBinary')).toBe(0);
  });

  // XS-specific: reading `s.length` / `s.charCodeAt(i)` boxes the primitive string (mxToInstance
  // in xsRun.c: a String instance, 2 slots) on every access. The control: 21 length reads + 20
  // charCodeAt calls on a 20-character string. The encoder reads a string through a box made once
  // instead (src/codec/utf8.ts). (Calling String.prototype's natives with the string as `this`,
  // `charCodeAt.call(s, i)`, allocates nothing in this XS, but 3 slots a call in the Moddable SDK's
  // XS, measured in its simulator: test/moddable.test.ts budgets what the device pays.)
  it('reading a string property allocates in XS: 2 slots per access (control)', async () => {
    expect(await slotsPerIteration('stringRead')).toBe(82);
  });
  it('reading a string through a box made once (Object(s)) allocates the box only: 2 slots, whatever its length', async () => {
    expect(await slotsPerIteration('stringReadBox')).toBe(2);
  });
  it('a connected session publishing QoS 0 + QoS 1 with its PUBACK (topics as bytes) allocates nothing over 1,000 publishes', async () => {
    expect(await slotsPerIteration('sessionPublish')).toBe(0);
    await worker.evaluate('if (!xsAlloc.sessionOk()) throw new Error("session not in steady state")');
  });

  it('a connected session receiving and dispatching QoS 0 + QoS 1 (with our PUBACK) allocates nothing over 1,000 receives', async () => {
    expect(await slotsPerIteration('sessionReceive')).toBe(0);
    await worker.evaluate('if (!xsAlloc.sessionOk() || !(xsAlloc.sessionDispatched() > 0)) throw new Error("nothing dispatched")');
  });

  // With strings, the topics are cached as bytes by the client; each string payload is boxed once by
  // the session (2 slots): 4 slots for the two publishes, whatever the payloads' length.
  it.each([
    ['topics and payloads as bytes', false, 0],
    ['topics and payloads as strings: one box a string payload', true, 4],
  ])('the whole device path allocates nothing beyond that (%s): Client on the Moddable host over an lwIP-like socket, 1,000 × (publish QoS 0 + QoS 1, PUBACK in; receive QoS 1 + QoS 0, dispatch, PUBACK out; one more no handler matches, to onMessage)', async (_name, strings, slots) => {
    const bundle = await bundleWithStandIns('tools/xs/device/alloc.ts', 'tools/.cache/xs/device-alloc.js', { 'embedded:io/socket/tcp': 'tcp-memory.ts' });
    const device = await startWorker();
    try {
      await device.evaluate(readFileSync(bundle, 'utf8'));
      const count = async (n: number) => (await device.evaluate(`gc(); xsDeviceAlloc.run(${n}, ${strings})`)).currentHeapCount as number;
      await count(1000);
      const before = await count(1000);
      const twice = await count(2000);
      const after = await count(1000);
      expect((twice - (before + after) / 2) / 1000).toBe(slots);
      await device.evaluate('if (!xsDeviceAlloc.ok()) throw new Error("the device path did not run: offline, nothing published or dispatched")');
    } finally {
      await device.close();
    }
  });

  // Five strings given to session.publish (three topics, two payloads), each boxed once: 2 slots each.
  it('a connected session publishing QoS 0 + QoS 1 + QoS 2 with string topics (and string payloads) allocates one box a string over 1,000 publishes', async () => {
    expect(await slotsPerIteration('sessionPublishStrings')).toBe(10);
    await worker.evaluate('if (!xsAlloc.sessionOk()) throw new Error("session not in steady state")');
  });

  // writePublish called directly boxes a string at each read (its length, then its characters): 2
  // boxes a string, 3 strings. (The session boxes once for it; bytes cost nothing.)
  it('encoding PUBLISH with string topics and payloads allocates two boxes a string', async () => {
    expect(await slotsPerIteration('publish')).toBe(12);
  });
});

describe('XS: footprint (tools/xs/footprint.mjs, the README\'s device figures)', () => {
  it('measures flash and RAM, and one client with the device app\'s options fits an ESP8266 (≤ 12 KB)', async () => {
    const f = await footprint();
    // The buffers are the options' sizes (rx 512, tx 512, outbox 2048, receive queue 2048) and a few
    // small tables: the walk found them all.
    expect(f.ram.buffers).toBeGreaterThanOrEqual(512 + 512 + 2048 + 2048);
    expect(f.ram.buffers).toBeLessThan(512 + 512 + 2048 + 2048 + 1024);
    expect(f.ram.slots).toBeGreaterThan(50); // the client, session, decoder, message, maps, closures
    expect(f.ram.total32).toBeLessThanOrEqual(12 * 1024);
    expect(f.flash.client.slots).toBeGreaterThan(0);
    expect(f.flash.client.chunks).toBeGreaterThan(0);
    expect(f.flash.library.device).toBeGreaterThan(f.flash.client.device);
  });
});

describe('XS: npm run bench:xs', () => {
  it('times every loop in XS and on V8 from one bundle, with heap slots per iteration', async () => {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(process.execPath, ['tools/bench-xs.mjs', '--iterations', '300', '--json'], { encoding: 'utf8', timeout: 120_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.rows.length).toBe(8);
    for (const row of r.rows) {
      expect(row.xsPacketsPerSec, row.name).toBeGreaterThan(0);
      expect(row.v8PacketsPerSec, row.name).toBeGreaterThan(0);
      // Allocation is exact in XS (slots, not time): no path takes any but the boxes strings are read
      // through (above: 12 for the encoder given strings, 10 for the session given five).
      expect(row.xsSlotsPerIteration, row.name).toBe(/string topics/.test(row.name) ? (/^session/.test(row.name) ? 10 : 12) : 0);
    }
  });
});
