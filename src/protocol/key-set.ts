// A set of feed-packet keys 0…255 as a 256-bit map: the have-maps, requests and in-flight sets
// of the protocol. Pure data; no protocol logic. Used by the wire format, the scheduler and the
// cores. Bit order on the wire: key x is bit (x & 7) of byte (x >> 3).

export const KEY_SPACE = 256;
export const KEY_SET_BYTES = 32;

/** Indexable 32-bit words of a key set; bit operations on them give signed 32-bit values. */
export type KeyWords = number[];

export class KeySet {
  // Eight int32 words in a plain array of doubles rather than a Uint32Array: a typed array costs
  // an ArrayBuffer and two more objects (about 200 bytes a set, 300 sets per simulated peer).
  // The 0.5 makes the literal an array of doubles, so no word ever changes the array's kind.
  readonly words: KeyWords = [0.5, 0, 0, 0, 0, 0, 0, 0];
  private n = 0;

  constructor() {
    this.words[0] = 0;
  }

  static of(keys: Iterable<number>): KeySet {
    const s = new KeySet();
    for (const k of keys) s.add(k);
    return s;
  }

  /** Reads a 32-byte wire bitmap (bytes beyond 32 are ignored; missing bytes count as 0). */
  static fromBytes(bytes: Uint8Array): KeySet {
    const s = new KeySet();
    for (let i = 0; i < KEY_SET_BYTES && i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) s.add(i * 8 + bit);
    }
    return s;
  }

  get size(): number {
    return this.n;
  }

  has(x: number): boolean {
    return (this.words[x >>> 5] & (1 << (x & 31))) !== 0;
  }


  /** Adds x (0…255); true when it was new. */
  add(x: number): boolean {
    const w = x >>> 5;
    const m = 1 << (x & 31);
    if (this.words[w] & m) return false;
    this.words[w] |= m;
    this.n++;
    return true;
  }

  delete(x: number): boolean {
    const w = x >>> 5;
    const m = 1 << (x & 31);
    if (!(this.words[w] & m)) return false;
    this.words[w] &= ~m;
    this.n--;
    return true;
  }

  clear(): void {
    this.words.fill(0);
    this.n = 0;
  }

  /** Keys in ascending order. */
  toArray(): number[] {
    const out: number[] = [];
    for (let w = 0; w < 8; w++) {
      let v = this.words[w];
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
    for (let i = 0; i < KEY_SET_BYTES; i++) out[i] = (this.words[i >>> 2] >>> ((i & 3) * 8)) & 0xff;
    return out;
  }
}
