// Implied zero keys: the feed code pads a frame of L bytes to 64·P, so the systematic parts past L
// (keys x with ceil(L/P) ≤ x < 64) are all zero. Nobody sends them: the broadcaster leaves them out
// of the direct feed and its repairs, and a viewer holds them as zero packets of its own once the
// frame's manifest has verified (L is signed; an unverified length never implies anything, or a
// hostile peer could make a viewer assume zeros where the frame has data). Pure helpers.

import type { FrameState } from './frame-state.ts';
import { packetSizeOf } from './wire.ts';

/** Systematic parts of a frame of `length` bytes that hold frame bytes: ceil(L / P) (0 for L ≤ 0). */
export function dataParts(length: number): number {
  if (!(length > 0)) return 0;
  return Math.min(64, Math.ceil(length / packetSizeOf(length)));
}

/** True when feed key x of a frame of `length` bytes is an all-zero systematic key (never sent). */
export function isImpliedKey(x: number, length: number): boolean {
  return length > 0 && x < 64 && x >= dataParts(length);
}

/** How many keys of a frame of `length` bytes are implied (64 − ceil(L / P); 0 for L ≤ 0: no frame, no P). */
export function impliedKeyCount(length: number): number {
  return length > 0 ? 64 - dataParts(length) : 0;
}

/**
 * Before f's manifest has verified (L unknown), the lowest systematic key that may be an implied
 * zero: one past the highest systematic key held or offered by any neighbour (the implied keys are
 * a suffix of 0…63, and a key someone has is not one of them). 64 when the manifest has verified
 * (the implied keys are held then) or no systematic key is known yet. A hint for what to ask for
 * only, never a reason to assume zeros: a peer offering a high key only makes this peer ask more.
 */
export function firstMaybeImplied(f: FrameState): number {
  if (f.manifestOkMs >= 0) return 64;
  const hi = f.have.word(1) | (f.offered ? f.offered.word(1) : 0);
  if (hi !== 0) return 64 - Math.clz32(hi);
  const lo = f.have.word(0) | (f.offered ? f.offered.word(0) : 0);
  return lo !== 0 ? 32 - Math.clz32(lo) : 64;
}

/** Word w (keys 32w…32w+31) of the key set {from, …, 63}. */
export function suffixWord(w: number, from: number): number {
  if (w > 1 || from >= 64) return 0;
  const start = from - 32 * w;
  if (start >= 32) return 0;
  if (start <= 0) return 0xffffffff | 0;
  return (0xffffffff << start) | 0;
}
