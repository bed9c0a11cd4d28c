// The simulator's queues of timed events. `EventQueue`: a calendar of 1/32 ms buckets over a 4 s
// window (each bucket sorted when it is reached) with a binary heap for events further ahead, for
// many events at once. `TimedHeap`: a plain binary heap, for the few events of one peer. Ties keep
// insertion order in both, so the same seed gives the same run. Pure data structures; used by
// simulator.ts.

export interface Timed {
  t: number;
  /** Insertion number (tie break); set by push. */
  n?: number;
}

/** Buckets per ms, and buckets in the window (4 s). */
const PER_MS = 32;
const WINDOW = 4096 * PER_MS;

export class EventQueue<E extends Timed> {
  private readonly buckets: E[][] = Array.from({ length: WINDOW }, () => []);
  /** Index of the first unread event of the current bucket. */
  private head = 0;
  private sorted = true;
  /** Number of the current bucket (floor(t · PER_MS)). */
  private cursor = 0;
  private inWindow = 0;
  private readonly far: E[] = [];
  private counter = 0;

  get size(): number {
    return this.inWindow + this.far.length;
  }

  push(e: E): void {
    e.n = this.counter++;
    const ms = Math.max(this.cursor, Math.floor(e.t * PER_MS));
    if (ms - this.cursor >= WINDOW) {
      heapPush(this.far, e);
      return;
    }
    const b = this.buckets[ms % WINDOW];
    this.inWindow++;
    if (ms !== this.cursor || !this.sorted) {
      b.push(e);
      return;
    }
    // Into the bucket being read: keep its unread part sorted.
    let lo = this.head;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(b[mid], e) <= 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === b.length) b.push(e);
    else b.splice(lo, 0, e);
  }

  /** The next event, left in the queue. */
  peek(): E | undefined {
    for (;;) {
      if (this.inWindow === 0 && this.far.length > 0) {
        // Jump straight to the next far event's bucket.
        this.resetBucket();
        this.cursor = Math.floor(this.far[0].t * PER_MS);
        this.pullFar();
      }
      if (this.inWindow === 0) return undefined;
      const b = this.buckets[this.cursor % WINDOW];
      if (this.head < b.length) {
        if (!this.sorted) {
          if (this.head === 0) b.sort(order);
          else {
            const rest = b.splice(this.head).sort(order);
            for (let i = 0; i < rest.length; i++) b.push(rest[i]);
          }
          this.sorted = true;
        }
        return b[this.head];
      }
      this.resetBucket();
      this.cursor++;
      this.pullFar();
    }
  }

  pop(): E | undefined {
    const e = this.peek();
    if (e !== undefined) {
      this.head++;
      this.inWindow--;
    }
    return e;
  }

  private resetBucket(): void {
    const b = this.buckets[this.cursor % WINDOW];
    b.length = 0;
    this.head = 0;
  }

  /** Moves far events that now fall inside the window into their buckets. */
  private pullFar(): void {
    this.sorted = false;
    while (this.far.length > 0 && Math.floor(this.far[0].t * PER_MS) - this.cursor < WINDOW) {
      const e = heapPop(this.far) as E;
      const ms = Math.max(this.cursor, Math.floor(e.t * PER_MS));
      this.buckets[ms % WINDOW].push(e);
      this.inWindow++;
    }
  }
}

/**
 * A binary heap of timed events, earliest first, ties in insertion order. Times and insertion
 * numbers sit in typed arrays beside the events, so sifting compares numbers in one place
 * instead of reading event objects spread over the heap.
 */
export class TimedHeap<E extends Timed> {
  private items: Array<E | undefined> = [];
  private ts = new Float64Array(16);
  private ns = new Float64Array(16);
  private count = 0;
  private counter = 0;

  get size(): number {
    return this.count;
  }

  /** The events waiting, in no particular order (diagnostics: look, do not change). */
  *each(): Generator<E> {
    for (let i = 0; i < this.count; i++) yield this.items[i] as E;
  }

  /** The earliest event's time (Infinity when empty). */
  get nextT(): number {
    return this.count > 0 ? this.ts[0] : Infinity;
  }

  push(e: E): void {
    if (this.count === this.ts.length) this.grow();
    const t = e.t;
    const n = (e.n = this.counter++);
    const { ts, ns, items } = this;
    let i = this.count++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (ts[p] < t || (ts[p] === t && ns[p] < n)) break;
      ts[i] = ts[p];
      ns[i] = ns[p];
      items[i] = items[p];
      i = p;
    }
    ts[i] = t;
    ns[i] = n;
    items[i] = e;
  }

  pop(): E | undefined {
    if (this.count === 0) return undefined;
    const { ts, ns, items } = this;
    const top = items[0];
    const last = --this.count;
    const t = ts[last];
    const n = ns[last];
    const e = items[last];
    items[last] = undefined;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= last) break;
      if (c + 1 < last && (ts[c + 1] < ts[c] || (ts[c + 1] === ts[c] && ns[c + 1] < ns[c]))) c++;
      if (t < ts[c] || (t === ts[c] && n < ns[c])) break;
      ts[i] = ts[c];
      ns[i] = ns[c];
      items[i] = items[c];
      i = c;
    }
    if (last > 0) {
      ts[i] = t;
      ns[i] = n;
      items[i] = e;
    }
    return top;
  }

  clear(): void {
    this.items = [];
    this.count = 0;
  }

  private grow(): void {
    const ts = new Float64Array(this.ts.length * 2);
    const ns = new Float64Array(this.ns.length * 2);
    ts.set(this.ts);
    ns.set(this.ns);
    this.ts = ts;
    this.ns = ns;
  }
}

function order(a: Timed, b: Timed): number {
  return a.t - b.t || (a.n as number) - (b.n as number);
}

function heapPush<E extends Timed>(h: E[], e: E): void {
  h.push(e);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (order(h[i], h[p]) >= 0) break;
    [h[i], h[p]] = [h[p], h[i]];
    i = p;
  }
}

function heapPop<E extends Timed>(h: E[]): E | undefined {
  if (h.length === 0) return undefined;
  const top = h[0];
  const last = h.pop() as E;
  if (h.length > 0) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && order(h[l], h[m]) < 0) m = l;
      if (r < h.length && order(h[r], h[m]) < 0) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
  return top;
}
