// A fixed-resolution latency histogram that load processes fill and the parent merges (10 µs buckets up to 2 s).

const BUCKET_US = 10;
const BUCKETS = 200_000; // 2 s; slower calls land in the last bucket

/** Counts per 10 µs bucket; sent between processes as sparse [bucket, count] pairs. */
export class LatencyHistogram {
  readonly counts = new Uint32Array(BUCKETS);
  total = 0;

  record(ms: number): void {
    const bucket = Math.min(BUCKETS - 1, Math.floor((ms * 1000) / BUCKET_US));
    this.counts[bucket]!++;
    this.total++;
  }

  toSparse(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] !== 0) out.push([i, this.counts[i]!]);
    return out;
  }

  addSparse(pairs: readonly [number, number][]): void {
    for (const [bucket, count] of pairs) {
      this.counts[bucket]! += count;
      this.total += count;
    }
  }

  /** The latency in ms below which `p` (0–1) of the calls completed (bucket upper bound). */
  percentile(p: number): number {
    const rank = Math.ceil(p * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank && seen > 0) return ((i + 1) * BUCKET_US) / 1000;
    }
    return 0;
  }
}
