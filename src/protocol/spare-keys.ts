// Direct-feed spare keys fitted to loss: the broadcaster learns, per direct viewer, which keys of
// that viewer's own slot never reached it (the viewer asks for them again, the loss repair), and
// sends per frame 64 + spare keys with the spare from the worst trusted viewer's loss. Pure: no
// clock, no I/O; the broadcaster core feeds it. See docs/netlab.md ("Spare keys fitted to loss").

import { KeySet } from './key-set.ts';

/** Loss above this is taken as this (the rule's 1/(1 − p) grows without bound). */
export const MAX_MEASURED_LOSS = 0.5;

/**
 * Spare keys beyond 64 for a path losing a share p of packets: the expected loss among the keys sent
 * plus two standard deviations of a binomial, the margin less `repairKeys` (keys the repairs are
 * trusted to bring per frame; the broadcaster passes 64 × repairShare × spareRepairCredit, 0 by
 * default): `ceil(64·p/(1−p) + max(0, 2·sqrt(64·p) − repairKeys))`, within [floor, ceiling]. p not a
 * number or ≤ 0 (nothing measured, nothing lost) gives the floor.
 */
export function spareKeysFor(p: number, floor: number, ceiling: number, repairKeys = 0): number {
  if (!(p > 0)) return floor;
  const q = Math.min(p, MAX_MEASURED_LOSS);
  // The repairs take at most the margin: the expected loss itself is always sent as spare keys (a
  // repair round costs a frame its time, and the allowance also meets the spread around the mean).
  const margin = Math.max(0, 2 * Math.sqrt(64 * q) - Math.max(0, repairKeys));
  const spare = Math.ceil((64 * q) / (1 - q) + margin);
  return Math.max(floor, Math.min(ceiling, spare));
}

export interface SlotLossConfig {
  /** Frames (the newest whose repair window has passed) each viewer's loss is averaged over. */
  windowFrames: number;
  /** A frame counts once this long after it was sent: repairs asked later are not waited for. */
  repairWindowMs: number;
  /** A viewer's loss is known only once it had slot keys in this many counted frames. */
  minFrames: number;
}

export const DEFAULT_SLOT_LOSS: Readonly<SlotLossConfig> = Object.freeze({ windowFrames: 20, repairWindowMs: 1000, minFrames: 5 });

interface FrameLoss {
  seq: number;
  sentMs: number;
  /** viewer → keys of its slot sent in this frame */
  sent: Map<string, number>;
  /** viewer → distinct keys of its slot it asked for again */
  asked: Map<string, KeySet>;
}

/**
 * Per direct viewer: keys of its own slot asked for again ÷ keys of its slot sent, over the last
 * windowFrames frames whose repair window has passed (a frame it asked nothing of counts 0). Only
 * keys of the viewer's own slot in a frame it was sent count, each once: a viewer can raise its
 * own figure to 1 at most, never another viewer's. Memory: windowFrames frames plus those still in
 * their repair window, each with its slot viewers.
 */
export class SlotLossMeter {
  readonly cfg: SlotLossConfig;
  private readonly frames: FrameLoss[] = [];
  private readonly bySeq = new Map<number, FrameLoss>();

  constructor(cfg: Partial<SlotLossConfig> = {}) {
    this.cfg = { ...DEFAULT_SLOT_LOSS, ...cfg };
  }

  /** Frame seq went out at nowMs with `keys` keys in `viewer`'s slot. Frames come in rising seq. */
  sent(seq: number, viewer: string, keys: number, nowMs: number): void {
    let f = this.bySeq.get(seq);
    if (!f) {
      const last = this.frames[this.frames.length - 1];
      if (last && seq <= last.seq) return;
      f = { seq, sentMs: nowMs, sent: new Map(), asked: new Map() };
      this.frames.push(f);
      this.bySeq.set(seq, f);
      this.trim(nowMs);
    }
    if (keys > 0) f.sent.set(viewer, keys);
  }

  /** `viewer` asked again for `slotKeys` of frame seq, keys of its own slot (the caller checks that). */
  asked(seq: number, viewer: string, slotKeys: readonly number[]): void {
    const f = this.bySeq.get(seq);
    const max = f?.sent.get(viewer);
    if (!f || max === undefined || slotKeys.length === 0) return;
    let a = f.asked.get(viewer);
    if (!a) f.asked.set(viewer, (a = new KeySet()));
    for (const x of slotKeys) {
      if (a.size >= max) break;
      a.add(x);
    }
  }

  /** The viewer's loss on the broadcaster → viewer path, 0…1; NaN until minFrames frames counted. */
  loss(viewer: string, nowMs: number): number {
    let sent = 0;
    let asked = 0;
    let frames = 0;
    let counted = 0;
    for (let i = this.frames.length - 1; i >= 0 && counted < this.cfg.windowFrames; i--) {
      const f = this.frames[i];
      if (nowMs - f.sentMs < this.cfg.repairWindowMs) continue;
      counted++;
      const k = f.sent.get(viewer);
      if (k === undefined) continue;
      frames++;
      sent += k;
      asked += f.asked.get(viewer)?.size ?? 0;
    }
    return frames >= this.cfg.minFrames && sent > 0 ? asked / sent : NaN;
  }

  /** The largest known loss among `viewers` (NaN when none is known). */
  worst(viewers: Iterable<string>, nowMs: number): number {
    return this.quantile(viewers, 1, nowMs);
  }

  /**
   * The q-quantile (0…1, nearest rank from below) of the known losses among `viewers`: 1 the
   * largest, 0.5 the median (NaN when none is known).
   */
  quantile(viewers: Iterable<string>, q: number, nowMs: number): number {
    const known: number[] = [];
    for (const v of viewers) {
      const p = this.loss(v, nowMs);
      if (p === p) known.push(p);
    }
    if (known.length === 0) return NaN;
    known.sort((a, b) => a - b);
    return known[Math.min(known.length - 1, Math.max(0, Math.ceil(q * known.length) - 1))];
  }

  forget(viewer: string): void {
    for (const f of this.frames) {
      f.sent.delete(viewer);
      f.asked.delete(viewer);
    }
  }

  /** Frames kept (for tests of the bound). */
  get size(): number {
    return this.frames.length;
  }

  private trim(nowMs: number): void {
    // Keep every frame still in its repair window and the newest windowFrames beyond it.
    let matured = 0;
    let cut = -1;
    for (let i = this.frames.length - 1; i >= 0; i--) {
      if (nowMs - this.frames[i].sentMs < this.cfg.repairWindowMs) continue;
      if (++matured > this.cfg.windowFrames) {
        cut = i;
        break;
      }
    }
    if (cut < 0) return;
    for (const f of this.frames.splice(0, cut + 1)) this.bySeq.delete(f.seq);
  }
}
