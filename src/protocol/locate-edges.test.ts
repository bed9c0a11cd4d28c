// The pieces under the pollution search, each against its definition: a fingerprint is
// Σ_b coef[k·P + b]·packet[b] per row (checked with a field product written here, shift and add over
// 0x11D); the coefficients fill 4 rows of P bytes; Berlekamp–Massey returns Π (1 − r_i z) and t for
// a sum of t geometric sequences, and a connection polynomial that holds for any sequence; and
// locateErrors' own bounds: 64 keys or fewer give nothing to check, and the keys located by all
// fingerprint bytes together may be at most half the checks (exactly half is an answer).

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { feedGenerator } from '../codec/generators.ts';
import { berlekampMassey, cleanSets, fingerprint, fingerprintCoefficients, FINGERPRINT_BYTES, locateErrors } from './locate-bad-keys.ts';

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

describe('fingerprintCoefficients: known answers', () => {
  /**
   * mulberry32 (Tommy Ettinger's published generator: state += 0x6D2B79F5; z = (z ^ z >> 15)·(z | 1);
   * z ^= z + (z ^ z >> 7)·(z | 61); z ^ z >> 14, all mod 2^32), seeded with
   * (secret ^ 0x9E3779B9)·0x85EBCA6B ^ (seq + 0x632BE5AB)·0xC2B2AE35 mod 2^32, each output's bytes
   * least significant first. Written here with BigInt arithmetic, not the code's Math.imul.
   */
  function mulberryRows(secret: number, seq: number, P: number): Uint8Array {
    const M = 0xffffffffn;
    const u = (v: number) => BigInt(v >>> 0);
    let s = (((u(secret) ^ 0x9e3779b9n) * 0x85ebca6bn) ^ (((BigInt(seq) + 0x632be5abn) & M) * 0xc2b2ae35n)) & M;
    const out = new Uint8Array(4 * P);
    for (let i = 0; i < out.length; i += 4) {
      s = (s + 0x6d2b79f5n) & M;
      let z = s;
      z = ((z ^ (z >> 15n)) * (z | 1n)) & M;
      z ^= (z + (z ^ (z >> 7n)) * (z | 61n)) & M;
      z = (z ^ (z >> 14n)) & M;
      for (let k = 0; k < 4; k++) out[i + k] = Number((z >> BigInt(8 * k)) & 0xffn);
    }
    return out;
  }
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  it('equal the vectors computed by a separate program (first 16 bytes, last 8, SHA-256 of all 4·P)', () => {
    // Computed outside this code base, by a short program written from the definition above.
    const vectors: Array<[number, number, number, string, string, string]> = [
      [0, 0, 1, 'bdab2902', 'bdab2902', '6f4f259ef60e3bfc720af6b730943a0a69aa0b4717992562df4f8a484d45b43d'],
      [12345, 7, 128, 'e5b788f7d48fee39604ca464e5aa7396', '262d0372a2c65e47', '0fc68b3965a4a01dec3e014cc991f01ac4ebe8dc4762d653ec7789d481e30011'],
      [0xdeadbeef, 0xffffffff, 1024, 'd90ddac3add99d13e2779d7d41935d40', '48b5a53fd8add658', 'ba2f015dfb789359f1ff1d9d8dbf5628afd853e084489663c65463883405a7f2'],
      [0x7fffffff, 65536, 3, 'a7fc43600c35d974d6058d6f', '0c35d974d6058d6f', '5330dd3a60b97f7f3f261a22079fcc7f719fea92719c5cb7fb3eec69aa0cbaf7'],
    ];
    for (const [secret, seq, P, first, last, sha] of vectors) {
      const c = fingerprintCoefficients(secret, seq, P);
      expect(hex(c.subarray(0, 16)), `${secret} ${seq} ${P}`).toBe(first);
      expect(hex(c.subarray(c.length - 8)), `${secret} ${seq} ${P}`).toBe(last);
      expect(createHash('sha256').update(c).digest('hex'), `${secret} ${seq} ${P}`).toBe(sha);
    }
  });

  it('equal the BigInt implementation for any secret, sequence and size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 300 }), (secret, seq, P) => {
        expect(hex(fingerprintCoefficients(secret, seq, P))).toBe(hex(mulberryRows(secret, seq, P)));
      }),
      { numRuns: 100 },
    );
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

describe('all 256 keys, and a screen that passes where the full check fails', () => {
  const G = feedGenerator();
  const m = (salt: number) => Uint8Array.from({ length: 64 }, (_, j) => (j * 53 + salt * 11 + 5) & 0xff);
  const value = (msg: Uint8Array, x: number) => {
    let v = 0;
    for (let j = 0; j < 64; j++) v ^= mul(G[x * 64 + j], msg[j]);
    return v;
  };
  /** Fingerprints of keys xs; byte k changed (xor 1 + k) at the keys in bad[k]. */
  const fps = (xs: number[], bad: number[][]) => new Map(xs.map((x) => [x, Uint8Array.from({ length: FINGERPRINT_BYTES }, (_, k) => value(m(k), x) ^ (bad[k]?.includes(x) ? 1 + k : 0))]));
  const down = Array.from({ length: 256 }, (_, i) => 255 - i); // 255, 254, …, 0: the last key is 0

  it('locateErrors given all 256 keys reads the first 255, whatever their order: the shift is the one key left out', () => {
    // Keys 255…1 are read, 0 is not: the points are shifted by 0. Were all 256 read, no value
    // would be free and the shift would land on key 255.
    const bad = [[200], [17], [255]];
    const rows = Array.from({ length: FINGERPRINT_BYTES }, (_, k) => Uint8Array.from(down, (x) => value(m(k), x) ^ (bad[k]?.includes(x) ? 1 + k : 0)));
    expect(locateErrors(down, rows)?.map((i) => down[i])).toEqual([255, 200, 17]);
    const clean = Array.from({ length: FINGERPRINT_BYTES }, (_, k) => Uint8Array.from(down, (x) => value(m(k), x)));
    expect(locateErrors(down, clean)).toEqual([]);
  });

  it('cleanSets given all 256 keys offers the first 255, the bad ones located', () => {
    const got = [...cleanSets({ keys: down, fingerprints: fps(down, [[200], [17], [255]]), sourceOf: () => 's', suspects: [], maxErased: 1, maxTries: 8 })];
    expect(got).toEqual([{ keys: down.slice(0, 255).filter((x) => x !== 255 && x !== 200 && x !== 17), located: [255, 200, 17], erased: [] }]);
  });

  it('a set whose first fingerprint byte agrees but whose others are beyond locating is not offered; leaving the source out is', () => {
    // 66 keys of source a, 14 of b (80 keys: 16 checks, 8 locatable); 10 of b's keys are wrong in
    // bytes 1…3 only. The screen on byte 0 passes, the full check does not: no set of all keys.
    const keys = Array.from({ length: 80 }, (_, i) => i);
    const wrong = keys.slice(66, 76);
    const got = [...cleanSets({ keys, fingerprints: fps(keys, [[], wrong, wrong, wrong]), sourceOf: (x) => (x < 66 ? 'a' : 'b'), suspects: [], maxErased: 1, maxTries: 8 })];
    expect(got).toEqual([{ keys: keys.slice(0, 66), located: [], erased: ['b'] }]);
  });
});
