// The pieces under the pollution search, each against its definition: a fingerprint is
// Σ_b coef[k·P + b]·packet[b] per row (checked with a field product written here, shift and add over
// 0x11D); the coefficients fill 4 rows of P bytes; Berlekamp–Massey returns Π (1 − r_i z) and t for
// a sum of t geometric sequences, and a connection polynomial that holds for any sequence; and
// locateErrors' own bounds: 64 keys or fewer give nothing to check, and the keys located by all
// fingerprint bytes together may be at most half the checks (exactly half is an answer).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { feedGenerator } from '../codec/generators.ts';
import { berlekampMassey, fingerprint, fingerprintCoefficients, FINGERPRINT_BYTES, locateErrors } from './locate-bad-keys.ts';

/** a·b in GF(2^8) mod x^8 + x^4 + x^3 + x^2 + 1, by shift and add (not the library's tables). */
function mul(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) {
    if (b & (1 << i)) r ^= a;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
  }
  return r;
}

describe('fingerprint', () => {
  it('row k is the sum over the packet\'s bytes of coef[k·P + b]·packet[b]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }).chain((P) => fc.tuple(fc.uint8Array({ minLength: 4 * P, maxLength: 4 * P }), fc.uint8Array({ minLength: P, maxLength: P }))), ([coef, packet]) => {
        const P = packet.length;
        const want = Array.from({ length: FINGERPRINT_BYTES }, (_, k) => {
          let v = 0;
          for (let b = 0; b < P; b++) v ^= mul(coef[k * P + b], packet[b]);
          return v;
        });
        expect([...fingerprint(coef, packet)]).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });

  it('each row reads only its own P coefficients, byte b of the packet with coefficient b', () => {
    const P = 5;
    const coef = new Uint8Array(4 * P);
    coef[2 * P + 3] = 7; // row 2, byte 3
    const packet = Uint8Array.of(9, 9, 9, 2, 9);
    expect([...fingerprint(coef, packet)]).toEqual([0, 0, mul(7, 2), 0]);
    const last = new Uint8Array(4 * P);
    last[4 * P - 1] = 3;
    expect([...fingerprint(last, Uint8Array.of(0, 0, 0, 0, 5))]).toEqual([0, 0, 0, mul(3, 5)]);
    expect([...fingerprint(last, Uint8Array.of(5, 5, 5, 5, 0))]).toEqual([0, 0, 0, 0]);
  });
});

describe('fingerprintCoefficients', () => {
  it('4 rows of P bytes, every byte written, the rows different, spread over the byte values', () => {
    for (const P of [1, 2, 3, 128]) {
      const c = fingerprintCoefficients(12345, 7, P);
      expect(c.length).toBe(4 * P);
    }
    const c = fingerprintCoefficients(12345, 7, 256);
    const rows = Array.from({ length: 4 }, (_, k) => [...c.subarray(k * 256, (k + 1) * 256)].join());
    expect(new Set(rows).size).toBe(4);
    // 1024 bytes of a good mix take about 251 of the 256 values; a stuck or short-period generator far fewer.
    expect(new Set(c).size).toBeGreaterThan(200);
    // The last bytes are written too (a generator stopping short leaves zeros).
    expect(c.subarray(1020).some((v) => v !== 0)).toBe(true);
    // Neighbouring secrets and sequences give unrelated rows (no byte-for-byte agreement beyond chance).
    const same = (a: Uint8Array, b: Uint8Array) => a.filter((v, i) => v === b[i]).length;
    expect(same(c, fingerprintCoefficients(12346, 7, 256))).toBeLessThan(30);
    expect(same(c, fingerprintCoefficients(12345, 8, 256))).toBeLessThan(30);
  });
});

describe('berlekampMassey', () => {
  const pow = (a: number, e: number) => {
    let v = 1;
    for (let i = 0; i < e; i++) v = mul(v, a);
    return v;
  };
  /** Coefficients of Π (1 − r_i z) (− is ⊕). */
  const product = (rs: number[]) => rs.reduce((p, r) => [...p, 0].map((c, i) => c ^ (i > 0 ? mul(r, p[i - 1]) : 0)), [1]);

  it('a sum of t geometric sequences (distinct ratios, non-zero weights), 2t terms or more: C = Π (1 − r_i z), L = t', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: 0, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 5, maxLength: 5 }),
        fc.integer({ min: 0, max: 4 }),
        (rs, ws, extra) => {
          const len = 2 * rs.length + extra;
          const S = Array.from({ length: len }, (_, l) => rs.reduce((s, r, i) => s ^ mul(ws[i], pow(r, l)), 0));
          expect(berlekampMassey(S)).toEqual({ C: product(rs), L: rs.length });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('for any sequence, C[0] = 1 and Σ C[i]·S[n − i] = 0 for n from L on; L at most about half the length', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }), (S) => {
        const { C, L } = berlekampMassey(S);
        expect(C[0]).toBe(1);
        expect(C.length).toBeLessThanOrEqual(L + 1);
        for (let n = L; n < S.length; n++) {
          let s = 0;
          for (let i = 0; i < C.length; i++) s ^= mul(C[i], S[n - i]);
          expect(s, `n ${n}`).toBe(0);
        }
        // An LFSR of length ⌈len / 2⌉ + 1 can always be had... the algorithm's L never exceeds len.
        expect(L).toBeLessThanOrEqual(S.length);
      }),
      { numRuns: 300 },
    );
  });

  it('known rows: all zeros; one non-zero term first; a non-zero term after zeros', () => {
    expect(berlekampMassey([0, 0, 0, 0])).toEqual({ C: [1], L: 0 });
    expect(berlekampMassey([])).toEqual({ C: [1], L: 0 });
    // 5, 0, 0, 0: no LFSR shorter than 1 produces it; 1 · S[n] = 0 from n = 1 on.
    expect(berlekampMassey([5, 0, 0, 0])).toEqual({ C: [1], L: 1 });
    // 0, 0, 7: L = 3 (two zeros then a non-zero term need a register of 3), C = 1 + 7z³.
    expect(berlekampMassey([0, 0, 7])).toEqual({ C: [1, 0, 0, 7], L: 3 });
    // Geometric 2, 6, 18·…: ratio 3.
    expect(berlekampMassey([2, mul(2, 3), mul(mul(2, 3), 3)])).toEqual({ C: [1, 3], L: 1 });
  });
});

describe('locateErrors at its bounds', () => {
  const G = feedGenerator();
  const m = (salt: number) => Uint8Array.from({ length: 64 }, (_, j) => (j * 41 + salt * 17 + 3) & 0xff);
  const value = (msg: Uint8Array, x: number) => {
    let v = 0;
    for (let j = 0; j < 64; j++) v ^= mul(G[x * 64 + j], msg[j]);
    return v;
  };
  /** FINGERPRINT_BYTES codeword rows at keys xs; row k changed (xor 1 + k) at the keys in bad[k]. */
  const rows = (xs: number[], bad: number[][] = []) =>
    Array.from({ length: FINGERPRINT_BYTES }, (_, k) => Uint8Array.from(xs, (x) => value(m(k), x) ^ (bad[k]?.includes(x) ? 1 + k : 0)));
  const keys = (n: number) => Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

  it('64 keys or fewer: nothing to check (undefined), even when all agree; 65 agreeing keys: []', () => {
    expect(locateErrors(keys(64), rows(keys(64)))).toBeUndefined();
    expect(locateErrors(keys(63), rows(keys(63)))).toBeUndefined();
    expect(locateErrors(keys(65), rows(keys(65)))).toEqual([]);
  });

  it('one bad key among 65 (one check): detected but not located (undefined); among 66: located', () => {
    const x65 = keys(65);
    expect(locateErrors(x65, rows(x65, [[x65[10]]]))).toBeUndefined();
    const x66 = keys(66);
    expect(locateErrors(x66, rows(x66, [[x66[10]], [x66[10]]]))).toEqual([10]);
  });

  it('the keys located by the rows together: exactly half the checks is an answer, one more is not', () => {
    // 68 keys: 4 checks. Row 0 finds key index 3, row 1 index 9: 2 in all, half of 4.
    const xs = keys(68);
    expect(locateErrors(xs, rows(xs, [[xs[3]], [xs[9]]]))).toEqual([3, 9]);
    // Row 2 adds index 20: 3 in all, more than 2.
    expect(locateErrors(xs, rows(xs, [[xs[3]], [xs[9]], [xs[20]]]))).toBeUndefined();
    // 70 keys, 6 checks: 3 apart is still an answer.
    const ys = keys(70);
    expect(locateErrors(ys, rows(ys, [[ys[3]], [ys[9]], [ys[20]]]))).toEqual([3, 9, 20]);
  });

  it('a row with more bad keys than it can locate makes the whole answer undefined, whatever the other rows say', () => {
    const xs = keys(68);
    expect(locateErrors(xs, rows(xs, [[], [xs[1], xs[2], xs[5]], []]))).toBeUndefined();
    expect(locateErrors(xs, rows(xs, [[], [xs[1], xs[2]], []]))).toEqual([1, 2]);
  });
});
