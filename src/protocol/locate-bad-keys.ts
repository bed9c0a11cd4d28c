// Locating corrupted feed packets with the Reed-Solomon code itself (errors-and-erasures decoding),
// cheaply: each received packet FP(x) is folded into a few bytes, its *fingerprint*, by secret
// random linear combinations of its bytes. FP(x)[b] = p_b(x) for polynomials p_b of degree < 64
// (DESIGN section 3: G = V·V_top⁻¹), so a fingerprint Σ_b r_b·FP(x)[b] is again such a polynomial
// evaluated at x: the fingerprints of a frame's keys form a codeword of the same code. With n
// received keys, syndromes of the fingerprints locate up to ⌊(n − 64)/2⌋ corrupted keys
// (Berlekamp–Massey, then a root search over the received keys); leaving out whole sources first
// (erasures, one key of capacity each) finds the rest. Pure: no clock, no I/O, no randomness of its
// own (the coefficients come from a seed). Used by the frame verifier and the pollution benchmark.

import { FEED_K } from '../codec/generators.ts';
import { GF_EXP, GF_LOG, GF_MUL, gfInv } from '../codec/gf256.ts';

/** Bytes of fingerprint per packet (fixed: `fingerprint` makes 4): a corrupted packet escapes all with probability 2^-32. */
export const FINGERPRINT_BYTES = 4;

/**
 * The secret coefficients of one frame's fingerprints: FINGERPRINT_BYTES rows of P bytes, made from
 * the peer's secret and the frame's sequence (xorshift-multiply mixing, then mulberry32). A sender
 * that does not know the secret cannot make a corruption the fingerprints miss.
 */
export function fingerprintCoefficients(secret: number, seq: number, P: number): Uint8Array {
  let s = (Math.imul(secret ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seq + 0x632be5ab, 0xc2b2ae35)) >>> 0;
  const out = new Uint8Array(FINGERPRINT_BYTES * P);
  for (let i = 0; i < out.length; i += 4) {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t = (t ^ (t >>> 14)) >>> 0;
    out[i] = t & 255;
    out[i + 1] = (t >>> 8) & 255;
    out[i + 2] = (t >>> 16) & 255;
    out[i + 3] = t >>> 24;
  }
  return out;
}

/** The fingerprint of one packet (FINGERPRINT_BYTES bytes): row k is Σ_b coef[k·P + b]·packet[b]. */
export function fingerprint(coef: Uint8Array, packet: Uint8Array): Uint8Array {
  const P = packet.length;
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let b = 0; b < P; b++) {
    const v = packet[b];
    if (v === 0) continue;
    a0 ^= GF_MUL[(coef[b] << 8) | v];
    a1 ^= GF_MUL[(coef[P + b] << 8) | v];
    a2 ^= GF_MUL[(coef[2 * P + b] << 8) | v];
    a3 ^= GF_MUL[(coef[3 * P + b] << 8) | v];
  }
  return Uint8Array.of(a0, a1, a2, a3);
}

/**
 * Berlekamp–Massey over GF(2^8): the shortest connection polynomial C (C[0] = 1) with
 * Σ_{i=0..L} C[i]·S[n−i] = 0 for every n in L..S.length−1. Returns C, degree L.
 */
export function berlekampMassey(S: ArrayLike<number>): { C: number[]; L: number } {
  let C = [1];
  let B = [1];
  let L = 0;
  let m = 1;
  let b = 1;
  for (let n = 0; n < S.length; n++) {
    let d = S[n];
    for (let i = 1; i <= L; i++) if (C[i] && S[n - i]) d ^= GF_EXP[GF_LOG[C[i]] + GF_LOG[S[n - i]]];
    if (d === 0) {
      m++;
      continue;
    }
    const coef = GF_MUL[(d << 8) | gfInv(b)];
    const T = C.slice();
    const need = B.length + m;
    while (C.length < need) C.push(0);
    for (let i = 0; i < B.length; i++) if (B[i]) C[i + m] ^= GF_MUL[(coef << 8) | B[i]];
    if (2 * L <= n) {
      L = n + 1 - L;
      B = T;
      b = d;
      m = 1;
    } else m++;
  }
  while (C.length > 1 && C[C.length - 1] === 0) C.pop();
  return { C, L };
}

/**
 * Which of the received keys carry corrupted values, from one fingerprint byte per key (or more).
 * `xs` are distinct keys (0…255), `values[k][i]` fingerprint byte k of key xs[i]. With n keys the
 * code has n − 64 checks; any e ≤ ⌊(n − 64)/2⌋ corrupted keys are found exactly, whatever their
 * values (a colluding group's included). Returns the indices (into xs) of the corrupted keys, [] when
 * all agree, or undefined when the values are beyond what n keys can locate (more corrupted keys
 * than that, or n ≤ 64: nothing to check). Cost O(n² + k·n·(n − 64)). Mutates nothing.
 */
export function locateErrors(xs: readonly number[], values: readonly Uint8Array[]): number[] | undefined {
  const n = Math.min(xs.length, 255);
  if (n <= FEED_K) return undefined;
  const a = shiftFor(xs.slice(0, n));
  return locateShifted(xs.slice(0, n), values, a, dualLogs(xs.slice(0, n), a));
}

/**
 * A value that is no key: the evaluation points are shifted by it so none is 0 (locators are
 * inverted). p(x) of degree < 64 is p'(x ⊕ a) of the same degree, so the code stays the same.
 */
function shiftFor(xs: readonly number[]): number {
  const used = new Uint8Array(256);
  for (const x of xs) used[x] = 1;
  let a = 0;
  while (a < 255 && used[a]) a++;
  return a;
}

/**
 * Logs of the column multipliers of the dual code: v_i = 1 / Π_{j≠i} (α_i − α_j). Σ_i v_i·f(α_i) = 0
 * for every f of degree ≤ n − 2, so S_l = Σ_i v_i·y_i·α_i^l vanishes for l < n − 64 on a codeword.
 */
function dualLogs(xs: readonly number[], a: number): Int32Array {
  const n = xs.length;
  const logV = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) if (j !== i) s += GF_LOG[xs[i] ^ xs[j]];
    logV[i] = (255 - (s % 255)) % 255;
  }
  void a; // differences do not depend on the shift
  return logV;
}

function locateShifted(xs: readonly number[], values: readonly Uint8Array[], a: number, logV: Int32Array): number[] | undefined {
  const n = xs.length;
  const r = n - FEED_K;
  if (r <= 0) return undefined;
  const logAlpha = new Int32Array(n);
  for (let i = 0; i < n; i++) logAlpha[i] = GF_LOG[xs[i] ^ a];
  const bad = new Set<number>();
  const S = new Uint8Array(r);
  for (const y of values) {
    S.fill(0);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (y[i] === 0) continue;
      let lw = (logV[i] + GF_LOG[y[i]]) % 255;
      const step = logAlpha[i];
      for (let l = 0; l < r; l++) {
        S[l] ^= GF_EXP[lw];
        lw += step;
        if (lw >= 255) lw -= 255;
      }
    }
    for (let l = 0; l < r; l++) if (S[l]) any = true;
    if (!any) continue;
    const { C, L } = berlekampMassey(S);
    if (2 * L > r || C.length !== L + 1) return undefined;
    // Roots of Λ(z) = Π (1 − α_i z) are the inverses of the corrupted keys' points.
    let roots = 0;
    for (let i = 0; i < n; i++) {
      const inv = (255 - logAlpha[i]) % 255;
      let acc = 0;
      let lz = 0;
      for (let d = 0; d < C.length; d++) {
        if (C[d]) acc ^= GF_EXP[GF_LOG[C[d]] + lz];
        lz += inv;
        if (lz >= 255) lz -= 255;
      }
      if (acc === 0) {
        bad.add(i);
        roots++;
      }
    }
    if (roots !== L) return undefined;
  }
  if (bad.size > r / 2) return undefined;
  return [...bad].sort((p, q) => p - q);
}

/** One way to decode a polluted frame: the keys to trust, and what was left out and why. */
export interface CleanSet {
  /** Keys whose fingerprints agree after leaving out the rest (more than 64: checked). */
  keys: number[];
  /** Keys located as corrupted. */
  located: number[];
  /** Sources whose keys were all left out (erasures) before locating. */
  erased: string[];
}

export interface LocateInput {
  /** Received keys to consider (distinct). */
  keys: readonly number[];
  /** Fingerprint of each key (FINGERPRINT_BYTES bytes). */
  fingerprints: ReadonlyMap<number, Uint8Array>;
  /** Source of each key ('' for a trusted one: the broadcaster's or made here, never erased). */
  sourceOf(x: number): string;
  /** Sources in the order to try leaving them out (most suspect first). */
  suspects: readonly string[];
  /** At most this many sources are left out together. */
  maxErased: number;
  /** At most this many locations are tried (the CPU bound of one search). */
  maxTries: number;
}

/**
 * The clean sets of a polluted frame, best first: locate corrupted keys among all of them; then
 * leave out one source (most suspect first), two, … up to `maxErased`, and locate among the rest.
 * Each yielded set has more than 64 keys whose fingerprints form one codeword with at least one
 * check to spare (n ≥ 64 + 2t + 1 for t located keys); the caller decodes
 * from it and checks the signed digest (a colluding group's consistent forgery fails there).
 */
export function* cleanSets(inp: LocateInput): Generator<CleanSet> {
  let tries = 0;
  const bySource = new Map<string, number[]>();
  for (const x of inp.keys) {
    const s = inp.sourceOf(x);
    if (s === '') continue;
    const l = bySource.get(s);
    if (l) l.push(x);
    else bySource.set(s, [x]);
  }
  const sources = inp.suspects.filter((s) => bySource.has(s));
  for (const s of bySource.keys()) if (!sources.includes(s)) sources.push(s);
  // The dual multipliers of all keys once (O(n²)); leaving keys out divides their factors back out.
  const all = inp.keys.slice(0, 255);
  const shift = shiftFor(all);
  const logAll = dualLogs(all, shift);
  const fp = all.map((x) => inp.fingerprints.get(x) as Uint8Array);
  const attempt = (erased: string[]): CleanSet | undefined => {
    const out = new Set<string>(erased);
    const keep: number[] = [];
    const gone: number[] = [];
    all.forEach((x, i) => (out.has(inp.sourceOf(x)) ? gone : keep).push(i));
    if (keep.length <= FEED_K) return undefined;
    tries++;
    const xs = keep.map((i) => all[i]);
    const logV = Int32Array.from(keep, (i) => {
      let s = logAll[i];
      for (const j of gone) s += GF_LOG[all[i] ^ all[j]];
      return s % 255;
    });
    // Byte 0 screens (a failing set usually fails there); the other bytes confirm.
    const values: Uint8Array[] = [];
    for (let k = 0; k < FINGERPRINT_BYTES; k++) values.push(Uint8Array.from(keep, (i) => fp[i][k]));
    if (locateShifted(xs, [values[0]], shift, logV) === undefined) return undefined;
    const bad = locateShifted(xs, values, shift, logV);
    if (bad === undefined) return undefined;
    // One check beyond those the location used must agree too: a set that merely fits (as any
    // 64 keys plus a lucky few would) is not offered.
    if (xs.length - FEED_K - 2 * bad.length < 1) return undefined;
    const located = bad.map((i) => xs[i]);
    const drop = new Set(located);
    return { keys: xs.filter((x) => !drop.has(x)), located, erased };
  };
  // Subsets of sources by size, each size in order of suspicion (lexicographic over `sources`).
  for (let size = 0; size <= Math.min(inp.maxErased, sources.length); size++) {
    const idx = Array.from({ length: size }, (_, i) => i);
    for (;;) {
      if (tries >= inp.maxTries) return;
      const c = attempt(idx.map((i) => sources[i]));
      if (c) yield c;
      let i = size - 1;
      while (i >= 0 && idx[i] === sources.length - size + i) i--;
      if (i < 0) break;
      idx[i]++;
      for (let j = i + 1; j < size; j++) idx[j] = idx[j - 1] + 1;
    }
  }
}
