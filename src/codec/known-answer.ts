// Known-answer vectors of the code: fixed frames (a formula any language can reproduce), and the
// SHA-256 of CS(c), SP(c, g) and FP(x) for fixed keys, plus digests of G and H. Computes them with
// any Codec; the committed copy is vectors.json (docs/codec.md). Used by tests and write-vectors.ts.

import type { Codec } from './codec.ts';
import { feedGenerator, segmentGenerator } from './generators.ts';

/** Frames of the vectors: length L and seed. */
export const VECTOR_FRAMES: ReadonlyArray<{ L: number; seed: number }> = [
  { L: 1, seed: 1 },
  { L: 8191, seed: 2 },
  { L: 8193, seed: 3 },
  { L: 40000, seed: 4 },
  { L: 65536, seed: 5 },
];
export const VECTOR_CS = [0, 7, 8, 100, 255] as const;
export const VECTOR_SP: ReadonlyArray<readonly [c: number, g: number]> = [[100, 0], [100, 8], [100, 31], [255, 20], [7, 13], [8, 9]];
export const VECTOR_FP = [0, 63, 64, 100, 200, 255] as const;
export const FRAME_FORMULA = 'F[i] = (167*i + 13*floor(i/256) + seed) mod 256 for i = 0..L-1';

/** The frame of a vector: byte i is (167·i + 13·⌊i/256⌋ + seed) mod 256. */
export function vectorFrame(L: number, seed: number): Uint8Array {
  const f = new Uint8Array(L);
  for (let i = 0; i < L; i++) f[i] = (167 * i + 13 * Math.floor(i / 256) + seed) & 255;
  return f;
}

const hex = (b: Uint8Array): string => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');

export async function sha256Hex(b: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', b as BufferSource)));
}

export interface FrameVector {
  L: number;
  seed: number;
  P: number;
  frame: string;
  codeSegments: Record<string, string>;
  seedPackets: Record<string, string>;
  feedPackets: Record<string, string>;
}

export interface KnownAnswers {
  description: string;
  frameFormula: string;
  generators: { G: string; H: string; Grow64: string; Hrow8: string };
  frames: FrameVector[];
}

/** The known answers as computed by `codec` (every value a SHA-256 in hex, except the two rows). */
export async function computeKnownAnswers(codec: Codec): Promise<KnownAnswers> {
  const G = feedGenerator();
  const H = segmentGenerator();
  const frames: FrameVector[] = [];
  for (const { L, seed } of VECTOR_FRAMES) {
    const F = vectorFrame(L, seed);
    const cs: Record<string, string> = {};
    for (const c of VECTOR_CS) cs[String(c)] = await sha256Hex(codec.codeSegment(F, c));
    const sp: Record<string, string> = {};
    for (const [c, g] of VECTOR_SP) sp[`${c},${g}`] = await sha256Hex(codec.seedPacket(codec.codeSegment(F, c), g));
    const fp: Record<string, string> = {};
    for (const x of VECTOR_FP) fp[String(x)] = await sha256Hex(codec.feedPacket(F, x));
    frames.push({ L, seed, P: 128 * Math.ceil(L / 8192), frame: await sha256Hex(F), codeSegments: cs, seedPackets: sp, feedPackets: fp });
  }
  return {
    description: 'SHA-256 (hex) of CS(c), SP(c,g) (keys "c,g") and FP(x) of the frames below; G and H digests are over their 256x64 and 256x8 row-major bytes. See docs/codec.md.',
    frameFormula: FRAME_FORMULA,
    generators: { G: await sha256Hex(G), H: await sha256Hex(H), Grow64: hex(G.subarray(64 * 64, 65 * 64)), Hrow8: hex(H.subarray(64, 72)) },
    frames,
  };
}
