// Plain TypeScript codec: the exact math of DESIGN section 3 written as directly as it reads,
// byte by byte. It is the oracle the WASM builds are tested against; no caching, no tricks.
// Must stay free of the kernel. Used by tests, the benchmark, and createCodec's 'reference' build.

import { CODEC_ERRORS, checkCodeSegment, checkFrame, checkFrameOut, checkKey, checkKeyList, checkSeeds, GROUPS, planDecode } from './codec-input.ts';
import type { Codec } from './codec.ts';
import { FEED_K, feedGenerator, KEYS, SEGMENT_K, segmentGenerator } from './generators.ts';
import { gfMulAcc } from './gf256.ts';
import { gfInvert } from './gf-matrix.ts';
import { producerStep } from './producer-step.ts';
import { createStages, STAGE_BYTES, STAGE_CODED, STAGE_SEED, STAGE_SEG, STAGE_SYS, type Stages } from './stage.ts';
import { P2PError } from '../errors.ts';

/** The frame zero-padded to 64·P bytes. */
function padded(frame: Uint8Array, P: number): Uint8Array {
  const f = new Uint8Array(FEED_K * P);
  f.set(frame);
  return f;
}

function codeSegment(frame: Uint8Array, c: number): Uint8Array {
  const P = checkFrame(frame);
  checkKey(c, KEYS, 'c');
  const Q = P / SEGMENT_K;
  const F = padded(frame, P);
  const H = segmentGenerator();
  const out = new Uint8Array(SEGMENT_K * P);
  for (let j = 0; j < FEED_K; j++) {
    for (let s = 0; s < SEGMENT_K; s++) gfMulAcc(out, j * Q, F, j * P + s * Q, H[c * SEGMENT_K + s], Q);
  }
  return out;
}

function seedPacket(cs: Uint8Array, g: number): Uint8Array {
  const P = checkCodeSegment(cs);
  checkKey(g, GROUPS, 'g');
  const Q = P / SEGMENT_K;
  const G = feedGenerator();
  const out = new Uint8Array(P);
  for (let m = 0; m < SEGMENT_K; m++) {
    const x = SEGMENT_K * g + m;
    for (let j = 0; j < FEED_K; j++) gfMulAcc(out, m * Q, cs, j * Q, G[x * FEED_K + j], Q);
  }
  return out;
}

function feedPacket(frame: Uint8Array, x: number): Uint8Array {
  const P = checkFrame(frame);
  checkKey(x, KEYS, 'x');
  const F = padded(frame, P);
  const G = feedGenerator();
  const out = new Uint8Array(P);
  for (let j = 0; j < FEED_K; j++) gfMulAcc(out, 0, F, j * P, G[x * FEED_K + j], P);
  return out;
}

function solveSeeds(basisKeys: number[], basisSeeds: Uint8Array[], P: number, others: number[]) {
  const Q = P / SEGMENT_K;
  const H = segmentGenerator();
  const A = new Uint8Array(SEGMENT_K * SEGMENT_K);
  for (let k = 0; k < SEGMENT_K; k++) A.set(H.subarray(basisKeys[k] * SEGMENT_K, basisKeys[k] * SEGMENT_K + SEGMENT_K), k * SEGMENT_K);
  const Ainv = gfInvert(A, SEGMENT_K) as Uint8Array; // distinct keys: H rows are independent
  const feed: Uint8Array[] = [];
  for (let m = 0; m < SEGMENT_K; m++) {
    const fp = new Uint8Array(P);
    for (let s = 0; s < SEGMENT_K; s++) {
      for (let k = 0; k < SEGMENT_K; k++) gfMulAcc(fp, s * Q, basisSeeds[k], m * Q, Ainv[s * SEGMENT_K + k], Q);
    }
    feed.push(fp);
  }
  const predicted = others.map((c) => {
    const sp = new Uint8Array(P);
    for (let m = 0; m < SEGMENT_K; m++) {
      for (let s = 0; s < SEGMENT_K; s++) gfMulAcc(sp, m * Q, feed[m], s * Q, H[c * SEGMENT_K + s], Q);
    }
    return sp;
  });
  return { feed, predicted };
}

function decodeFrame(packets: Map<number, Uint8Array>, L: number): Uint8Array {
  const { P, present, missing, coded } = planDecode(packets, L);
  const F = new Uint8Array(FEED_K * P);
  for (const j of present) F.set(packets.get(j) as Uint8Array, j * P);
  const m = missing.length;
  if (m > 0) {
    const G = feedGenerator();
    const B = new Uint8Array(m * m);
    for (let r = 0; r < m; r++) for (let i = 0; i < m; i++) B[r * m + i] = G[coded[r] * FEED_K + missing[i]];
    const Binv = gfInvert(B, m);
    if (Binv === null) throw new P2PError(CODEC_ERRORS.badInput, 'decode matrix is singular'); // cannot happen: G is MDS
    // residual_r = FP(y_r) - Σ_{j present} G[y_r][j]·I_j = Σ_i B[r][i]·I_{missing[i]}
    const res = coded.map((y) => {
      const r = (packets.get(y) as Uint8Array).slice();
      for (const j of present) gfMulAcc(r, 0, F, j * P, G[y * FEED_K + j], P);
      return r;
    });
    for (let i = 0; i < m; i++) {
      for (let r = 0; r < m; r++) gfMulAcc(F, missing[i] * P, res[r], 0, Binv[i * m + r], P);
    }
  }
  return F.slice(0, L);
}

/** The staged API on plain memory: the frame is decoded from the staged slots by decodeFrame. */
function referenceStages(): Stages {
  const mem = new Uint8Array(STAGE_BYTES);
  return createStages({
    mem,
    base: 0,
    solve(plan, P) {
      const slot = (x: number): Uint8Array => {
        const at = x < FEED_K ? STAGE_SYS + x * P : STAGE_CODED + (x - FEED_K) * P;
        return mem.slice(at, at + P);
      };
      const packets = new Map<number, Uint8Array>();
      for (let k = 0; k < plan.nPresent; k++) packets.set(plan.present[k], slot(plan.present[k]));
      for (let r = 0; r < plan.nMissing; r++) packets.set(plan.coded[r], slot(plan.coded[r]));
      const F = decodeFrame(packets, FEED_K * P); // L = 64·P has packet size P
      for (let i = 0; i < plan.nMissing; i++) {
        const j = plan.missing[i];
        mem.set(F.subarray(j * P, j * P + P), STAGE_SYS + j * P);
      }
    },
    seed(P, g) {
      mem.set(seedPacket(mem.slice(STAGE_SEG, STAGE_SEG + SEGMENT_K * P), g), STAGE_SEED);
    },
    seeds(P, gs, n) {
      const cs = mem.slice(STAGE_SEG, STAGE_SEG + SEGMENT_K * P);
      for (let k = 0; k < n; k++) mem.set(seedPacket(cs, gs[k]), STAGE_SEED + k * P);
    },
  });
}

/** The plain TypeScript codec (synchronous). */
export function createReferenceCodec(): Codec {
  let stages: Stages | null = null; // its 296 KiB are made on first use
  const staged = (): Stages => (stages ??= referenceStages());
  return {
    build: 'reference',
    codeSegment,
    codeSegments(frame, cs) {
      checkKeyList(cs, KEYS, 'c');
      return cs.map((c) => codeSegment(frame, c));
    },
    seedPacket,
    seedPackets(cs, gs) {
      checkKeyList(gs, GROUPS, 'g');
      return gs.map((g) => seedPacket(cs, g));
    },
    feedPacketsFromSeeds(seeds, g) {
      return producerStep(checkSeeds(seeds, g), g, solveSeeds);
    },
    feedPacket,
    feedPackets(frame, xs) {
      checkKeyList(xs, KEYS, 'x');
      return xs.map((x) => feedPacket(frame, x));
    },
    decodeFrame,
    decodeFrameInto(out, packets, L) {
      const frame = decodeFrame(packets, L);
      checkFrameOut(out, L);
      out.set(frame);
      return out.subarray(0, L);
    },
    decodeStage: (L) => staged().decodeStage(L),
    segmentStage: (P) => staged().segmentStage(P),
  };
}
