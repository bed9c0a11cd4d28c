// The two systematic Reed-Solomon generator matrices of the code (DESIGN section 3), exact:
// G (256×64, feed code) = V·(rows 0..63 of V)⁻¹ with V[x][j] = x^j; H (256×8, segment code) likewise
// with W[c][s] = c^s. Built lazily once; pure. Used by both codecs and the known-answer vectors.

import { gfPow } from './gf256.ts';
import { gfInvert, gfMatMul } from './gf-matrix.ts';

/** Width of the feed code (parts per frame). */
export const FEED_K = 64;
/** Width of the segment code (sub-parts per part). */
export const SEGMENT_K = 8;
/** Number of keys of each code (x, c ∈ 0..255). */
export const KEYS = 256;

function systematic(width: number): Uint8Array {
  const v = new Uint8Array(KEYS * width);
  for (let x = 0; x < KEYS; x++) for (let j = 0; j < width; j++) v[x * width + j] = gfPow(x, j);
  const inv = gfInvert(v.subarray(0, width * width), width);
  if (inv === null) throw new Error('Vandermonde top block is singular');
  return gfMatMul(v, inv, KEYS, width, width);
}

let feed: Uint8Array | null = null;
let segment: Uint8Array | null = null;

/** G, 256 rows × 64 bytes, row-major: G[x*64 + j]. Do not mutate. */
export function feedGenerator(): Uint8Array {
  if (feed === null) feed = systematic(FEED_K);
  return feed;
}

/** H, 256 rows × 8 bytes, row-major: H[c*8 + s]. Do not mutate. */
export function segmentGenerator(): Uint8Array {
  if (segment === null) segment = systematic(SEGMENT_K);
  return segment;
}
