// A second implementation of the code (DESIGN section 3), written for this test and sharing nothing
// with the codec under test: field products by shift-and-reduce (no log/antilog tables), inverses
// by exponentiation (a^254), and the generators as Lagrange basis polynomials evaluated at the key
// (G[x][j] = prod over k != j of (x - k)/(j - k) on nodes 0..63; H likewise on nodes 0..7) instead
// of Vandermonde matrix inversion; decoding by Lagrange interpolation through the received keys.
// It checks the committed vectors.json (written by the reference codec) and the codecs against it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyRuns } from './codec-contract.ts';
import { createCodec } from './create-codec.ts';

/** a·b in GF(2^8) mod x^8+x^4+x^3+x^2+1, bit by bit. */
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
/** Product table filled by mulSlow, for speed only. */
const MUL = new Uint8Array(65536);
for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) MUL[(a << 8) | b] = mulSlow(a, b);
const mul = (a: number, b: number) => MUL[(a << 8) | b];
/** a^254 = a^-1 for a != 0 (tabled once). */
function pow254(a: number): number {
  let r = 1;
  for (let i = 0; i < 254; i++) r = mul(r, a);
  return r;
}
const INV = Uint8Array.from({ length: 256 }, (_, a) => pow254(a));
const inv = (a: number) => INV[a];

/** ℓ_j(x) for the nodes given (distinct field elements): 1 at node j, 0 at the others. */
function lagrange(nodes: readonly number[], j: number, x: number): number {
  let num = 1;
  let den = 1;
  for (const k of nodes) {
    if (k === nodes[j]) continue;
    num = mul(num, x ^ k);
    den = mul(den, nodes[j] ^ k);
  }
  return mul(num, inv(den));
}
const NODES64 = Array.from({ length: 64 }, (_, j) => j);
const NODES8 = Array.from({ length: 8 }, (_, s) => s);
const gRow = (x: number) => NODES64.map((j) => lagrange(NODES64, j, x));
const hRow = (c: number) => NODES8.map((s) => lagrange(NODES8, s, c));

/** Σ coef[i] · rows[i], bytewise. */
function combine(coef: readonly number[], rows: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  coef.forEach((k, i) => {
    if (k === 0) return;
    const r = rows[i];
    for (let b = 0; b < n; b++) out[b] ^= mul(k, r[b]);
  });
  return out;
}

/** The code of one frame, straight from the definitions. */
function second(F: Uint8Array) {
  const P = 128 * Math.ceil(F.length / 8192);
  const padded = new Uint8Array(64 * P);
  padded.set(F);
  const I = NODES64.map((j) => padded.subarray(j * P, (j + 1) * P));
  const S = (j: number, s: number) => I[j].subarray((s * P) / 8, ((s + 1) * P) / 8);
  const T = (j: number, c: number) => combine(hRow(c), NODES8.map((s) => S(j, s)), P / 8);
  const CS = (c: number) => {
    const out = new Uint8Array(8 * P);
    for (let j = 0; j < 64; j++) out.set(T(j, c), (j * P) / 8);
    return out;
  };
  const FP = (x: number) => combine(gRow(x), I, P);
  const SP = (c: number, g: number) => {
    const Ts = NODES64.map((j) => T(j, c));
    const out = new Uint8Array(P);
    for (let m = 0; m < 8; m++) out.set(combine(gRow(8 * g + m), Ts, P / 8), (m * P) / 8);
    return out;
  };
  return { P, CS, FP, SP };
}

/** The frame from 64 feed packets by interpolation through their keys, padding cut to L. */
function interpolate(packets: ReadonlyMap<number, Uint8Array>, L: number): Uint8Array {
  const xs = [...packets.keys()];
  const rows = xs.map((x) => packets.get(x)!);
  const P = rows[0].length;
  const out = new Uint8Array(64 * P);
  for (let j = 0; j < 64; j++) out.set(combine(xs.map((_, i) => lagrange(xs, i, j)), rows, P), j * P);
  return out.subarray(0, L);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The vectors' frame formula, as vectors.json states it. */
const frameOf = (L: number, seed: number) => Uint8Array.from({ length: L }, (_, i) => (167 * i + 13 * Math.floor(i / 256) + seed) & 255);
const committed = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8'));

describe('a second implementation of the code', () => {
  it('is the field of the design: 2 generates it, products distribute, x·x^-1 = 1', () => {
    const seen = new Set<number>();
    for (let i = 0, v = 1; i < 255; i++, v = mul(v, 2)) seen.add(v);
    expect(seen.size).toBe(255);
    expect(mul(0x80, 2)).toBe(0x1d);
    for (let a = 1; a < 256; a++) expect(mul(a, inv(a))).toBe(1);
  });

  it('agrees with the committed generator digests and rows', () => {
    const G = new Uint8Array(256 * 64);
    const H = new Uint8Array(256 * 8);
    for (let x = 0; x < 256; x++) G.set(gRow(x), x * 64);
    for (let c = 0; c < 256; c++) H.set(hRow(c), c * 8);
    expect(committed.frameFormula).toBe('F[i] = (167*i + 13*floor(i/256) + seed) mod 256 for i = 0..L-1');
    expect(Buffer.from(G.subarray(64 * 64, 65 * 64)).toString('hex')).toBe(committed.generators.Grow64);
    expect(Buffer.from(H.subarray(64, 72)).toString('hex')).toBe(committed.generators.Hrow8);
    expect(sha(G)).toBe(committed.generators.G);
    expect(sha(H)).toBe(committed.generators.H);
  });

  it('gives every digest of vectors.json', () => {
    expect(committed.frames).toHaveLength(5);
    for (const v of committed.frames) {
      const F = frameOf(v.L, v.seed);
      const code = second(F);
      expect(code.P).toBe(v.P);
      expect(sha(F)).toBe(v.frame);
      for (const [c, d] of Object.entries(v.codeSegments)) expect(sha(code.CS(Number(c))), `CS(${c}) L=${v.L}`).toBe(d);
      for (const [x, d] of Object.entries(v.feedPackets)) expect(sha(code.FP(Number(x))), `FP(${x}) L=${v.L}`).toBe(d);
      for (const [cg, d] of Object.entries(v.seedPackets)) {
        const [c, g] = cg.split(',').map(Number);
        expect(sha(code.SP(c, g)), `SP(${cg}) L=${v.L}`).toBe(d);
      }
    }
  });

  it('the codec (fastest build) gives its bytes, and decodes what interpolation decodes', async () => {
    const codec = await createCodec();
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 8192 }),
      fc.integer({ min: 0, max: 255 }),
      fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 64, maxLength: 64 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 31 }),
      (L, seed, xs, c, g) => {
        const F = frameOf(L, seed);
        const code = second(F);
        const fps = codec.feedPackets(F, xs);
        xs.slice(0, 4).forEach((x, i) => expect(fps[i]).toEqual(code.FP(x)));
        expect(codec.codeSegment(F, c)).toEqual(code.CS(c));
        expect(codec.seedPacket(codec.codeSegment(F, c), g)).toEqual(code.SP(c, g));
        const packets = new Map(xs.map((x, i) => [x, fps[i]]));
        expect(interpolate(packets, L)).toEqual(F);
        expect(codec.decodeFrame(packets, L)).toEqual(F);
      },
    ), { numRuns: propertyRuns(100, 5), examples: [[1, 1, Array.from({ length: 64 }, (_, i) => 192 + i), 255, 31], [8193, 2, Array.from({ length: 64 }, (_, i) => i), 7, 0]] });
  });
});
