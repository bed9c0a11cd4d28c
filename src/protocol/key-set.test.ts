import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InflightKeys } from './frame-state.ts';
import { KeySet } from './key-set.ts';

const key = fc.integer({ min: 0, max: 255 });
const op = fc.record({ add: fc.boolean(), x: key });

describe('KeySet', () => {
  it('adds, deletes, counts and lists like a Set of numbers', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const s = new KeySet();
        const ref = new Set<number>();
        for (const { add, x } of ops) {
          expect(add ? s.add(x) : s.delete(x)).toBe(add ? !ref.has(x) : ref.has(x));
          if (add) ref.add(x);
          else ref.delete(x);
        }
        expect(s.size).toBe(ref.size);
        expect(s.toArray()).toEqual([...ref].sort((a, b) => a - b));
        for (let x = 0; x < 256; x++) expect(s.has(x)).toBe(ref.has(x));
      }),
    );
  });

  it('words: bit b of word w is key 32w + b; setWord keeps the size right', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 8, maxLength: 8 }), (words) => {
        const s = new KeySet();
        s.add(3);
        words.forEach((v, w) => s.setWord(w, v));
        const keys: number[] = [];
        for (let w = 0; w < 8; w++) for (let b = 0; b < 32; b++) if (words[w] & (1 << b)) keys.push(32 * w + b);
        expect(s.toArray()).toEqual(keys);
        expect(s.size).toBe(keys.length);
        for (let w = 0; w < 8; w++) expect(s.word(w)).toBe(words[w] | 0);
        expect(KeySet.fromBytes(s.toBytes()).toArray()).toEqual(keys);
        s.clear();
        expect(s.size).toBe(0);
        expect(s.toArray()).toEqual([]);
      }),
    );
  });

  it('reads a short wire map as if the missing bytes were zero', () => {
    expect(KeySet.fromBytes(new Uint8Array([0x81, 0x01])).toArray()).toEqual([0, 7, 8]);
    expect(KeySet.fromBytes(new Uint8Array(0)).size).toBe(0);
  });
});

describe('InflightKeys', () => {
  it('remembers who each key was asked of, when and until when, and forgets on delete and clear', () => {
    const f = new InflightKeys();
    expect(f.peerOf(5)).toBeUndefined();
    f.add(5, 'a', 10, 130);
    f.add(200, 'b', 20, 220);
    f.add(5, 'c', 30, 330); // asked again elsewhere: the newest request counts
    expect(f.size).toBe(2);
    expect(f.keys()).toEqual([5, 200]);
    expect([f.peerOf(5), f.sentMs(5), f.expiresMs(5)]).toEqual(['c', 30, 330]);
    expect([f.peerOf(200), f.sentMs(200), f.expiresMs(200)]).toEqual(['b', 20, 220]);
    expect(f.delete(5)).toBe(true);
    expect(f.delete(5)).toBe(false);
    expect(f.peerOf(5)).toBeUndefined();
    expect(f.set.toArray()).toEqual([200]);
    f.clear();
    expect(f.size).toBe(0);
    expect(f.peerOf(200)).toBeUndefined();
  });
});
