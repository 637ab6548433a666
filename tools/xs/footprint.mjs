// The library's flash and RAM in XS (xsnap, XS 13.3 from @agoric/xsnap), for the README's device
// guide and test/xs.test.ts:
// - flash: how much an XS snapshot grows when the library is loaded. A snapshot holds the compiled
//   byte code and the objects the module creates (functions, prototypes, strings), which is what a
//   Moddable build preloads into flash. Measured for the whole library (src/index.ts) and for what
//   the device app takes (Client, with the session and codec).
// - RAM: one Client made with the device app's options: live heap slots after gc() (16 bytes each
//   on a 32-bit MCU such as the ESP32, 32 on this 64-bit host) plus the bytes of its buffers.
//   node tools/xs/footprint.mjs [--json]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildXsnap } from './build-xsnap.mjs';
import { bundleForXs } from './run.mjs';
import { startWorker } from './worker.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, 'tools/.cache/xs/footprint');

/** Bytes the snapshot of an xsnap machine gains by running `script` (over an empty script). */
function snapshotGrowth(xsnap, script) {
  const empty = join(dir, 'empty.js');
  writeFileSync(empty, '');
  const size = (file) => {
    const snap = file + '.xss';
    execFileSync(xsnap, ['-w', snap, '-s', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    return statSync(snap).size;
  };
  return size(script) - size(empty);
}

export async function footprint() {
  mkdirSync(dir, { recursive: true });
  const { xsnap } = await buildXsnap();
  const entry = join(dir, 'library.ts');
  writeFileSync(entry, "import * as lib from '../../../../src/index.ts';\n(globalThis as any).lib = lib;\n");
  const libraryScript = await bundleForXs(entry, join(dir, 'library.js'));
  const clientScript = await bundleForXs('tools/xs/entries/footprint.ts', join(dir, 'client.js'));
  const flash = {};
  for (const [name, script] of [['library', libraryScript], ['client', clientScript]]) {
    const growth = snapshotGrowth(xsnap, script);
    const slots = await slotsToLoad(script);
    const chunks = growth - slots * 32; // the rest: byte code, strings (chunks)
    flash[name] = { growth, slots, chunks, device: slots * 16 + chunks };
  }

  const worker = await startWorker();
  try {
    await worker.evaluate(readFileSync(clientScript, 'utf8'));
    const count = async (code) => (await worker.evaluate(`gc(); ${code}`)).currentHeapCount;
    const base = (await count('1')) ;
    const one = await count('xsFootprint.make()');
    const two = await count('xsFootprint.make()');
    const slots = two - one; // the second client: no one-time costs (shapes, inline caches)
    const firstSlots = one - base;
    const buffers = await evaluateNumber(worker, 'xsFootprint.buffers()');
    return {
      xs: '13.3.0 (@agoric/xsnap 0.15.0)',
      flash,
      ram: { slots, firstSlots, slotBytes32: slots * 16, buffers, total32: slots * 16 + buffers },
    };
  } finally {
    await worker.close();
  }
}

/** Heap slots that loading `script` leaves live (after gc()): the objects it made. */
async function slotsToLoad(script) {
  const worker = await startWorker();
  try {
    await worker.evaluate('gc()');
    const before = (await worker.evaluate('gc()')).currentHeapCount;
    await worker.evaluate(readFileSync(script, 'utf8'));
    return (await worker.evaluate('gc()')).currentHeapCount - before;
  } finally {
    await worker.close();
  }
}

/** A number out of the worker: evaluated into the heap count's variation is not possible, so it is printed. */
async function evaluateNumber(worker, expr) {
  const before = worker.stdout.length;
  await worker.evaluate(`print('#N ' + (${expr}))`);
  // print() goes to the worker's stdout, a pipe of its own: the line may come after the reply.
  for (let i = 0; i < 200; i++) {
    const m = /#N (\S+)\n/.exec(worker.stdout.slice(before));
    if (m) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('no answer from xsnap-worker for ' + expr);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const f = await footprint();
  if (process.argv.includes('--json')) console.log(JSON.stringify(f));
  else {
    console.log(`XS ${f.xs}`);
    for (const [name, x] of Object.entries(f.flash)) {
      console.log(`flash, ${name === 'library' ? 'whole library' : 'Client + session + codec'}: snapshot +${x.growth} B here = ${x.slots} slots × 32 B + ${x.chunks} B of byte code and strings; on a 32-bit MCU ≈ ${x.device} B`);
    }
    console.log(`RAM per client (device app options): ${f.ram.slots} heap slots (${f.ram.slotBytes32} B at 16 B/slot on a 32-bit MCU) + ${f.ram.buffers} B of buffers = ${f.ram.total32} B; the first client also takes ${f.ram.firstSlots - f.ram.slots} one-time slots`);
  }
}
