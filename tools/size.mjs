// Size budget: bundles each part of the library with esbuild (--minify, ESM, private members
// mangled as in the build) and prints minified and gzip bytes. `--check` exits 1 over budget;
// test/size.test.ts calls measure() and asserts the budgets.
// What is measured is the code an app carries: the part's exported functions and classes. The
// numeric constants are left out of the export list because a bundler inlines them into the
// app (esbuild does), so they cost an app nothing.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export const parts = {
  codec: {
    // Issue #2 asked for 4096 B minified. The codec with every check of protocol-cases 1–40,
    // payload streaming and UTF-8 validation measured ~5.8 KB; this budget is a ratchet at what it
    // is, so it can only shrink. Raised once, from 6144 to 6400 B (2026-11-22), for the one-pass
    // PUBLISH encoder: +~350 B of flash for a 3× faster publish (tools/bench-codec.mjs). Lowered to
    // 6300 B (2026-11-22) when it measured 6243 B (shared throw helpers, `declare`d fields).
    // `target` is printed so the gap to the issue's figure stays visible.
    // Raised to 6380 B (2026-12-01) for string reads that allocate nothing in XS (src/codec/utf8.ts:
    // String.prototype's natives there, `s.charCodeAt` on V8): +130 B.
    budget: { minified: 6380 },
    target: { minified: 4096 },
    source: `export { Decoder, writeConnect, sizeOfConnect, writePublish, sizeOfPublish, writeAck, writeSubscribe,
      writeUnsubscribe, writePingreq, writeDisconnect, utf8, checkUtf8 } from './src/codec/index.ts';`,
  },
  // Printed for information: the device part below carries the budget.
  session: {
    budget: {},
    source: `export { Session } from './src/session/session.ts';`,
  },
  client: {
    budget: {},
    source: `export { Client, Message } from './src/client.ts';`,
  },
  // What a device carries: codec + session + client + the Moddable host (ECMA-419 sockets, DNS, timer).
  // Issue #5 asks for 8 KB minified / 3 KB gzip (the target, printed). It measured 22,420 / 8,940 B
  // when first measured (2026-11-22), then 20,918 / 8,581 B after a size pass the same day that kept
  // every behaviour and check; the budget is a ratchet just above that, so it can only shrink. Raised
  // once, to 22,400 / 9,150 B (the same day), for flow control (no connection lost to a burst), a
  // Moddable host that allocates nothing per packet (views made once, one reusable defer timer), a
  // SUBSCRIBE with a bad filter no longer leaking its packet id, and a throwing handler no longer
  // losing the rest of its chunk and its PUBACKs.
  // Minified bytes are a proxy: what a device carries is XS byte code and snapshot slots, so check a
  // size change with tools/xs/footprint.mjs too. Under XS a function, a closure or a new property
  // name costs flash that minifying hides: generating Message's getters in a loop minified 237 B
  // shorter and cost 1.3 KB more flash, and was taken back.
  device: {
    // Raised to 22,460 / 9,185 B (2026-12-01), +134 / +55 B, for the same XS string reads (publishing
    // with string topics and payloads now allocates nothing in XS). Then to 22,450 / 9,195 B the same
    // day: stop() from a handler ending the dispatch and onDisconnect's reason cost +26 / +14 B, a
    // shorter IPv4 pattern in the Moddable host gave back 26 B minified (gzip kept 5 B of it).
    // Lowered to 22,400 / 9,175 B (measured 22,389 / 9,168) when the host's three fallback reasons
    // became one: the platform's own message is what onClose reports anyway.
    // Raised to 22,520 / 9,220 B (2026-12-06), +120 / +45 B, for decodeUtf8 (Message.text, topic)
    // staying inside its range and decoding ill-formed bytes to U+FFFD as TextDecoder does (issue 11.6).
    // Raised to 23,620 / 9,640 B (2026-12-06), +1,100 / +420 B, for the client API of issue 11: a
    // subscribe()/unsubscribe() of several filters in one packet with each SUBACK code and UNSUBACK
    // reported (onSubscribed, onUnsubscribed), a filter subscribed again replacing its handler, the
    // catch-all onMessage, Message.packetId, stop() that start() can resume, end(timeoutMs) with
    // onEnd(left), every connection attempt's end reported once, and a TypeError for a subscribe()
    // without a handler (it would have passed for an unsubscribe). (XS flash, tools/xs/footprint.mjs:
    // Client + session + codec +2.1 KB on a 32-bit MCU, with decodeUtf8 above.)
    budget: { minified: 23620, gzip: 9640 },
    target: { minified: 8192, gzip: 3072 },
    source: `export { Client, Message, topicBytes, statusName } from './src/index.ts'; export { ModdableHost } from './hosts/moddable/index.ts';`,
  },
};

/** Moddable's own MQTT clients, measured by issue #5 the same way: anchors, printed beside ours. */
export const anchors = [
  { name: "Moddable's modules/network/mqtt", minified: 9.0 * 1024, gzip: 2.9 * 1024 },
  { name: "Moddable's ECMA-419 MQTT client", minified: 9.1 * 1024, gzip: 3.2 * 1024 },
];

export async function measure(name) {
  const r = await build({
    stdin: { contents: parts[name].source, resolveDir: root, loader: 'ts', sourcefile: `${name}-entry.ts` },
    bundle: true,
    minify: true,
    mangleProps: /^_/,
    format: 'esm',
    target: 'es2022',
    write: false,
    external: ['embedded:*', 'timer', 'time'],
    logLevel: 'error',
    legalComments: 'none',
    metafile: true,
  });
  const code = r.outputFiles[0].contents;
  // Minified bytes each source file contributes, largest first (esbuild's accounting).
  const inputs = Object.entries(Object.values(r.metafile.outputs)[0].inputs)
    .map(([file, v]) => ({ file, bytes: v.bytesInOutput }))
    .filter((f) => f.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  return { name, minified: code.length, gzip: gzipSync(code, { level: 9 }).length, budget: parts[name].budget, code: r.outputFiles[0].text, inputs };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let over = false;
  console.log('| part | minified | gzip | budget |');
  console.log('| --- | ---: | ---: | --- |');
  for (const name of Object.keys(parts)) {
    const m = await measure(name);
    const b = m.budget;
    const fails = (b.minified && m.minified > b.minified) || (b.gzip && m.gzip > b.gzip);
    over ||= fails;
    const budget = [b.minified && `≤ ${b.minified} B minified`, b.gzip && `≤ ${b.gzip} B gzip`].filter(Boolean).join(', ') || '—';
    const t = parts[name].target;
    const met = t && m.minified <= t.minified && (!t.gzip || m.gzip <= t.gzip);
    const target = t ? `; target ${t.minified} B${t.gzip ? ` / ${t.gzip} B gzip` : ''}: ${met ? 'met' : 'not met'}` : '';
    console.log(`| ${name} | ${m.minified} B | ${m.gzip} B | ${budget}${fails ? ' — OVER' : ''}${target} |`);
  }
  for (const a of anchors) console.log(`| ${a.name} (anchor) | ${Math.round(a.minified)} B | ${Math.round(a.gzip)} B | — |`);
  // Where the device's bytes go: the gap to the target, file by file.
  const device = await measure('device');
  console.log('\n| device bundle: file | minified | share |');
  console.log('| --- | ---: | ---: |');
  for (const f of device.inputs) console.log(`| ${f.file} | ${f.bytes} B | ${Math.round((100 * f.bytes) / device.minified)} % |`);
  if (process.argv.includes('--check') && over) process.exit(1);
}
