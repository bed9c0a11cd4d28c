// The producer step's rules (producer-step.ts) at their boundaries, on the reference codec's real
// arithmetic: 8 seeds are taken as they are, a 9th detects a bad seed, 10 or more name it, up to
// MAX_LOCATE_SEEDS (32) and not beyond; two bad seeds are detected, never blamed on one holder.
import { describe, expect, it } from 'vitest';
import { isP2PError } from '../errors.ts';
import { MAX_LOCATE_SEEDS, producerStep, type SeedSolve } from './producer-step.ts';
import { createReferenceCodec } from './reference-codec.ts';

const ref = createReferenceCodec();
const L = 5000; // P = 128
const frame = Uint8Array.from({ length: L }, (_, i) => (i * 73 + (i >> 8) * 5 + 1) & 255);
const G = 11;
const ALL_KEYS = Array.from({ length: 40 }, (_, i) => (i * 37 + 5) % 256); // distinct, unsorted
const segments = new Map(ALL_KEYS.map((c) => [c, ref.codeSegment(frame, c)]));
const want = ref.feedPackets(frame, Array.from({ length: 8 }, (_, m) => 8 * G + m));

/** Seed packets SP(c, G) of the keys given, those in `bad` with one byte flipped. */
function seeds(keys: number[], bad: number[] = []): Map<number, Uint8Array> {
  return new Map(keys.map((c) => {
    const sp = ref.seedPacket(segments.get(c) as Uint8Array, G);
    if (bad.includes(c)) sp[(c * 7) % sp.length] ^= 0x40;
    return [c, sp];
  }));
}
function refusal(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    if (!isP2PError(e)) throw e;
    return { code: e.code, message: e.message, details: e.details as Record<string, unknown> };
  }
  throw new Error('nothing thrown');
}
const sorted = (ks: number[]) => [...ks].sort((a, b) => a - b);

describe('producer step', () => {
  it('8 seeds (no spare) give the feed packets, in any key order', () => {
    expect(MAX_LOCATE_SEEDS).toBe(32);
    expect(ref.feedPacketsFromSeeds(seeds(ALL_KEYS.slice(0, 8)), G)).toEqual(want);
    expect(ref.feedPacketsFromSeeds(seeds(ALL_KEYS.slice(3, 11).reverse()), G)).toEqual(want);
    // With 8 seeds a bad one cannot be seen: the packets are simply wrong.
    expect(ref.feedPacketsFromSeeds(seeds(ALL_KEYS.slice(0, 8), [ALL_KEYS[2]]), G)).not.toEqual(want);
  });

  it('9 to 32 good seeds give the feed packets', () => {
    for (const n of [9, 10, 32]) expect(ref.feedPacketsFromSeeds(seeds(ALL_KEYS.slice(0, n)), G)).toEqual(want);
  });

  it('9 seeds with one bad: detected, no holder named', () => {
    const keys = ALL_KEYS.slice(0, 9);
    for (const bad of [sorted(keys)[0], sorted(keys)[8]]) {
      const r = refusal(() => ref.feedPacketsFromSeeds(seeds(keys, [bad]), G));
      expect(r).toEqual({ code: 'CODEC_SEEDS_DISAGREE', message: `CODEC_SEEDS_DISAGREE: the 9 seed packets of group ${G} disagree`, details: { g: G, keys: sorted(keys) } });
    }
  });

  it('10 seeds with one bad: the holder is named, whether its seed is in the basis or a spare', () => {
    const keys = ALL_KEYS.slice(0, 10);
    for (const bad of [sorted(keys)[0], sorted(keys)[4], sorted(keys)[7], sorted(keys)[8], sorted(keys)[9]]) {
      const r = refusal(() => ref.feedPacketsFromSeeds(seeds(keys, [bad]), G));
      expect(r).toEqual({
        code: 'CODEC_SEEDS_DISAGREE',
        message: `CODEC_SEEDS_DISAGREE: seed packet of holder key ${bad} disagrees with the others (group ${G})`,
        details: { g: G, keys: sorted(keys), c: bad },
      });
    }
  });

  it('two bad seeds among 10 or 12: detected, no holder blamed', () => {
    for (const n of [10, 12]) {
      const keys = ALL_KEYS.slice(0, n);
      const r = refusal(() => ref.feedPacketsFromSeeds(seeds(keys, [keys[1], keys[n - 1]]), G));
      expect(r.code).toBe('CODEC_SEEDS_DISAGREE');
      expect(r.details).toEqual({ g: G, keys: sorted(keys) });
      expect(r.message).toBe(`CODEC_SEEDS_DISAGREE: the ${n} seed packets of group ${G} disagree`);
    }
  });

  it('the bad holder is searched for up to 32 seeds, not among 33', () => {
    const k32 = ALL_KEYS.slice(0, 32);
    expect(refusal(() => ref.feedPacketsFromSeeds(seeds(k32, [k32[20]]), G)).details.c).toBe(k32[20]);
    const k33 = ALL_KEYS.slice(0, 33);
    const r = refusal(() => ref.feedPacketsFromSeeds(seeds(k33, [k33[20]]), G));
    expect(r.details).toEqual({ g: G, keys: sorted(k33) });
    expect(r.message).toBe(`CODEC_SEEDS_DISAGREE: the 33 seed packets of group ${G} disagree`);
  });
});

describe('producer step: what it asks of the arithmetic', () => {
  it('solves from exactly 8 basis seeds, the lowest keys, and predicts the spares in key order', () => {
    const keys = [3, 9, 20, 21, 40, 41, 50, 77, 90, 200, 201];
    const seedOf = (c: number) => new Uint8Array(128).fill(c);
    const calls: Array<{ basis: number[]; seeds: number[]; others: number[] }> = [];
    const solve: SeedSolve = (basisKeys, basisSeeds, P, others) => {
      calls.push({ basis: [...basisKeys], seeds: basisSeeds.map((s) => s[0]), others: [...others] });
      return { feed: Array.from({ length: 8 }, () => new Uint8Array(P)), predicted: others.map(seedOf) };
    };
    const feed = producerStep({ keys, seeds: keys.map(seedOf), P: 128 }, 11, solve);
    expect(feed).toHaveLength(8);
    expect(calls).toEqual([{ basis: keys.slice(0, 8), seeds: keys.slice(0, 8), others: keys.slice(8) }]);
  });
});

