// What the device pays (npm run size), measured with the real Moddable toolchain: seven apps built
// with mcconfig and run in the simulator (tools/moddable/size.mjs): the linked archive, bytecode,
// preloaded slots and the RAM of one connected client, for xs-mqtt over plain TCP and with TLS,
// beside Moddable's own two clients. test/moddable.test.ts enforces the budget.
// Without $MODDABLE it says how to get the SDK and prints the minified bytes of the device bundle
// only, for information: minified source is not what a device pays, and it carries no budget (the
// old minified budgets of #2 and #5 are retired by #10).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { BUDGET, measureDevice, ramByPart, useCosts } from './moddable/size.mjs';
import { deviceNames, formatBreakdown, libraryBreakdown } from './moddable/heap.mjs';
import { HOW_TO_GET_THE_SDK, ensureBuilt, sdk } from './moddable/sim.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Minified bytes of the device's modules ("xs-mqtt" and "xs-mqtt/moddable"), file by file. */
export async function minified() {
  const r = await build({
    stdin: { contents: `export * from './src/device.ts'; export { ModdableHost } from './hosts/moddable/index.ts';`, resolveDir: root, loader: 'ts', sourcefile: 'device-entry.ts' },
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
  const inputs = Object.entries(Object.values(r.metafile.outputs)[0].inputs)
    .map(([file, v]) => ({ file, bytes: v.bytesInOutput }))
    .filter((f) => f.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  return { minified: code.length, gzip: gzipSync(code, { level: 9 }).length, inputs };
}

const kb = (n) => (n / 1024).toFixed(1) + ' KB';

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const m = await minified();
  if (!sdk()) {
    console.log(HOW_TO_GET_THE_SDK);
    console.log(`device bundle (information only, no budget): ${m.minified} B minified, ${m.gzip} B gzip`);
    process.exit(0);
  }
  ensureBuilt();
  const { apps, growth } = await measureDevice({ log: (s) => process.stderr.write(s + '\n') });
  const base = apps.baseline;
  console.log(`\nModdable SDK ${process.env.MODDABLE}, mcconfig -m -p lin -i (64-bit: a slot is 32 B here, 16 B on an ESP32)`);
  console.log(`baseline app (same manifests, no client): archive ${base.archive} B, bytecode ${base.xsb} B, ${base.slots} preloaded slots\n`);
  console.log('| client | archive growth | .xsb bytecode | preloaded slots | keys | RAM of one connected client (slots + chunks) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  const names = { plain: 'xs-mqtt, plain TCP', tls: 'xs-mqtt with TLS linked', ecma419: "Moddable's ECMA-419 client (anchor)", mqtt: "Moddable's mqtt module (anchor)", xs419: "xs-mqtt's ECMA-419 class (manifest_mqttclient.json)" };
  for (const [k, g] of Object.entries(growth)) {
    console.log(`| ${names[k]} | ${g.archive} B | ${g.xsb} B | +${g.slots} | +${g.keys} | ${g.ram} B (${g.ramSlots} + ${g.ramChunks}) |`);
  }
  const p = growth.plain;
  console.log(`\nbudget: xs-mqtt over plain TCP adds at most ${BUDGET.archive} B to the archive: ${p.archive} B, ${p.archive <= BUDGET.archive ? 'within' : 'OVER'}`);
  console.log(`target (#10): ${BUDGET.target} B (Moddable's mqtt module ${growth.mqtt.archive} B; 1.75 × its ECMA-419 client ${Math.round(1.75 * growth.ecma419.archive)} B): ${p.archive <= BUDGET.target ? 'met' : 'not met, ' + kb(p.archive - BUDGET.target) + ' to go'}`);
  const e = growth.xs419;
  if (e) console.log(`budget: xs-mqtt's ECMA-419 class over plain TCP adds at most ${BUDGET.xs419} B: ${e.archive} B, ${e.archive <= BUDGET.xs419 ? 'within' : 'OVER'}; the #10 target ${e.archive <= BUDGET.target ? 'met' : 'not met'} by this class`);
  const steps = apps.plain.ram.steps ?? [];
  if (steps.length) {
    console.log('\nRAM of the plain client, step by step (slots + chunks after a collection; the buffers are the app\'s: rx 512, tx 512, outbox 2,048, receive queue 2,048 B):');
    for (const x of steps) console.log(`  ${String(x.slots + x.chunks).padStart(6)} B (${x.slots} + ${x.chunks})  ${x.name}`);
  }
  const inv = apps.inventory?.ram;
  if (inv) {
    // The same client again (size/inventory), each object it holds priced by XS's layout (size/list).
    const total = inv.slots + inv.chunks;
    const parts = ramByPart(inv.objects, await deviceNames(root));
    const walked = parts.reduce((n, p) => n + p.bytes, 0);
    console.log(`\nRAM of the plain client, object by object (size/inventory: the same client, ${total} B measured; each object it holds priced by XS's layout, lin):`);
    for (const p of parts) {
      console.log(`  ${String(p.bytes).padStart(6)} B  ${p.part}`);
      for (const o of p.objects) console.log(`  ${String(o.bytes).padStart(14)} B  ${o.path}: ${o.kind}`);
    }
    console.log(`  ${String(total - walked).padStart(6)} B  measured and not walked: the net of what pricing by layout misses (closures' environments, their code's RAM copies, what host objects hold natively) and overcounts`);
    // What use adds to that client (size/inventory/main.js): a cached string topic, a subscription.
    const use = useCosts(inv.use);
    if (use) {
      console.log('\nRAM that use adds (size/inventory, after the listing; slots + chunks after a collection):');
      console.log(`  ${String(use.topic).padStart(6)} B  a string topic published (10 characters): the client caches its bytes (4 topics at most)`);
      console.log(`  ${String(use.subscription).padStart(6)} B  a subscription (a 10-character filter) with its handler, once its SUBACK has come`);
    }
  }
  const tlsIn = Object.keys(apps.plain.xsbFiles).filter((f) => /^ssl\/|tls/.test(f));
  console.log(`TLS in the plain app: ${tlsIn.length ? tlsIn.join(', ') : 'none'}`);
  console.log('\nwhere the plain client\'s bytecode is (.xsb):');
  for (const [f, n] of p.modules) console.log(`  ${f}: ${n} B`);
  // Function by function: the preloaded heap xsl wrote for the plain app (tools/moddable/heap.mjs).
  console.log('');
  const heap = await libraryBreakdown(apps.plain.heap, root);
  for (const line of formatBreakdown(heap, { top: process.argv.includes('--all') ? Infinity : 30 })) console.log(line);
  console.log(`  (+${p.keys} keys: the new property and variable names, a slot and their characters each)`);
  if (process.argv.includes('--check') && (p.archive > BUDGET.archive || (e && e.archive > BUDGET.xs419))) process.exit(1);
}
