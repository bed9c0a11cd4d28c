// The error location of locate-bad-keys.ts against the code's own generator: any t ≤ ⌊(n − 64)/2⌋
// corrupted keys at random positions are found exactly (random corruptions and a colluding group's
// coordinated forgery alike), beyond that the answer is "cannot locate" or a set the digest rejects;
// fingerprints of real packets are codewords; leaving out whole sources finds three colluding
// sources of eight where locating alone cannot.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReferenceCodec } from '../codec/index.ts';
import { feedGenerator } from '../codec/generators.ts';
import { gfMul } from '../codec/gf256.ts';
import { berlekampMassey, cleanSets, type CleanSet, fingerprint, fingerprintCoefficients, FINGERPRINT_BYTES, locateErrors } from './locate-bad-keys.ts';

const G = feedGenerator();

/** Values of the codeword with message m (64 bytes) at keys xs: Σ_j G[x][j]·m_j. */
function codeword(m: Uint8Array, xs: readonly number[]): Uint8Array {
  return Uint8Array.from(xs, (x) => {
    let v = 0;
    for (let j = 0; j < 64; j++) v ^= gfMul(G[x * 64 + j], m[j]);
    return v;
  });
}

const arbKeys = fc.integer({ min: 65, max: 240 }).chain((n) => fc.shuffledSubarray([...Array(256).keys()], { minLength: n, maxLength: n }));
const arbMsg = fc.uint8Array({ minLength: 64, maxLength: 64 });

describe('locateErrors', () => {
  it('finds any t ≤ ⌊(n − 64)/2⌋ corrupted keys at random positions, whatever the corruption', () => {
    fc.assert(
      fc.property(arbKeys, fc.array(arbMsg, { minLength: FINGERPRINT_BYTES, maxLength: FINGERPRINT_BYTES }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (xs, msgs, share, salt) => {
        const n = xs.length;
        const tMax = Math.floor((n - 64) / 2);
        const t = Math.round(share * tMax);
        const values = msgs.map((m) => codeword(m, xs));
        // t distinct positions, each with a non-zero change in at least one fingerprint byte.
        const pos = [...Array(n).keys()].sort((a, b) => ((a * 7919 + salt) % 104729) - ((b * 7919 + salt) % 104729)).slice(0, t);
        pos.forEach((i, k) => {
          values[k % FINGERPRINT_BYTES][i] ^= 1 + ((salt + k) & 0x7f);
          values[(k + 1) % FINGERPRINT_BYTES][i] ^= (salt >>> 3) & 0xff;
        });
        expect(locateErrors(xs, values)).toEqual([...pos].sort((a, b) => a - b));
      }),
      { numRuns: 150 },
    );
  });

  it('finds a colluding group that sends one consistent forgery (another frame\'s values)', () => {
    fc.assert(
      fc.property(arbKeys, arbMsg, arbMsg, fc.double({ min: 0, max: 1, noNaN: true }), (xs, m, forged, share) => {
        const n = xs.length;
        const t = Math.round(share * Math.floor((n - 64) / 2));
        const good = codeword(m, xs);
        const fake = codeword(forged, xs);
        // The group holds the last t keys and sends the forged frame's values for all of them.
        const values = good.slice();
        for (let i = n - t; i < n; i++) values[i] = fake[i];
        const want: number[] = [];
        for (let i = n - t; i < n; i++) if (fake[i] !== good[i]) want.push(i);
        expect(locateErrors(xs, [values])).toEqual(want);
      }),
      { numRuns: 150 },
    );
  });

  it('beyond ⌊(n − 64)/2⌋ it never returns a set that leaves 64 honest-looking keys plus a wrong one', () => {
    fc.assert(
      fc.property(arbKeys, arbMsg, arbMsg, (xs, m, forged) => {
        const n = xs.length;
        const t = Math.floor((n - 64) / 2) + 1;
        const values = codeword(m, xs);
        const fake = codeword(forged, xs);
        const bad = new Set<number>();
        for (let i = 0; i < t; i++) if (fake[i] !== values[i]) {
          values[i] = fake[i];
          bad.add(i);
        }
        const r = locateErrors(xs, [values]);
        // Either it gives up, or what it keeps is one codeword (checked by the caller's digest).
        if (r !== undefined && bad.size > Math.floor((n - 64) / 2)) {
          const keep = xs.filter((_, i) => !r.includes(i));
          const kept = values.filter((_, i) => !r.includes(i));
          expect(locateErrors(keep, [kept])).toEqual([]);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('gives up with 64 keys or fewer (nothing to check)', () => {
    const xs = [...Array(64).keys()];
    expect(locateErrors(xs, [new Uint8Array(64)])).toBeUndefined();
    expect(locateErrors([...xs, 200], [new Uint8Array(65)])).toEqual([]);
  });

  it('Berlekamp–Massey finds the recurrence of a sum of two geometric sequences', () => {
    // S_l = 3·5^l + 7·9^l: connection polynomial (1 − 5z)(1 − 9z) = 1 + (5⊕9)z + (5·9)z².
    const pow = (a: number, e: number) => { let v = 1; for (let i = 0; i < e; i++) v = gfMul(v, a); return v; };
    const S = Array.from({ length: 6 }, (_, l) => gfMul(3, pow(5, l)) ^ gfMul(7, pow(9, l)));
    expect(berlekampMassey(S)).toEqual({ C: [1, 5 ^ 9, gfMul(5, 9)], L: 2 });
  });
});

describe('fingerprints of real packets', () => {
  const codec = createReferenceCodec();
  const frame = Uint8Array.from({ length: 5000 }, (_, i) => (i * 73 + 11) & 0xff);
  const forged = Uint8Array.from({ length: 5000 }, (_, i) => (i * 37 + 5) & 0xff);
  const P = 128;

  it('are a codeword of the feed code, and locate corrupted packets (colluders sending a forged frame)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 70, max: 160 }), fc.integer(), fc.integer({ min: 0, max: 1 << 30 }), (n, seq, secret) => {
        const xs = [...Array(n).keys()].map((i) => (i * 97 + (seq & 0xff)) & 0xff);
        const coef = fingerprintCoefficients(secret, seq, P);
        const t = Math.floor((n - 64) / 2);
        const sent = new Set(xs.filter((_, i) => i % 3 === 0).slice(0, t));
        const packet = (x: number) => (sent.has(x) ? codec.feedPacket(forged, x) : codec.feedPacket(frame, x));
        // Keys past the frame's end are zero padding in both frames: sending the forgery changes nothing.
        const bad = new Set([...sent].filter((x) => packet(x).some((v, i) => v !== codec.feedPacket(frame, x)[i])));
        const fps = xs.map((x) => fingerprint(coef, packet(x)));
        const values = Array.from({ length: FINGERPRINT_BYTES }, (_, k) => Uint8Array.from(fps, (f) => f[k]));
        const got = (locateErrors(xs, values) ?? []).map((i) => xs[i]);
        expect(new Set(got)).toEqual(bad);
      }),
      { numRuns: 12 },
    );
  });

  it('differ between peers and frames (the coefficients are secret per peer and frame)', () => {
    const a = fingerprintCoefficients(1, 5, P);
    expect(a).not.toEqual(fingerprintCoefficients(2, 5, P));
    expect(a).not.toEqual(fingerprintCoefficients(1, 6, P));
    expect(a).toEqual(fingerprintCoefficients(1, 5, P));
  });
});

describe('cleanSets', () => {
  it('finds 3 colluding sources of 8 by leaving sources out, where locating alone cannot', () => {
    fc.assert(
      fc.property(arbMsg, arbMsg, fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: 3, maxLength: 3 }), fc.integer({ min: 13, max: 20 }), (m, forged, evil, per) => {
        // 8 sources with `per` keys each (104…160 keys): 3/8 of them forged, too many to locate at once.
        const xs = [...Array(8 * per).keys()];
        const src = (x: number) => `s${x % 8}`;
        // Four fingerprint bytes per key: four codewords (rotations of the messages stand in for
        // the secret combinations), the group's all from one forged frame.
        const rot = (a: Uint8Array, k: number) => Uint8Array.from(a, (_, i) => a[(i + 17 * k) % 64] ^ k);
        const good = [0, 1, 2, 3].map((k) => codeword(rot(m, k), xs));
        const fake = [0, 1, 2, 3].map((k) => codeword(rot(forged, k), xs));
        const bad = new Set(xs.filter((x) => evil.includes(x % 8) && good.some((g, k) => g[x] !== fake[k][x])));
        const fingerprints = new Map(xs.map((x) => [x, Uint8Array.from(good, (g, k) => (evil.includes(x % 8) ? fake[k][x] : g[x]))]));
        expect(locateErrors(xs, [0, 1, 2, 3].map((k) => Uint8Array.from(xs, (x) => (fingerprints.get(x) as Uint8Array)[k])))).toBeUndefined();
        const sets = [...cleanSets({ keys: xs, fingerprints, sourceOf: src, suspects: [], maxErased: 3, maxTries: 200 })];
        expect(sets.length).toBeGreaterThan(0);
        // Every set offered is clean (the forged keys are fewer than 64), and one erases exactly the group.
        for (const s of sets) for (const x of s.keys) expect(bad.has(x), `key ${x}`).toBe(false);
        expect(sets.some((s) => s.erased.length === 3 && evil.every((e) => s.erased.includes(`s${e}`)))).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('tries the suspects first and never erases trusted keys', () => {
    const m = Uint8Array.from({ length: 64 }, (_, i) => i * 3);
    const xs = [...Array(100).keys()];
    const good = codeword(m, xs);
    const fingerprints = new Map(xs.map((x) => [x, Uint8Array.of(x % 4 === 1 ? good[x] ^ 1 : good[x], 0, 0, 0)]));
    const src = (x: number) => (x % 4 === 0 ? '' : `s${x % 4}`);
    const first = cleanSets({ keys: xs, fingerprints, sourceOf: src, suspects: ['s1'], maxErased: 2, maxTries: 50 }).next().value as CleanSet | undefined;
    expect(first?.erased).toEqual(['s1']);
    expect(first?.keys.every((x: number) => x % 4 !== 1)).toBe(true);
  });
});
