// The measuring half of the allocation scripts (codec-alloc.ts, session-alloc.ts), run in their own
// `node --expose-gc --max-semi-space-size=1` process by test/alloc.test.ts.
import { PerformanceObserver, performance } from 'node:perf_hooks';

declare const gc: () => void;

/**
 * Warms `iteration` up, then runs it `n` times between full GCs while a GC observer watches, and
 * prints one JSON line: { n, delta, harness, gcs, perIteration, ...extra() }.
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
  /** Heap bytes (JS heap + array buffers) that loop(count) leaves behind, measured after a full GC. */
  const measure = (count: number): number => {
    gc();
    gc();
    const m0 = process.memoryUsage();
    t0 = performance.now();
    loop(count);
    t1 = performance.now();
    const m1 = process.memoryUsage();
    return m1.heapUsed + m1.arrayBuffers - (m0.heapUsed + m0.arrayBuffers);
  };
  measure(0);
  const harness = measure(0); // what measuring itself costs (memoryUsage's objects, timestamps)
  const total = measure(n);
  setTimeout(() => {
    obs.disconnect(); // GC entries arrive asynchronously: read them after a turn
    const delta = total - harness;
    console.log(JSON.stringify({ n, delta, harness, gcs, perIteration: delta / n, ...extra() }));
  }, 50);
}
