// The measuring half of the allocation scripts (codec-alloc.ts, session-alloc.ts, client-alloc.ts,
// node-alloc.ts), each run in its own `node --expose-gc --max-semi-space-size=1` process by
// test/alloc.test.ts.
//
// What it measures is exact, not a heap total with a tolerance: V8 allocates young objects by
// bumping a pointer in new space, and v8.getHeapSpaceStatistics() reports that space's used bytes
// to the byte. Between two full GCs, with no collection in between (a GC observer checks), the
// new-space bytes a loop leaves are exactly the bytes it allocated there. The loop runs at two
// counts (n and 2n): an allocation per operation, or one every 10,000 operations, shows as new-space
// bytes that grow with the count; nothing but the harness's own constant cost is allowed.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

declare const gc: () => void;

/** argv[2] = 'control:K' seeds one small allocation every K operations: the harness must see it. */
export const seedEvery = process.argv[2]?.startsWith('control:') ? Number(process.argv[2].slice(8)) : 0;
let kept: unknown = null;
/** Call once per operation: allocates one 1-byte Uint8Array every `seedEvery` calls (a control run). */
export function seed(i: number): void {
  if (seedEvery && i % seedEvery === 0) kept = new Uint8Array(1); // small, as a careless view would be
}

// Read into preallocated slots: the reading itself must cost the same at every count.
const young = new Float64Array(2);
const other = new Float64Array(2);
function sample(k: number): void {
  const spaces = getHeapSpaceStatistics();
  let y = 0;
  let o = 0;
  for (let i = 0; i < spaces.length; i++) {
    if (spaces[i].space_name === 'new_space') y += spaces[i].space_used_size;
    else o += spaces[i].space_used_size;
  }
  young[k] = y;
  other[k] = o;
}

export interface Measurement {
  n: number;
  /** New-space bytes left by n and 2n operations, less those left by 0 (the harness's own). */
  young: number;
  young2: number;
  /** The same in the other spaces (old, code, large objects: pretenured or large allocations), noisy by a page. */
  other: number;
  other2: number;
  /** Collections during the measured loops: any means something allocated (the young space is 1 MB). */
  gcs: number;
  seedEvery: number;
}

/**
 * Warms `iteration` up, then runs it 0, n and 2n times between full GCs while a GC observer
 * watches, and prints one JSON line: a Measurement and `extra()`. `iteration` must call seed(i).
 */
export function measureAllocation(iteration: (i: number) => void, n: number, extra: () => Record<string, unknown>): void {
  // The measured loop is a function warmed up like the rest: otherwise V8 compiles the loop itself
  // (on-stack replacement) during the measurement, a one-time ~170 KB of code that is not ours.
  const loop = (count: number): void => {
    for (let i = 0; i < count; i++) iteration(i);
  };
  for (let k = 0; k < 20; k++) loop(10_000); // warm-up: let the JIT settle

  let gcs = 0;
  let t0 = 0;
  let t1 = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime >= t0 && e.startTime <= t1) gcs++;
  });
  obs.observe({ entryTypes: ['gc'] });
  const measure = (count: number): [number, number] => {
    gc();
    gc();
    sample(0);
    t0 = performance.now();
    loop(count);
    t1 = performance.now();
    sample(1);
    return [young[1] - young[0], other[1] - other[0]];
  };
  for (let k = 0; k < 3; k++) measure(k * 1000); // the measuring code warmed up too
  const base = measure(0); // what measuring itself costs (timestamps, the statistics' objects)
  const a = measure(n);
  const b = measure(2 * n);
  setTimeout(() => {
    obs.disconnect(); // GC entries arrive asynchronously: read them after a turn
    const m: Measurement = { n, young: a[0] - base[0], young2: b[0] - base[0], other: a[1] - base[1], other2: b[1] - base[1], gcs, seedEvery };
    console.log(JSON.stringify({ ...m, kept: seedEvery === 0 || kept !== null, ...extra() }));
  }, 50);
}
