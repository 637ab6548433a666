// Latencies in a fixed log-scale histogram: constant memory however long the run, no allocation per
// sample, quantiles within ±1% (buckets 2% wide, reported at their geometric middle). The exact
// minimum, maximum and mean are kept beside it.

const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** The lowest bucket starts at 1 µs; everything below counts in it. */
const BASE_MS = 0.001;
/** 1 µs · 1.02^1100 ≈ 2.9 hours: anything longer counts in the last bucket. */
const BUCKETS = 1100;

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sumMs = 0;
  minMs = Infinity;
  maxMs = 0;

  record(ms: number): void {
    const v = ms > BASE_MS ? ms : BASE_MS;
    let i = Math.floor(Math.log(v / BASE_MS) / LOG_GROWTH);
    if (i >= BUCKETS) i = BUCKETS - 1;
    this.counts[i]++;
    this.count++;
    this.sumMs += ms;
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** The q-quantile (0…1) in ms, or NaN with no samples. Clamped to the exact min and max. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        const mid = BASE_MS * GROWTH ** (i + 0.5);
        return Math.min(this.maxMs, Math.max(this.minMs, mid));
      }
    }
    return this.maxMs;
  }

  /**
   * The distribution in coarser bins, `perDecade` to a factor of ten (for a plot): each bin's bounds
   * in ms and its count, from the lowest bin with a sample to the highest, empty bins included.
   */
  bins(perDecade: number): Array<{ loMs: number; hiMs: number; count: number }> {
    const counts = new Map<number, number>();
    for (let i = 0; i < BUCKETS; i++) {
      if (!this.counts[i]) continue;
      const mid = BASE_MS * GROWTH ** (i + 0.5);
      const j = Math.floor(Math.log10(mid) * perDecade);
      counts.set(j, (counts.get(j) ?? 0) + this.counts[i]);
    }
    if (!counts.size) return [];
    const keys = [...counts.keys()];
    const out: Array<{ loMs: number; hiMs: number; count: number }> = [];
    for (let j = Math.min(...keys); j <= Math.max(...keys); j++) {
      out.push({ loMs: 10 ** (j / perDecade), hiMs: 10 ** ((j + 1) / perDecade), count: counts.get(j) ?? 0 });
    }
    return out;
  }

  get meanMs(): number {
    return this.count ? this.sumMs / this.count : NaN;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumMs = 0;
    this.minMs = Infinity;
    this.maxMs = 0;
  }
}

/** A latency for people: 3 significant digits, "—" for none. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
