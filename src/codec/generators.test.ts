import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { feedGenerator, segmentGenerator } from './generators.ts';
import { GF_EXP, gfDiv, gfInv, gfMul, gfPow } from './gf256.ts';
import { gfInvert } from './gf-matrix.ts';
import { expectCode, propertyRuns } from './codec-contract.ts';
import { packetSize } from './codec-input.ts';

/** Lagrange basis over the nodes 0..k-1 evaluated at x: an independent form of row x of a generator. */
function lagrangeRow(x: number, k: number): number[] {
  const row: number[] = [];
  for (let j = 0; j < k; j++) {
    let num = 1;
    let den = 1;
    for (let i = 0; i < k; i++) {
      if (i === j) continue;
      num = gfMul(num, x ^ i);
      den = gfMul(den, j ^ i);
    }
    row.push(gfDiv(num, den));
  }
  return row;
}

describe('GF(2^8) with 0x11D', () => {
  it('2 generates the multiplicative group and inverses hold', () => {
    expect(new Set(GF_EXP.subarray(0, 255)).size).toBe(255);
    for (let a = 1; a < 256; a++) expect(gfMul(a, gfInv(a))).toBe(1);
    expect(gfMul(0x80, 2)).toBe(0x1d);
    expect(gfPow(0, 0)).toBe(1);
    expect(gfPow(0, 3)).toBe(0);
    expect(gfPow(3, 2)).toBe(5);
  });

  it('multiplication distributes over XOR', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (a, b, c) => {
      expect(gfMul(a, b ^ c)).toBe(gfMul(a, b) ^ gfMul(a, c));
    }));
  });
});

describe('generators', () => {
  it('G and H are systematic and equal the Lagrange form of V·(top of V)⁻¹', () => {
    const G = feedGenerator();
    const H = segmentGenerator();
    for (let x = 0; x < 256; x++) {
      expect([...G.subarray(x * 64, x * 64 + 64)]).toEqual(lagrangeRow(x, 64));
      expect([...H.subarray(x * 8, x * 8 + 8)]).toEqual(lagrangeRow(x, 8));
    }
    expect(G[5 * 64 + 5]).toBe(1);
    expect(H[3 * 8 + 3]).toBe(1);
  });

  it('any 64 distinct rows of G are invertible', () => {
    const G = feedGenerator();
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 64, maxLength: 64 }), (xs) => {
      const m = new Uint8Array(64 * 64);
      xs.forEach((x, r) => m.set(G.subarray(x * 64, x * 64 + 64), r * 64));
      expect(gfInvert(m, 64)).not.toBeNull();
    }), {
      numRuns: propertyRuns(200, 10),
      examples: [[Array.from({ length: 64 }, (_, i) => 192 + i)], [Array.from({ length: 64 }, (_, i) => 255 - 2 * i)], [[...Array.from({ length: 63 }, (_, i) => i), 255]]],
    });
  });

  it('packetSize follows 128·ceil(L/8192) and rejects L outside 1..65536', () => {
    expect([1, 8191, 8192, 8193, 65535, 65536].map(packetSize)).toEqual([128, 128, 128, 256, 1024, 1024]);
    for (const L of [0, -1, 65537, 1.5, Number.NaN]) expectCode(() => packetSize(L), 'CODEC_FRAME_LENGTH');
  });
});

describe('generators are built once', () => {
  it('each call returns the same matrix object', () => {
    expect(feedGenerator()).toBe(feedGenerator());
    expect(segmentGenerator()).toBe(segmentGenerator());
  });
});

