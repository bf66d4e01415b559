/**
 * The in-memory counterpart of a Redis sorted set: ids ordered by (score,
 * order), where `order` is a per-queue enqueue sequence. Redis breaks score
 * ties by member, and the Redis store's members start with the zero-padded
 * enqueue sequence, so both stores order ties the same way (FIFO).
 *
 * A sorted array with binary search: inserts and removals shift memory, which
 * is fast for the queue sizes an embedded (non-durable) store is meant for.
 */
export interface IndexEntry {
  id: string;
  score: number;
  order: number;
}

function compare(a: { score: number; order: number }, b: { score: number; order: number }): number {
  return a.score - b.score || a.order - b.order;
}

export class SortedIndex {
  private readonly entries: IndexEntry[] = [];
  private readonly byId = new Map<string, IndexEntry>();

  get size(): number {
    return this.entries.length;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Adds the id, or moves it when it is already present (like ZADD). */
  add(id: string, score: number, order: number): void {
    this.remove(id);
    const entry: IndexEntry = { id, score, order };
    this.entries.splice(this.lowerBound(entry), 0, entry);
    this.byId.set(id, entry);
  }

  remove(id: string): boolean {
    const entry = this.byId.get(id);
    if (!entry) return false;
    const at = this.lowerBound(entry);
    // (score, order) is unique per queue, so the lower bound is the entry itself.
    this.entries.splice(at, 1);
    this.byId.delete(id);
    return true;
  }

  first(): IndexEntry | undefined {
    return this.entries[0];
  }

  /** Entries with score <= max, lowest first, at most `limit`. */
  upTo(max: number, limit: number): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (const entry of this.entries) {
      if (entry.score > max || out.length >= limit) break;
      out.push(entry);
    }
    return out;
  }

  countUpTo(max: number): number {
    return this.lowerBound({ score: max, order: Number.POSITIVE_INFINITY });
  }

  /** The first `limit` entries, lowest first, or highest first when `reverse`. */
  slice(limit: number, reverse = false): IndexEntry[] {
    if (!reverse) return this.entries.slice(0, limit);
    const out: IndexEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.entries[i];
      if (entry) out.push(entry);
    }
    return out;
  }

  /** Index of the first entry not less than `key`. */
  private lowerBound(key: { score: number; order: number }): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const entry = this.entries[mid];
      if (entry && compare(entry, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
