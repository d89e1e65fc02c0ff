// Local L2 order book maintained from the depth channel: a snapshot, then
// updates each carrying prev_seq = the previous seq. A gap (an update whose
// prev_seq is not our seq) means we missed something: the book is marked
// stale and the caller resubscribes for a fresh snapshot.

import { toScaled } from './format.js';

export class DepthBook {
  /** @param {number} priceDp decimals of the market's tick */
  constructor(priceDp) {
    this.dp = priceDp;
    this.clear();
  }

  clear() {
    this.bids = new Map(); // price string → qty string
    this.asks = new Map();
    this.seq = null;       // null until a snapshot arrives
    this.time = 0;
    this.gaps = 0;
  }

  get synced() { return this.seq !== null; }

  snapshot(d) {
    this.bids = new Map(d.bids.map(([p, q]) => [p, q]));
    this.asks = new Map(d.asks.map(([p, q]) => [p, q]));
    this.seq = d.seq;
    this.time = d.time;
  }

  /**
   * Apply one update. Returns "applied", "stale" (older than our snapshot;
   * ignored), "unsynced" (no snapshot yet; ignored) or "gap" (missed updates;
   * the book is cleared and must be resynchronised).
   */
  update(u) {
    if (this.seq === null) return 'unsynced';
    if (u.seq <= this.seq) return 'stale';
    if (u.prev_seq !== this.seq) {
      this.gaps++;
      const gaps = this.gaps;
      this.clear();
      this.gaps = gaps;
      return 'gap';
    }
    for (const [p, q] of u.bids) setLevel(this.bids, p, q);
    for (const [p, q] of u.asks) setLevel(this.asks, p, q);
    this.seq = u.seq;
    this.time = u.time;
    return 'applied';
  }

  /** Best-first levels: [[price, qty], ...]. */
  levels(side, limit) {
    const m = side === 'bid' ? this.bids : this.asks;
    const dp = this.dp;
    const arr = Array.from(m, ([p, q]) => [p, q, toScaled(p, dp)]);
    arr.sort((a, b) => (a[2] === b[2] ? 0 : (a[2] < b[2]) === (side === 'bid') ? 1 : -1));
    return arr.slice(0, limit).map(([p, q]) => [p, q]);
  }
}

function setLevel(m, p, q) {
  if (/^0(\.0*)?$/.test(q)) m.delete(p);
  else m.set(p, q);
}
