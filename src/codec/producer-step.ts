// The producer step shared by both codecs: picks 8 seeds as the basis, checks every spare seed
// against it, and with 10+ seeds names the one bad holder key. The arithmetic is the caller's
// `solve`; this module only chooses keys and compares bytes. Called by both codecs.

import { P2PError } from '../errors.ts';
import { SEGMENT_K } from './generators.ts';
import { bytesEqual, CODEC_ERRORS, type SeedSet } from './codec-input.ts';

/** Above this many seeds a disagreement is reported without searching for the bad one (bounds the work). */
export const MAX_LOCATE_SEEDS = 32;

/** Arithmetic of a producer step: FP(8g..8g+7) from 8 basis seeds, and the seeds predicted for `others`. */
export type SeedSolve = (
  basisKeys: number[], basisSeeds: Uint8Array[], P: number, others: number[],
) => { feed: Uint8Array[]; predicted: Uint8Array[] };

function consistent(set: SeedSet, skip: number, solve: SeedSolve): Uint8Array[] | null {
  const keys: number[] = [];
  const seeds: Uint8Array[] = [];
  for (let i = 0; i < set.keys.length; i++) {
    if (i === skip) continue;
    keys.push(set.keys[i]);
    seeds.push(set.seeds[i]);
  }
  const { feed, predicted } = solve(keys.slice(0, SEGMENT_K), seeds.slice(0, SEGMENT_K), set.P, keys.slice(SEGMENT_K));
  for (let i = 0; i < predicted.length; i++) if (!bytesEqual(predicted[i], seeds[SEGMENT_K + i])) return null;
  return feed;
}

/** The 8 feed packets of group g; throws CODEC_SEEDS_DISAGREE when spare seeds do not agree. */
export function producerStep(set: SeedSet, g: number, solve: SeedSolve): Uint8Array[] {
  const feed = consistent(set, -1, solve);
  if (feed !== null) return feed;
  const n = set.keys.length;
  const details: Record<string, unknown> = { g, keys: set.keys };
  if (n >= SEGMENT_K + 2 && n <= MAX_LOCATE_SEEDS) {
    const bad: number[] = [];
    for (let i = 0; i < n; i++) if (consistent(set, i, solve) !== null) bad.push(set.keys[i]);
    if (bad.length === 1) {
      details.c = bad[0];
      throw new P2PError(CODEC_ERRORS.seedsDisagree, `seed packet of holder key ${bad[0]} disagrees with the others (group ${g})`, details);
    }
  }
  throw new P2PError(CODEC_ERRORS.seedsDisagree, `the ${n} seed packets of group ${g} disagree`, details);
}
