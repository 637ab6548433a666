// `npm run bench:xs`: the codec and session under XS (xsnap, XS 13.3 built from @agoric/xsnap's C
// sources) beside the very same bundle on V8 (this Node), and the heap slots each iteration takes in
// XS (xsnap-worker). xsnap is a desktop build of XS, not an MCU: its packets/s say how XS compares to
// V8 on one machine, not what an ESP32 does.
//   node tools/bench-xs.mjs [--iterations N] [--json]
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import vm from 'node:vm';
import { parseArgs } from 'node:util';
import { bundleForXs, runXs } from './xs/run.mjs';
import { startWorker } from './xs/worker.mjs';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '20000' }, json: { type: 'boolean', default: false } } });
const N = Number(values.iterations);
const ROUNDS = 5;

const bundle = await bundleForXs('tools/xs/entries/bench.ts');
const code = readFileSync(bundle, 'utf8');

// The driver: for each workload, warm up, then the best of ROUNDS timed runs of N iterations.
const driver = `
  const out = {};
  for (const name of xsBench.names) {
    xsBench.run(name, ${Math.max(1000, N >> 2)});
    let best = Infinity;
    for (let r = 0; r < ${ROUNDS}; r++) best = Math.min(best, xsBench.run(name, ${N}));
    out[name] = best;
  }
  print('BENCH ' + JSON.stringify(out));
`;

// XS: the bundle and the driver in one script.
const xsFile = bundle.replace(/\.js$/, '-run.js');
writeFileSync(xsFile, code + '\n' + driver);
const xs = await runXs(xsFile, { timeoutMs: 600_000 });
const xsLine = xs.stdout.split('\n').find((l) => l.startsWith('BENCH '));
if (!xsLine) throw new Error('xsnap gave no result:\n' + xs.stdout + xs.stderr);
const xsMs = JSON.parse(xsLine.slice(6));

// V8: the same text in a fresh context of this process, with print() and performance.
let v8Line = '';
const ctx = vm.createContext({ print: (s) => (v8Line = String(s)), performance, TextEncoder, TextDecoder });
vm.runInContext(code + '\n' + driver, ctx);
const v8Ms = JSON.parse(v8Line.slice(6));

// Heap slots per iteration in XS, as test/xs.test.ts measures them.
const worker = await startWorker();
const slots = {};
try {
  await worker.evaluate(code);
  const count = async (name, n) => (await worker.evaluate(`gc(); xsBench.run(${JSON.stringify(name)}, ${n})`)).currentHeapCount;
  for (const name of Object.keys(xsMs)) {
    await count(name, 1000);
    const before = await count(name, 1000);
    const twice = await count(name, 2000);
    const after = await count(name, 1000);
    slots[name] = (twice - (before + after) / 2) / 1000;
  }
} finally {
  await worker.close();
}

const rows = Object.keys(xsMs).map((name) => {
  const p = ctx.xsBench.packets(name);
  const xsRate = (N * p) / (xsMs[name] / 1000);
  const v8Rate = (N * p) / (v8Ms[name] / 1000);
  return { name, xsPacketsPerSec: Math.round(xsRate), v8PacketsPerSec: Math.round(v8Rate), v8OverXs: v8Rate / xsRate, xsSlotsPerIteration: slots[name] };
});

const fmt = (n) => (n >= 1e6 ? (n / 1e6).toFixed(2) + ' M' : n >= 1e3 ? (n / 1e3).toFixed(1) + ' k' : String(n));
if (values.json) console.log(JSON.stringify({ iterations: N, rows }));
else {
  console.log(`bench:xs — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model?.trim()} × ${cpus().length}, Node ${process.version}, XS 13.3.0 (xsnap, release build); best of ${ROUNDS} × ${N} iterations`);
  console.log('| loop | XS packets/s | V8 packets/s | V8 ÷ XS | XS heap slots / iteration |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.name} | ${fmt(r.xsPacketsPerSec)} | ${fmt(r.v8PacketsPerSec)} | ${r.v8OverXs.toFixed(1)} | ${r.xsSlotsPerIteration} |`);
}
