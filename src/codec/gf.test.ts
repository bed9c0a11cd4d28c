// Exact unit tests of the field (gf256.ts) and the small matrices (gf-matrix.ts), checked against
// arithmetic written here from the definitions (products by shift-and-reduce, no tables) and
// against published values of GF(2^8) with 0x11D. Fast explicit rows first: they are what
// mutation testing runs for every change to these two files (docs/mutation.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GF_EXP, GF_LOG, GF_MUL, GF_POLY, gfDiv, gfInv, gfMul, gfMulAcc, gfPow } from './gf256.ts';
import { gfInvert, gfMatMul } from './gf-matrix.ts';
import { propertyRuns } from './codec-contract.ts';

/** a·b mod x^8+x^4+x^3+x^2+1, bit by bit. */
function mulSlow(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a;
    b >>= 1;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
  }
  return p;
}
const powSlow = (x: number, e: number): number => {
  let r = 1;
  for (let i = 0; i < e; i++) r = mulSlow(r, x);
  return r;
};
const inverseSlow = (a: number): number => {
  for (let b = 1; b < 256; b++) if (mulSlow(a, b) === 1) return b;
  throw new Error(`no inverse of ${a}`);
};

/** Rank of an n×n matrix by elimination with mulSlow (independent of gf-matrix.ts). */
function rankSlow(m: readonly number[], n: number): number {
  const a = m.map((v) => v);
  let rank = 0;
  for (let col = 0; col < n && rank < n; col++) {
    let piv = -1;
    for (let r = rank; r < n; r++) if (a[r * n + col] !== 0) { piv = r; break; }
    if (piv < 0) continue;
    for (let k = 0; k < n; k++) { const t = a[piv * n + k]; a[piv * n + k] = a[rank * n + k]; a[rank * n + k] = t; }
    const inv = inverseSlow(a[rank * n + col]);
    for (let r = 0; r < n; r++) {
      if (r === rank) continue;
      const f = mulSlow(a[r * n + col], inv);
      for (let k = 0; k < n; k++) a[r * n + k] ^= mulSlow(f, a[rank * n + k]);
    }
    rank++;
  }
  return rank;
}
/** (rows×inner)·(inner×cols) with mulSlow. */
function matMulSlow(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, inner: number, cols: number): number[] {
  const out: number[] = new Array(rows * cols).fill(0);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) for (let k = 0; k < inner; k++) out[r * cols + c] ^= mulSlow(a[r * inner + k], b[k * cols + c]);
  return out;
}
const identity = (n: number): number[] => Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 1 : 0));

describe('GF(2^8) tables and operations (gf256.ts)', () => {
  it('the published first powers of 2 and logs of the 0x11D field', () => {
    expect(GF_POLY).toBe(0x11d);
    // 2^0..2^15 of GF(2^8)/0x11D (the field of QR codes and most RS codecs).
    expect(Array.from(GF_EXP.subarray(0, 16))).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 29, 58, 116, 232, 205, 135, 19, 38]);
    expect(GF_EXP[254]).toBe(142);
    expect(GF_EXP[255]).toBe(1);
    expect(GF_EXP[509]).toBe(GF_EXP[254]);
    expect([GF_LOG[1], GF_LOG[2], GF_LOG[3], GF_LOG[29], GF_LOG[142], GF_LOG[255]]).toEqual([0, 1, 25, 8, 254, 175]);
  });

  it('every product and every table entry equal shift-and-reduce', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const want = mulSlow(a, b);
        if (GF_MUL[(a << 8) | b] !== want || gfMul(a, b) !== want) expect([a, b, gfMul(a, b), GF_MUL[(a << 8) | b]]).toEqual([a, b, want, want]);
      }
    }
    for (let i = 0; i < 510; i++) if (GF_EXP[i] !== powSlow(2, i % 255)) expect([i, GF_EXP[i]]).toEqual([i, powSlow(2, i % 255)]);
    for (let a = 1; a < 256; a++) expect(GF_EXP[GF_LOG[a]]).toBe(a);
    // Only the low byte of each operand counts.
    expect(gfMul(0x102, 0x203)).toBe(mulSlow(2, 3));
  });

  it('inverse: every a ≠ 0, and 0 is a RangeError', () => {
    for (let a = 1; a < 256; a++) expect(gfInv(a)).toBe(inverseSlow(a));
    expect([gfInv(1), gfInv(2), gfInv(142)]).toEqual([1, 142, 2]);
    expect(gfInv(0x101)).toBe(1);
    expect(() => gfInv(0)).toThrow(new RangeError('gfInv(0)'));
    expect(() => gfInv(256)).toThrow(RangeError);
  });

  it('division: a/b = a·b⁻¹, 0/b = 0 (even b = 0)', () => {
    for (const [a, b] of [[1, 1], [3, 7], [200, 2], [255, 255], [29, 142]]) {
      expect(gfDiv(a, b)).toBe(mulSlow(a, inverseSlow(b)));
      expect(mulSlow(gfDiv(a, b), b)).toBe(a);
    }
    expect(gfDiv(0, 9)).toBe(0);
    expect(gfDiv(0, 0)).toBe(0);
  });

  it('powers: x^e for every x and e up to 300, x^0 = 1 for x = 0 too', () => {
    for (let x = 0; x < 256; x++) {
      for (let e = 0; e <= 300; e += x < 4 ? 1 : 37) expect([x, e, gfPow(x, e)]).toEqual([x, e, powSlow(x, e)]);
    }
    expect([gfPow(0, 0), gfPow(0, 1), gfPow(0, 255), gfPow(2, 8), gfPow(2, 255), gfPow(3, 2), gfPow(256, 1)]).toEqual([1, 0, 0, 29, 1, 5, 0]);
  });

  it('multiply-accumulate: dst[dstOff + i] ^= c·src[srcOff + i] for i < len, nothing outside', () => {
    const src = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 255);
    for (const c of [0, 1, 2, 3, 0x8e, 255, 0x102]) {
      for (const [dstOff, srcOff, len] of [[0, 0, 40], [3, 5, 20], [10, 0, 1], [0, 39, 1], [7, 7, 0]]) {
        const dst = Uint8Array.from({ length: 48 }, (_, i) => (i * 91 + 5) & 255);
        const want = dst.slice();
        for (let i = 0; i < len; i++) want[dstOff + i] ^= mulSlow(c & 255, src[srcOff + i]);
        gfMulAcc(dst, dstOff, src, srcOff, c, len);
        expect({ c, dstOff, srcOff, len, dst: Array.from(dst) }).toEqual({ c, dstOff, srcOff, len, dst: Array.from(want) });
      }
    }
  });
});

describe('matrices over GF(2^8) (gf-matrix.ts)', () => {
  it('inverts explicit matrices: identity, a swap, pivots that need a row exchange and scaling', () => {
    const cases: Array<[number, number[], number[]]> = [
      [1, [1], [1]],
      [1, [2], [142]],
      [2, [0, 1, 1, 0], [0, 1, 1, 0]],
      [2, [1, 1, 1, 0], [0, 1, 1, 1]],
      [2, [2, 0, 0, 3], [142, 0, 0, inverseSlow(3)]],
      [3, identity(3), identity(3)],
    ];
    for (const [n, m, want] of cases) {
      const copy = m.slice();
      const got = gfInvert(Uint8Array.from(m), n);
      expect(got && Array.from(got)).toEqual(want);
      expect(m).toEqual(copy);
    }
    // Zero in the top-left corner, the pivot two rows down, nothing equal to 1 on the diagonal.
    const m = [0, 5, 7, 0, 9, 4, 3, 2, 6];
    const inv = gfInvert(Uint8Array.from(m), 3) as Uint8Array;
    expect(matMulSlow(m, inv, 3, 3, 3)).toEqual(identity(3));
    expect(matMulSlow(inv, m, 3, 3, 3)).toEqual(identity(3));
  });

  it('returns null for singular matrices: a zero matrix, equal rows, a dependent row, a zero last column', () => {
    expect(gfInvert(Uint8Array.from([0]), 1)).toBeNull();
    expect(gfInvert(Uint8Array.from([3, 4, 3, 4]), 2)).toBeNull();
    expect(gfInvert(Uint8Array.from([1, 2, 3, 2, 4, 6, 0, 1, 1]), 3)).toBeNull(); // row 1 = 2·row 0
    // Row 2 = 2·row 0 + 3·row 1.
    const r0 = [1, 7, 9];
    const r1 = [4, 0, 200];
    const r2 = r0.map((v, i) => mulSlow(2, v) ^ mulSlow(3, r1[i]));
    expect(gfInvert(Uint8Array.from([...r0, ...r1, ...r2]), 3)).toBeNull();
    expect(gfInvert(Uint8Array.from([1, 2, 0, 3, 4, 0, 5, 6, 0]), 3)).toBeNull();
  });

  it('random matrices up to 6×6: an inverse exactly when the rank is full', () => {
    const arb = fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 255 })), { minLength: n * n, maxLength: n * n })));
    fc.assert(fc.property(arb, ([n, m]) => {
      const inv = gfInvert(Uint8Array.from(m), n);
      if (rankSlow(m, n) < n) {
        expect(inv).toBeNull();
      } else {
        expect(inv).not.toBeNull();
        expect(matMulSlow(m, inv as Uint8Array, n, n, n)).toEqual(identity(n));
      }
    }), { numRuns: propertyRuns(300, 60) });
  });

  it('product (rows×inner)·(inner×cols), zero entries included', () => {
    const a = [0, 2, 3, 1, 0, 255];
    const b = [7, 0, 1, 9, 4, 200, 0, 0, 142, 1, 2, 3];
    expect(Array.from(gfMatMul(Uint8Array.from(a), Uint8Array.from(b), 2, 3, 4))).toEqual(matMulSlow(a, b, 2, 3, 4));
    expect(Array.from(gfMatMul(Uint8Array.from([5]), Uint8Array.from([6, 7]), 1, 1, 2))).toEqual([mulSlow(5, 6), mulSlow(5, 7)]);
    expect(Array.from(gfMatMul(Uint8Array.from([1, 2]), Uint8Array.from([3]), 2, 1, 1))).toEqual([3, mulSlow(2, 3)]);
  });
});
