// The broadcaster's judge of direct-feed slots: viewers' MISSING reports (keys of a frame's direct
// set that never reached them while the frame was stuck) accuse the viewers whose slots those keys
// were; a slot holder loses its slot for a while only when enough distinct viewers accuse it over
// several frames, so one or two liars never move an honest viewer's slot. Pure: times come in, no
// I/O. Used by broadcaster-core.ts (which bounds the reports: one per viewer and frame).

import { P2PError } from '../errors.ts';

/** Parameters of the judge, with what each one answers. */
export interface SlotJudgeConfig {
  /**
   * Frames a viewer must report a holder's keys missing within witnessTtlMs to count as its
   * accuser: a withholder's keys miss in every frame (6.7 a second at 150 ms frames), an honest
   * holder's on a lossy link now and then (with 3 frames in 10 s, 20 of 31 honest viewers lost
   * their slot in a 30 s harsh-world run; with 6 in 3 s none did).
   */
  framesToAccuse: number;
  /** A report counts this long. */
  witnessTtlMs: number;
  /**
   * Accusers a holder needs against it to lose its slot: at least minAccusers (two liars never
   * suffice)… except in a swarm too small to have minAccusers viewers besides the holder, where it
   * takes every other direct viewer, and never fewer than minAccusersSmall.
   */
  minAccusers: number;
  /**
   * The floor of that small-swarm quorum (2: one liar never moves a slot). With 3 direct viewers
   * the two others suffice: before, such a swarm could never move a slot, and one CPU-starved
   * viewer (answering every request too late) cost its two neighbours most of their frames.
   */
  minAccusersSmall: number;
  /** …and at least this share of the direct viewers (a minority of attackers never suffices). */
  accuserShare: number;
  /** A holder found withholding gets no slot for this long (it stays a viewer, fed by its neighbours). */
  shunSlotMs: number;
  /** A report naming keys of more holders than this is not counted (a stuck frame lacks few slots; a liar names them all). */
  maxHoldersPerReport: number;
}

export const DEFAULT_SLOT_JUDGE: Readonly<SlotJudgeConfig> = Object.freeze({
  framesToAccuse: 6,
  witnessTtlMs: 3000,
  minAccusers: 3,
  minAccusersSmall: 2,
  accuserShare: 0.5,
  shunSlotMs: 60_000,
  maxHoldersPerReport: 3,
});

/**
 * Accusers that move a slot among `directViewers` direct viewers (the accused among them):
 * minAccusers, or every other direct viewer when there are fewer (never under minAccusersSmall),
 * and at least accuserShare of the direct viewers. With the defaults: 2 of 2 others at 3 viewers,
 * 3 from 4 to 6, then half. Liars move an honest slot only when they are that many.
 */
export function accusersNeeded(cfg: SlotJudgeConfig, directViewers: number): number {
  const small = Math.max(cfg.minAccusersSmall, Math.min(cfg.minAccusers, directViewers - 1));
  return Math.max(small, Math.ceil(cfg.accuserShare * directViewers));
}

/** Reporters kept per holder at most (the broadcaster has at most 255 direct viewers). */
const MAX_WITNESSES = 256;

export class SlotJudge {
  /** holder → reporter → times of its reports naming the holder's keys (newest framesToAccuse kept) */
  private readonly witnesses = new Map<string, Map<string, number[]>>();
  /** holder → until when it gets no slot */
  private readonly shunned = new Map<string, number>();

  constructor(readonly cfg: SlotJudgeConfig = DEFAULT_SLOT_JUDGE) {
    if (!(cfg.minAccusers >= 1) || !(cfg.minAccusersSmall >= 1) || !(cfg.framesToAccuse >= 1) || !(cfg.accuserShare >= 0 && cfg.accuserShare <= 1)) {
      throw new P2PError('BAD_CONFIG', 'slot judge: minAccusers, minAccusersSmall and framesToAccuse must be ≥ 1, accuserShare in 0…1');
    }
  }

  /**
   * `reporter` says one frame's keys of the slots of `holders` never reached it. `directViewers`:
   * how many viewers have a slot now. Returns the holders that lose their slot with this report.
   */
  report(reporter: string, holders: readonly string[], directViewers: number, nowMs: number): string[] {
    const named = [...new Set(holders)].filter((h) => h !== reporter);
    if (named.length === 0 || named.length > this.cfg.maxHoldersPerReport) return [];
    const need = accusersNeeded(this.cfg, directViewers);
    const out: string[] = [];
    for (const holder of named) {
      if (this.isShunned(holder, nowMs)) continue;
      let w = this.witnesses.get(holder);
      if (!w) this.witnesses.set(holder, (w = new Map()));
      let times = w.get(reporter);
      if (!times) {
        if (w.size >= MAX_WITNESSES) continue;
        w.set(reporter, (times = []));
      }
      times.push(nowMs);
      if (times.length > this.cfg.framesToAccuse) times.shift();
      if (this.accusers(w, nowMs) < need) continue;
      this.witnesses.delete(holder);
      this.shunned.set(holder, nowMs + this.cfg.shunSlotMs);
      out.push(holder);
    }
    return out;
  }

  /** True while `holder` gets no slot. */
  isShunned(holder: string, nowMs: number): boolean {
    const until = this.shunned.get(holder);
    if (until === undefined) return false;
    if (nowMs < until) return true;
    this.shunned.delete(holder);
    return false;
  }

  /** A neighbour left: its word leaves with it (a shun stays: it may come back on the same id). */
  forgetPeer(peerId: string): void {
    this.witnesses.delete(peerId);
    for (const [h, w] of this.witnesses) {
      w.delete(peerId);
      if (w.size === 0) this.witnesses.delete(h);
    }
    if (this.shunned.size > MAX_WITNESSES) this.shunned.clear();
  }

  private accusers(w: Map<string, number[]>, nowMs: number): number {
    let n = 0;
    for (const [r, times] of w) {
      while (times.length > 0 && nowMs - times[0] > this.cfg.witnessTtlMs) times.shift();
      if (times.length === 0) w.delete(r);
      else if (times.length >= this.cfg.framesToAccuse) n++;
    }
    return n;
  }
}
