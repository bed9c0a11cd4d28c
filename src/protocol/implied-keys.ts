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

/** One past the highest systematic key f holds or some neighbour offered (0 when none). */
function knownTop(f: FrameState): number {
  const hi = f.have.word(1) | (f.offered ? f.offered.word(1) : 0);
  if (hi !== 0) return 64 - Math.clz32(hi);
  const lo = f.have.word(0) | (f.offered ? f.offered.word(0) : 0);
  return lo !== 0 ? 32 - Math.clz32(lo) : 0;
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
  const top = knownTop(f);
  return top === 0 ? 64 : top;
}

/** Word w (keys 32w…32w+31) of the key set {from, …, 63}. */
export function suffixWord(w: number, from: number): number {
  if (w > 1 || from >= 64) return 0;
  const start = from - 32 * w;
  if (start >= 32) return 0;
  if (start <= 0) return 0xffffffff | 0;
  return (0xffffffff << start) | 0;
}

/**
 * Spare keys a frame with n = ⌈L/P⌉ data parts is sent in direct feed when the direct set is
 * 64 + `spare`: the spare is fitted to the loss of 64 keys a frame (spare-keys.ts), and such a
 * frame needs only n keys, so it gets ⌈spare · √(n/64)⌉ (all of them for a full frame). The spare
 * fitted to 64 keys is about 64q + 2√(64q) (q = p/(1−p)); for n keys the same rule gives
 * nq + 2√(nq), which √(n/64) × the 64-key figure always covers. Integer arithmetic only: the
 * broadcaster and its viewers must agree on it exactly.
 */
export function spareKeysForParts(spare: number, n: number): number {
  if (spare <= 0) return 0;
  if (n >= 64) return spare;
  const want = spare * spare * Math.max(0, n);
  let s = 0;
  while (s < spare && 64 * s * s < want) s++;
  return s;
}

/**
 * True when feed key x is in the direct feed of a frame of `length` bytes whose direct set is
 * `keys` (64 + spare, as DIRECT_SLOT says): a data part (x < ⌈L/P⌉) or one of the frame's spare
 * keys (64 ≤ x < 64 + spareKeysForParts). The broadcaster sends, repairs and judges these only.
 */
export function isDirectKey(x: number, length: number, keys: number): boolean {
  if (x < 64) return x < dataParts(length);
  return x < 64 + spareKeysForParts(keys - 64, dataParts(length));
}

/**
 * Whether direct key x (direct set `keys`) may have been left out of f's direct feed (an implied
 * zero key, or a spare key past the frame's share). After the manifest, isDirectKey decides;
 * before it, a hint from the data parts known to exist (one past the highest systematic key held
 * or offered, at least 1): what to ask the broadcaster for, never what to assume.
 */
export function maybeNotDirect(f: FrameState, x: number, keys: number): boolean {
  const m = f.manifest;
  if (m && !f.manifestPending && f.manifestOkMs >= 0) return !isDirectKey(x, m.length, keys);
  if (x < 64) return x >= firstMaybeImplied(f);
  return x >= 64 + spareKeysForParts(keys - 64, Math.max(1, knownTop(f)));
}

/** True when f's manifest has verified and direct key x (direct set `keys`) was left out of its direct feed. */
export function knownNotDirect(f: FrameState, x: number, keys: number): boolean {
  const m = f.manifest;
  return m !== undefined && !f.manifestPending && f.manifestOkMs >= 0 && !isDirectKey(x, m.length, keys);
}
