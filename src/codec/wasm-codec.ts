// The codec on the WebAssembly kernel: lays frames, segments and packets out in the kernel's data
// region, sets coefficient rows from G and H, and copies results out into caller-owned arrays.
// Decode and producer matrices are cached per key set (bounded LRU). Called via createCodec.

import { P2PError } from '../errors.ts';
import type { Kernel } from '../kernel/load-kernel.ts';
import {
  CODEC_ERRORS, checkCodeSegment, checkFrame, checkFrameOut, checkKey, checkKeyList, checkPackets, checkSeeds, GROUPS, KeyPlan, MAX_PACKET_BYTES,
} from './codec-input.ts';
import type { Codec, CodecBuild } from './codec.ts';
import { FEED_K, feedGenerator, KEYS, SEGMENT_K, segmentGenerator } from './generators.ts';
import { gfInvert, gfMatMul } from './gf-matrix.ts';
import { producerStep } from './producer-step.ts';
import { createStages, STAGE_BYTES, STAGE_CODED, STAGE_SEED, STAGE_SEG, STAGE_SYS } from './stage.ts';

const KIB = 1024;
/** Offsets inside the kernel's data region. */
const FRAME = 0; // 64 KiB: the padded frame (64 rows of P)
const INPUT = 64 * KIB; // 64 KiB: coded packets, seeds, a code segment
const OUTPUT = 128 * KIB; // 256 KiB: batch outputs
const SCRATCH = 384 * KIB; // 16 KiB: decode-matrix products
const STAGE = 400 * KIB; // 296 KiB: the staged API's regions (stage.ts), touched by nothing else
const OUTPUT_BYTES = 256 * KIB;
const ARENA_BYTES = 64 * KIB;

export interface WasmCodecOptions {
  /** Decode matrices kept (per set of keys); 0 disables the cache. Default 64. */
  decodeCacheEntries?: number;
}

class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined && this.map.size > 1) { this.map.delete(k); this.map.set(k, v); }
    return v;
  }
  set(k: string, v: V): void {
    if (this.max <= 0) return;
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
}

/**
 * A Codec on a loaded kernel instance (the codec owns the instance from now on). The arrays of
 * one batch call (codeSegments, seedPackets, feedPackets, feedPacketsFromSeeds) may be views of
 * one fresh ArrayBuffer made for that call, and single packets views of a shared pool buffer; no
 * later call writes to either (use byteOffset/byteLength, never transfer `.buffer`). The staged
 * API (decodeStage, segmentStage) hands out views of kernel memory instead (see codec.ts).
 */
export function createWasmCodec(kernel: Kernel, options: WasmCodecOptions = {}): Codec {
  const { heap, matrix, inPtrs, outPtrs, exports: ex } = kernel;
  const D = kernel.dataPtr;
  if (STAGE + STAGE_BYTES > kernel.dataBytes) throw new P2PError(CODEC_ERRORS.internal, 'kernel data region too small');
  const G = feedGenerator();
  const H = segmentGenerator();
  const cacheEntries = options.decodeCacheEntries ?? 64;
  const decodeCache = new Lru<Uint8Array>(cacheEntries);
  const seedCache = new Lru<Uint8Array>(64);
  /** Rows of G for each group g (8 rows × 64), made once so setMatrix can recognise them. */
  const groupRows = Array.from({ length: GROUPS }, (_, g) => G.subarray(SEGMENT_K * g * FEED_K, SEGMENT_K * (g + 1) * FEED_K));
  /** The array whose bytes MATRIX holds now (null: unknown), so repeated work skips the copy. */
  let matrixHolds: Uint8Array | null = null;
  const setMatrix = (m: Uint8Array): void => {
    if (matrixHolds !== m) { matrix.set(m); matrixHolds = m; }
  };
  const matrixRow = (row: Uint8Array, at: number): void => { matrix.set(row, at); matrixHolds = null; };
  /** Which layout the row-pointer tables hold (0: none known), so the holder step sets them once. */
  let ptrLayout = 0;
  /** Points the tables at a code segment at `seg` (64 rows of Q) and 8 outputs of Q at `out`. */
  const segmentPtrs = (seg: number, out: number, P: number): void => {
    const tag = ((seg / KIB + 1) * 2048 + out / KIB) * 16 + P / 128; // regions are KiB-aligned, below 2 MiB
    if (ptrLayout === tag) return;
    const Q = P / SEGMENT_K;
    for (let j = 0; j < FEED_K; j++) inPtrs[j] = D + seg + j * Q;
    for (let m = 0; m < SEGMENT_K; m++) outPtrs[m] = D + out + m * Q;
    ptrLayout = tag;
  };

  const run = (nOut: number, nIn: number, len: number, nBlocks = 1, inBS = 0, outBS = 0): void => {
    if (ex.mulRows(nOut, nIn, len, nBlocks, inBS, outBS) !== 0) {
      throw new P2PError(CODEC_ERRORS.internal, 'kernel rejected a row product');
    }
  };
  /** Views of kernel memory made once: the first P bytes of OUTPUT per packet size, the frame for the last L. */
  const outputViews: Uint8Array[] = new Array(8);
  const outputView = (P: number): Uint8Array =>
    outputViews[P / 128 - 1] ?? (outputViews[P / 128 - 1] = heap.subarray(D + OUTPUT, D + OUTPUT + P));
  let frameView = heap.subarray(D + FRAME, D + FRAME);
  const frameOf = (L: number): Uint8Array => {
    if (frameView.length !== L) frameView = heap.subarray(D + FRAME, D + FRAME + L);
    return frameView;
  };
  /** Single packets (≤ 1 KiB) are handed out as views of a 64 KiB arena that is never written
   * again once full (like Node's Buffer pool): one allocation per 64 packets instead of one each. */
  let arena = new Uint8Array(0);
  let arenaAt = 0;
  const packetCopy = (src: Uint8Array): Uint8Array => {
    const n = src.length;
    if (n > MAX_PACKET_BYTES) return src.slice();
    if (arenaAt + n > arena.length) { arena = new Uint8Array(ARENA_BYTES); arenaAt = 0; }
    arena.set(src, arenaAt);
    const out = arena.subarray(arenaAt, arenaAt + n);
    arenaAt += n;
    return out;
  };
  /** n results of `size` bytes at OUTPUT + r·size, as views of one fresh buffer (or the arena for one packet). */
  const takeRows = (n: number, size: number): Uint8Array[] => {
    if (n === 1) return [packetCopy(size <= MAX_PACKET_BYTES ? outputView(size) : heap.subarray(D + OUTPUT, D + OUTPUT + size))];
    const buf = heap.slice(D + OUTPUT, D + OUTPUT + n * size);
    const out: Uint8Array[] = new Array(n);
    for (let r = 0; r < n; r++) out[r] = buf.subarray(r * size, (r + 1) * size);
    return out;
  };
  const loadFrame = (frame: Uint8Array, P: number): void => {
    heap.set(frame, D + FRAME);
    heap.fill(0, D + FRAME + frame.length, D + FRAME + FEED_K * P);
  };
  const framePtrs = (P: number): void => {
    ptrLayout = 0;
    for (let j = 0; j < FEED_K; j++) inPtrs[j] = D + FRAME + j * P;
  };

  /** CS(c) for c < 8: sub-part c of every part, copied from the loaded frame. */
  function copySegment(c: number, P: number): Uint8Array {
    const Q = P / SEGMENT_K;
    const seg = new Uint8Array(SEGMENT_K * P);
    for (let j = 0; j < FEED_K; j++) seg.set(heap.subarray(D + FRAME + j * P + c * Q, D + FRAME + j * P + c * Q + Q), j * Q);
    return seg;
  }

  /** CS(cs[i]) for the coded keys (c ≥ 8) listed, at most 32 at a time; frame loaded. */
  function codedSegments(cs: readonly number[], P: number): Uint8Array[] {
    const Q = P / SEGMENT_K;
    ptrLayout = 0;
    for (let s = 0; s < SEGMENT_K; s++) inPtrs[s] = D + FRAME + s * Q;
    cs.forEach((c, r) => {
      matrixRow(H.subarray(c * SEGMENT_K, (c + 1) * SEGMENT_K), r * SEGMENT_K);
      outPtrs[r] = D + OUTPUT + r * SEGMENT_K * P;
    });
    run(cs.length, SEGMENT_K, Q, FEED_K, P, Q);
    return takeRows(cs.length, SEGMENT_K * P);
  }

  function codeSegment(frame: Uint8Array, c: number): Uint8Array {
    const P = checkFrame(frame);
    checkKey(c, KEYS, 'c');
    loadFrame(frame, P);
    return c < SEGMENT_K ? copySegment(c, P) : codedSegments([c], P)[0];
  }

  function codeSegments(frame: Uint8Array, cs: readonly number[]): Uint8Array[] {
    const P = checkFrame(frame);
    checkKeyList(cs, KEYS, 'c');
    loadFrame(frame, P);
    const out: Uint8Array[] = new Array(cs.length);
    const coded: number[] = [];
    cs.forEach((c, i) => { if (c < SEGMENT_K) out[i] = copySegment(c, P); else coded.push(i); });
    const per = OUTPUT_BYTES / (SEGMENT_K * P);
    for (let at = 0; at < coded.length; at += per) {
      const batch = coded.slice(at, at + per);
      codedSegments(batch.map((i) => cs[i]), P).forEach((seg, r) => { out[batch[r]] = seg; });
    }
    return out;
  }

  /** Rows of G for the first n groups listed (8 rows each) into MATRIX; one copy per run of consecutive groups. */
  function groupMatrix(gs: readonly number[], n: number): void {
    if (n === 1) { setMatrix(groupRows[gs[0]]); return; }
    let k = 0;
    while (k < n) {
      let end = k + 1;
      while (end < n && gs[end] === gs[end - 1] + 1) end++;
      matrixRow(G.subarray(SEGMENT_K * gs[k] * FEED_K, SEGMENT_K * (gs[end - 1] + 1) * FEED_K), k * SEGMENT_K * FEED_K);
      k = end;
    }
  }

  /** SP(c, g) for the coded groups listed (g ≥ 8, distinct); code segment loaded at INPUT. */
  function codedSeeds(gs: readonly number[], P: number): Uint8Array[] {
    const Q = P / SEGMENT_K;
    const n = gs.length;
    segmentPtrs(INPUT, OUTPUT, P);
    for (let r = SEGMENT_K; r < n * SEGMENT_K; r++) outPtrs[r] = D + OUTPUT + r * Q;
    groupMatrix(gs, n);
    run(n * SEGMENT_K, FEED_K, Q);
    return takeRows(n, P);
  }

  function seedPacket(cs: Uint8Array, g: number): Uint8Array {
    const P = checkCodeSegment(cs);
    checkKey(g, GROUPS, 'g');
    if (g < SEGMENT_K) return packetCopy(cs.subarray(g * P, g * P + P));
    heap.set(cs, D + INPUT);
    segmentPtrs(INPUT, OUTPUT, P);
    setMatrix(groupRows[g]);
    run(SEGMENT_K, FEED_K, P / SEGMENT_K);
    return packetCopy(outputView(P));
  }

  function seedPackets(cs: Uint8Array, gs: readonly number[]): Uint8Array[] {
    const P = checkCodeSegment(cs);
    checkKeyList(gs, GROUPS, 'g');
    const out: Uint8Array[] = new Array(gs.length);
    let nCoded = 0;
    for (let i = 0; i < gs.length; i++) if (gs[i] >= SEGMENT_K) nCoded++;
    if (nCoded === 0) {
      for (let i = 0; i < gs.length; i++) out[i] = cs.slice(gs[i] * P, gs[i] * P + P);
      return out;
    }
    heap.set(cs, D + INPUT);
    if (nCoded === gs.length) return codedSeeds(gs, P);
    const coded: number[] = [];
    gs.forEach((g, i) => { if (g < SEGMENT_K) out[i] = cs.slice(g * P, g * P + P); else coded.push(i); });
    codedSeeds(coded.map((i) => gs[i]), P).forEach((sp, k) => { out[coded[k]] = sp; });
    return out;
  }

  /** FP(x) for the coded keys listed (x ≥ 64, at most 192); frame loaded. */
  function codedFeed(xs: readonly number[], P: number): Uint8Array[] {
    framePtrs(P);
    const n = xs.length;
    let r = 0;
    while (r < n) {
      // Copy each run of consecutive keys (e.g. 64..127) as one block of rows of G.
      let end = r + 1;
      while (end < n && xs[end] === xs[end - 1] + 1) end++;
      matrixRow(G.subarray(xs[r] * FEED_K, (xs[end - 1] + 1) * FEED_K), r * FEED_K);
      r = end;
    }
    for (let k = 0; k < n; k++) outPtrs[k] = D + OUTPUT + k * P;
    run(n, FEED_K, P);
    return takeRows(n, P);
  }

  function feedPacket(frame: Uint8Array, x: number): Uint8Array {
    const P = checkFrame(frame);
    checkKey(x, KEYS, 'x');
    if (x < FEED_K) {
      if ((x + 1) * P <= frame.length) return packetCopy(frame.subarray(x * P, (x + 1) * P));
      const out = new Uint8Array(P);
      if (x * P < frame.length) out.set(frame.subarray(x * P));
      return out;
    }
    loadFrame(frame, P);
    return codedFeed([x], P)[0];
  }

  function feedPackets(frame: Uint8Array, xs: readonly number[]): Uint8Array[] {
    const P = checkFrame(frame);
    checkKeyList(xs, KEYS, 'x');
    loadFrame(frame, P);
    const out: Uint8Array[] = new Array(xs.length);
    const coded: number[] = [];
    const codedKeys: number[] = [];
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      if (x < FEED_K) out[i] = heap.slice(D + FRAME + x * P, D + FRAME + (x + 1) * P);
      else { coded.push(i); codedKeys.push(x); }
    }
    if (coded.length === xs.length) return codedFeed(xs, P);
    if (coded.length > 0) {
      const fps = codedFeed(codedKeys, P);
      for (let r = 0; r < fps.length; r++) out[coded[r]] = fps[r];
    }
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
    ptrLayout = 0;
    basisSeeds.forEach((s, k) => { heap.set(s, D + INPUT + k * P); inPtrs[k] = D + INPUT + k * P; });
    setMatrix(Ainv);
    for (let s = 0; s < SEGMENT_K; s++) outPtrs[s] = D + OUTPUT + s * Q;
    run(SEGMENT_K, SEGMENT_K, Q, SEGMENT_K, Q, P);
    const feed = takeRows(SEGMENT_K, P);
    let predicted: Uint8Array[] = [];
    if (others.length > 0) {
      const rows = new Uint8Array(others.length * SEGMENT_K);
      others.forEach((c, t) => rows.set(H.subarray(c * SEGMENT_K, (c + 1) * SEGMENT_K), t * SEGMENT_K));
      setMatrix(gfMatMul(rows, Ainv, others.length, SEGMENT_K, SEGMENT_K));
      others.forEach((_, t) => { outPtrs[t] = D + OUTPUT + t * P; });
      run(others.length, SEGMENT_K, Q, SEGMENT_K, Q, Q);
      predicted = takeRows(others.length, P);
    }
    return { feed, predicted };
  }

  /** D = [B⁻¹ | B⁻¹·C] over inputs [coded packets, present parts]; B = G[coded][missing], C = G[coded][present]. */
  function computeDecodeMatrix(plan: KeyPlan): Uint8Array {
    const { present, missing, coded, nMissing: m, nPresent: e } = plan;
    matrixHolds = null;
    for (let r = 0; r < m; r++) for (let i = 0; i < m; i++) matrix[r * m + i] = G[coded[r] * FEED_K + missing[i]];
    if (ex.invert(m) !== 0) throw new P2PError(CODEC_ERRORS.internal, 'decode matrix is singular');
    const dm = new Uint8Array(m * FEED_K);
    for (let i = 0; i < m; i++) dm.set(matrix.subarray(i * m, i * m + m), i * FEED_K);
    if (e > 0) {
      const cIn = D + SCRATCH;
      const cOut = D + SCRATCH + FEED_K * FEED_K;
      heap.fill(0, cIn, cIn + m * FEED_K);
      ptrLayout = 0;
      for (let r = 0; r < m; r++) {
        for (let k = 0; k < e; k++) heap[cIn + r * FEED_K + k] = G[coded[r] * FEED_K + present[k]];
        inPtrs[r] = cIn + r * FEED_K;
        outPtrs[r] = cOut + r * FEED_K;
      }
      run(m, m, FEED_K); // MATRIX still holds B⁻¹
      for (let i = 0; i < m; i++) dm.set(heap.subarray(cOut + i * FEED_K, cOut + i * FEED_K + e), i * FEED_K + m);
    }
    return dm;
  }

  /** The decode matrix of a key set: the last one used (no lookup), else the LRU cache, else computed. */
  const lastKeys = new Uint16Array(KEYS / 16);
  let lastMatrix: Uint8Array | null = null;
  function decodeMatrix(plan: KeyPlan): Uint8Array {
    if (cacheEntries <= 0) return computeDecodeMatrix(plan);
    if (lastMatrix !== null && plan.sameKeys(lastKeys)) return lastMatrix;
    const id = plan.id();
    let dm = decodeCache.get(id);
    if (dm === undefined) {
      dm = computeDecodeMatrix(plan);
      decodeCache.set(id, dm);
    }
    lastKeys.set(plan.used);
    lastMatrix = dm;
    return dm;
  }

  /**
   * Solves the missing parts into sysBase + missing[r]·P from the present parts (sysBase + j·P) and
   * the coded packets at codedBase + (x − 64)·P (absolute offsets in kernel memory).
   */
  function solveInKernel(plan: KeyPlan, P: number, sysBase: number, codedBase: number): void {
    const dm = decodeMatrix(plan);
    const { present, missing, coded, nPresent, nMissing: m } = plan;
    ptrLayout = 0;
    for (let k = 0; k < nPresent; k++) inPtrs[m + k] = D + sysBase + present[k] * P;
    for (let r = 0; r < m; r++) {
      inPtrs[r] = codedBase + (coded[r] - FEED_K) * P;
      outPtrs[r] = D + sysBase + missing[r] * P;
    }
    setMatrix(dm);
    run(m, FEED_K, P);
  }

  const seen = new Uint8Array(KEYS);
  const plan = new KeyPlan();
  /** Packets of decodeFrame go straight into kernel memory while they are checked: parts at FRAME,
   * coded packets at OUTPUT + (x − 64)·P (192 KiB at most; OUTPUT is free during a decode). */
  const decodeSink = { mem: heap, sys: D + FRAME, coded: D + OUTPUT };

  /** Decodes into `into` (checked, ≥ L bytes) or into a fresh array. */
  function decode(packets: Map<number, Uint8Array>, L: number, into: Uint8Array | null): Uint8Array {
    const P = checkPackets(packets, L, seen, decodeSink);
    if (into !== null) checkFrameOut(into, L);
    plan.fill(seen);
    if (plan.nMissing > 0) {
      solveInKernel(plan, P, FRAME, D + OUTPUT);
    }
    const frame = frameOf(L);
    const out = into ?? new Uint8Array(L);
    out.set(frame);
    return into === null || into.length === L ? out : into.subarray(0, L);
  }

  const stages = createStages({
    mem: heap,
    base: D + STAGE,
    solve: (p, P) => solveInKernel(p, P, STAGE + STAGE_SYS, D + STAGE + STAGE_CODED),
    seed: (P, g) => {
      segmentPtrs(STAGE + STAGE_SEG, STAGE + STAGE_SEED, P);
      setMatrix(groupRows[g]);
      run(SEGMENT_K, FEED_K, P / SEGMENT_K);
    },
    seeds: (P, gs, n) => {
      segmentPtrs(STAGE + STAGE_SEG, STAGE + STAGE_SEED, P);
      groupMatrix(gs, n);
      const Q = P / SEGMENT_K;
      for (let r = SEGMENT_K; r < n * SEGMENT_K; r++) outPtrs[r] = D + STAGE + STAGE_SEED + r * Q;
      run(n * SEGMENT_K, FEED_K, Q);
    },
  });

  return {
    build: kernel.build as CodecBuild,
    codeSegment,
    codeSegments,
    seedPacket,
    seedPackets,
    feedPacketsFromSeeds: (seeds, g) => producerStep(checkSeeds(seeds, g), g, solveSeeds),
    feedPacket,
    feedPackets,
    decodeFrame: (packets, L) => decode(packets, L, null),
    decodeFrameInto: (out, packets, L) => decode(packets, L, out),
    decodeStage: stages.decodeStage,
    segmentStage: stages.segmentStage,
  };
}
