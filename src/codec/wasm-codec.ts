// The codec on the WebAssembly kernel: lays frames, segments and packets out in the kernel's data
// region, sets coefficient rows from G and H, and copies results out into caller-owned arrays.
// Decode and producer matrices are cached per key set (bounded LRU). Called via createCodec.

import { P2PError } from '../errors.ts';
import type { Kernel } from '../kernel/load-kernel.ts';
import {
  CODEC_ERRORS, checkCodeSegment, checkFrame, checkKey, checkKeyList, checkSeeds, GROUPS, planDecode,
  type DecodePlan,
} from './codec-input.ts';
import type { Codec, CodecBuild } from './codec.ts';
import { FEED_K, feedGenerator, KEYS, SEGMENT_K, segmentGenerator } from './generators.ts';
import { gfInvert, gfMatMul } from './gf-matrix.ts';
import { producerStep } from './producer-step.ts';

const KIB = 1024;
/** Offsets inside the kernel's data region. */
const FRAME = 0; // 64 KiB: the padded frame (64 rows of P)
const INPUT = 64 * KIB; // 64 KiB: coded packets, seeds, a code segment
const OUTPUT = 128 * KIB; // 256 KiB: batch outputs
const SCRATCH = 384 * KIB; // 16 KiB: decode-matrix products
const OUTPUT_BYTES = 256 * KIB;

export interface WasmCodecOptions {
  /** Decode matrices kept (per set of keys); 0 disables the cache. Default 64. */
  decodeCacheEntries?: number;
}

class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) { this.map.delete(k); this.map.set(k, v); }
    return v;
  }
  set(k: string, v: V): void {
    if (this.max <= 0) return;
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
}

/** A Codec on a loaded kernel instance (the codec owns the instance from now on). */
export function createWasmCodec(kernel: Kernel, options: WasmCodecOptions = {}): Codec {
  const { heap, matrix, inPtrs, outPtrs, exports: ex } = kernel;
  const D = kernel.dataPtr;
  const G = feedGenerator();
  const H = segmentGenerator();
  const decodeCache = new Lru<Uint8Array>(options.decodeCacheEntries ?? 64);
  const seedCache = new Lru<Uint8Array>(64);

  const run = (nOut: number, nIn: number, len: number, nBlocks = 1, inBS = 0, outBS = 0): void => {
    if (ex.mulRows(nOut, nIn, len, nBlocks, inBS, outBS) !== 0) {
      throw new P2PError(CODEC_ERRORS.internal, 'kernel rejected a row product');
    }
  };

  const loadFrame = (frame: Uint8Array, P: number): void => {
    heap.set(frame, D + FRAME);
    heap.fill(0, D + FRAME + frame.length, D + FRAME + FEED_K * P);
  };

  function codeSegments(frame: Uint8Array, cs: readonly number[]): Uint8Array[] {
    const P = checkFrame(frame);
    checkKeyList(cs, KEYS, 'c');
    const Q = P / SEGMENT_K;
    loadFrame(frame, P);
    const out: Uint8Array[] = new Array(cs.length);
    const coded: number[] = [];
    cs.forEach((c, i) => {
      if (c >= SEGMENT_K) { coded.push(i); return; }
      const seg = new Uint8Array(SEGMENT_K * P);
      for (let j = 0; j < FEED_K; j++) seg.set(heap.subarray(D + FRAME + j * P + c * Q, D + FRAME + j * P + c * Q + Q), j * Q);
      out[i] = seg;
    });
    const per = OUTPUT_BYTES / (SEGMENT_K * P);
    for (let at = 0; at < coded.length; at += per) {
      const batch = coded.slice(at, at + per);
      for (let s = 0; s < SEGMENT_K; s++) inPtrs[s] = D + FRAME + s * Q;
      batch.forEach((i, r) => {
        matrix.set(H.subarray(cs[i] * SEGMENT_K, cs[i] * SEGMENT_K + SEGMENT_K), r * SEGMENT_K);
        outPtrs[r] = D + OUTPUT + r * SEGMENT_K * P;
      });
      run(batch.length, SEGMENT_K, Q, FEED_K, P, Q);
      batch.forEach((i, r) => { out[i] = heap.slice(D + OUTPUT + r * SEGMENT_K * P, D + OUTPUT + (r + 1) * SEGMENT_K * P); });
    }
    return out;
  }

  function seedPackets(cs: Uint8Array, gs: readonly number[]): Uint8Array[] {
    const P = checkCodeSegment(cs);
    checkKeyList(gs, GROUPS, 'g');
    const Q = P / SEGMENT_K;
    const out: Uint8Array[] = new Array(gs.length);
    const coded: number[] = [];
    gs.forEach((g, i) => {
      if (g < SEGMENT_K) out[i] = cs.slice(g * P, g * P + P); else coded.push(i);
    });
    if (coded.length === 0) return out;
    heap.set(cs, D + INPUT);
    for (let j = 0; j < FEED_K; j++) inPtrs[j] = D + INPUT + j * Q;
    coded.forEach((i, k) => {
      const g = gs[i];
      matrix.set(G.subarray(SEGMENT_K * g * FEED_K, SEGMENT_K * (g + 1) * FEED_K), k * SEGMENT_K * FEED_K);
      for (let m = 0; m < SEGMENT_K; m++) outPtrs[k * SEGMENT_K + m] = D + OUTPUT + k * P + m * Q;
    });
    run(coded.length * SEGMENT_K, FEED_K, Q);
    coded.forEach((i, k) => { out[i] = heap.slice(D + OUTPUT + k * P, D + OUTPUT + (k + 1) * P); });
    return out;
  }

  function feedPackets(frame: Uint8Array, xs: readonly number[]): Uint8Array[] {
    const P = checkFrame(frame);
    checkKeyList(xs, KEYS, 'x');
    loadFrame(frame, P);
    const out: Uint8Array[] = new Array(xs.length);
    const coded: number[] = [];
    xs.forEach((x, i) => {
      if (x < FEED_K) out[i] = heap.slice(D + FRAME + x * P, D + FRAME + (x + 1) * P); else coded.push(i);
    });
    if (coded.length === 0) return out;
    for (let j = 0; j < FEED_K; j++) inPtrs[j] = D + FRAME + j * P;
    coded.forEach((i, r) => {
      matrix.set(G.subarray(xs[i] * FEED_K, (xs[i] + 1) * FEED_K), r * FEED_K);
      outPtrs[r] = D + OUTPUT + r * P;
    });
    run(coded.length, FEED_K, P);
    coded.forEach((i, r) => { out[i] = heap.slice(D + OUTPUT + r * P, D + OUTPUT + (r + 1) * P); });
    return out;
  }

  function seedInverse(keys: number[]): Uint8Array {
    const id = keys.join(',');
    let inv = seedCache.get(id);
    if (inv === undefined) {
      const A = new Uint8Array(SEGMENT_K * SEGMENT_K);
      keys.forEach((c, k) => A.set(H.subarray(c * SEGMENT_K, (c + 1) * SEGMENT_K), k * SEGMENT_K));
      inv = gfInvert(A, SEGMENT_K) as Uint8Array; // distinct keys: rows of H are independent
      seedCache.set(id, inv);
    }
    return inv;
  }

  function solveSeeds(basisKeys: number[], basisSeeds: Uint8Array[], P: number, others: number[]) {
    const Q = P / SEGMENT_K;
    const Ainv = seedInverse(basisKeys);
    basisSeeds.forEach((s, k) => { heap.set(s, D + INPUT + k * P); inPtrs[k] = D + INPUT + k * P; });
    matrix.set(Ainv);
    for (let s = 0; s < SEGMENT_K; s++) outPtrs[s] = D + OUTPUT + s * Q;
    run(SEGMENT_K, SEGMENT_K, Q, SEGMENT_K, Q, P);
    const feed = Array.from({ length: SEGMENT_K }, (_, m) => heap.slice(D + OUTPUT + m * P, D + OUTPUT + (m + 1) * P));
    const predicted: Uint8Array[] = [];
    if (others.length > 0) {
      const rows = new Uint8Array(others.length * SEGMENT_K);
      others.forEach((c, t) => rows.set(H.subarray(c * SEGMENT_K, (c + 1) * SEGMENT_K), t * SEGMENT_K));
      matrix.set(gfMatMul(rows, Ainv, others.length, SEGMENT_K, SEGMENT_K));
      const base = D + OUTPUT + SEGMENT_K * P;
      others.forEach((_, t) => { outPtrs[t] = base + t * P; });
      run(others.length, SEGMENT_K, Q, SEGMENT_K, Q, Q);
      others.forEach((_, t) => predicted.push(heap.slice(base + t * P, base + (t + 1) * P)));
    }
    return { feed, predicted };
  }

  /** D = [B⁻¹ | B⁻¹·C] over inputs [coded packets, present parts]; B = G[coded][missing], C = G[coded][present]. */
  function decodeMatrix(plan: DecodePlan): Uint8Array {
    const { present, missing, coded } = plan;
    const id = `${missing.join(',')}|${coded.join(',')}`;
    const hit = decodeCache.get(id);
    if (hit !== undefined) return hit;
    const m = missing.length;
    const e = present.length;
    for (let r = 0; r < m; r++) for (let i = 0; i < m; i++) matrix[r * m + i] = G[coded[r] * FEED_K + missing[i]];
    if (ex.invert(m) !== 0) throw new P2PError(CODEC_ERRORS.internal, 'decode matrix is singular');
    const dm = new Uint8Array(m * FEED_K);
    for (let i = 0; i < m; i++) dm.set(matrix.subarray(i * m, i * m + m), i * FEED_K);
    if (e > 0) {
      const cIn = D + SCRATCH;
      const cOut = D + SCRATCH + FEED_K * FEED_K;
      heap.fill(0, cIn, cIn + m * FEED_K);
      for (let r = 0; r < m; r++) {
        for (let k = 0; k < e; k++) heap[cIn + r * FEED_K + k] = G[coded[r] * FEED_K + present[k]];
        inPtrs[r] = cIn + r * FEED_K;
        outPtrs[r] = cOut + r * FEED_K;
      }
      run(m, m, FEED_K); // matrix still holds B⁻¹
      for (let i = 0; i < m; i++) dm.set(heap.subarray(cOut + i * FEED_K, cOut + i * FEED_K + e), i * FEED_K + m);
    }
    decodeCache.set(id, dm);
    return dm;
  }

  function decodeFrame(packets: Map<number, Uint8Array>, L: number): Uint8Array {
    const plan = planDecode(packets, L);
    const { P, present, missing, coded } = plan;
    if (missing.length === 0) {
      const out = new Uint8Array(L);
      for (let j = 0; j * P < L; j++) {
        const p = packets.get(j) as Uint8Array;
        out.set(j * P + P <= L ? p : p.subarray(0, L - j * P), j * P);
      }
      return out;
    }
    const dm = decodeMatrix(plan);
    const m = missing.length;
    for (const j of present) heap.set(packets.get(j) as Uint8Array, D + FRAME + j * P);
    coded.forEach((y, r) => {
      heap.set(packets.get(y) as Uint8Array, D + INPUT + r * P);
      inPtrs[r] = D + INPUT + r * P;
    });
    present.forEach((j, k) => { inPtrs[m + k] = D + FRAME + j * P; });
    missing.forEach((j, i) => { outPtrs[i] = D + FRAME + j * P; });
    matrix.set(dm);
    run(m, FEED_K, P);
    return heap.slice(D + FRAME, D + FRAME + L);
  }

  return {
    build: kernel.build as CodecBuild,
    codeSegment: (frame, c) => codeSegments(frame, [checkKey(c, KEYS, 'c')])[0],
    codeSegments,
    seedPacket: (cs, g) => seedPackets(cs, [checkKey(g, GROUPS, 'g')])[0],
    seedPackets,
    feedPacketsFromSeeds: (seeds, g) => producerStep(checkSeeds(seeds, g), g, solveSeeds),
    feedPacket: (frame, x) => feedPackets(frame, [checkKey(x, KEYS, 'x')])[0],
    feedPackets,
    decodeFrame,
  };
}
