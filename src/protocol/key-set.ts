// A set of feed-packet keys 0…255 as a 256-bit map: the have-maps, requests and in-flight sets
// of the protocol. Pure data; no protocol logic. Used by the wire format, the scheduler and the
// cores. Bit order on the wire: key x is bit (x & 7) of byte (x >> 3).

export const KEY_SPACE = 256;
export const KEY_SET_BYTES = 32;

export class KeySet {
  // Eight int32 words as fields of the set itself, not an array beside it: a peer keeps hundreds
  // of sets and touches them on every packet and have-map entry, mostly cold in the cache; a
  // separate array costs a second object (about 100 bytes) and a second cache miss per access.
  // Int32 values stay small integers in the fields, so the object keeps one shape.
  private w0 = 0;
  private w1 = 0;
  private w2 = 0;
  private w3 = 0;
  private w4 = 0;
  private w5 = 0;
  private w6 = 0;
  private w7 = 0;
  private n = 0;

  static of(keys: Iterable<number>): KeySet {
    const s = new KeySet();
    for (const k of keys) s.add(k);
    return s;
  }

  /** Reads a 32-byte wire bitmap (bytes beyond 32 are ignored; missing bytes count as 0). */
  static fromBytes(bytes: Uint8Array): KeySet {
    const s = new KeySet();
    for (let w = 0; w < 8; w++) {
      const i = w * 4;
      const v = (bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24);
      if (v !== 0) s.setWord(w, v);
    }
    return s;
  }

  get size(): number {
    return this.n;
  }

  /** Word w (0…7) as a signed int32: keys 32w…32w+31, key 32w + b as bit b. */
  word(w: number): number {
    switch (w) {
      case 0: return this.w0;
      case 1: return this.w1;
      case 2: return this.w2;
      case 3: return this.w3;
      case 4: return this.w4;
      case 5: return this.w5;
      case 6: return this.w6;
      default: return this.w7;
    }
  }

  /** Sets word w (0…7) to v (taken as an int32) and recounts the set's size. */
  setWord(w: number, v: number): void {
    v |= 0;
    this.n += popcount(v) - popcount(this.word(w));
    this.put(w, v);
  }

  has(x: number): boolean {
    return (this.word(x >>> 5) & (1 << (x & 31))) !== 0;
  }

  /** Adds x (0…255); true when it was new. */
  add(x: number): boolean {
    const w = x >>> 5;
    const m = 1 << (x & 31);
    const v = this.word(w);
    if (v & m) return false;
    this.put(w, v | m);
    this.n++;
    return true;
  }

  delete(x: number): boolean {
    const w = x >>> 5;
    const m = 1 << (x & 31);
    const v = this.word(w);
    if (!(v & m)) return false;
    this.put(w, v & ~m);
    this.n--;
    return true;
  }

  clear(): void {
    this.w0 = this.w1 = this.w2 = this.w3 = this.w4 = this.w5 = this.w6 = this.w7 = 0;
    this.n = 0;
  }

  /** Keys in ascending order. */
  toArray(): number[] {
    const out: number[] = [];
    for (let w = 0; w < 8; w++) {
      let v = this.word(w);
      while (v !== 0) {
        const low = v & -v;
        out.push(w * 32 + 31 - Math.clz32(low));
        v ^= low;
      }
    }
    return out;
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(KEY_SET_BYTES);
    for (let i = 0; i < KEY_SET_BYTES; i++) out[i] = (this.word(i >>> 2) >>> ((i & 3) * 8)) & 0xff;
    return out;
  }

  private put(w: number, v: number): void {
    switch (w) {
      case 0: this.w0 = v; return;
      case 1: this.w1 = v; return;
      case 2: this.w2 = v; return;
      case 3: this.w3 = v; return;
      case 4: this.w4 = v; return;
      case 5: this.w5 = v; return;
      case 6: this.w6 = v; return;
      default: this.w7 = v;
    }
  }
}

/** Set bits of an int32. */
function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}
