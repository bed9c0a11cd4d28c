// What a peer core knows about one connected neighbour: its have-maps per frame, what we already
// told it, keys in flight to it, its measured delivery (weight, RTT), strikes, and its media queue.
// Data with small update rules; no I/O. Owned by PeerCore, read by peer-exchange.ts.

import type { PeerCoreConfig } from './core-types.ts';
import { KeySet } from './key-set.ts';
import { SendQueue } from './send-queue.ts';
import { NO_SEQ } from './wire.ts';

/** One frame as one neighbour knows it, and what we told it of the frame. */
export interface NeighbourFrame {
  /** Keys it announced. */
  keys: KeySet;
  complete: boolean;
  /** When it announced the frame complete (-1: not yet). */
  completeMs: number;
  manifest: boolean;
  /** How much of our arrival log it was told, and which HAVE flags. */
  toldIdx: number;
  toldFlags: number;
  /**
   * What we asked of it in this frame, as its serving budget counts our asks (neighbour-policy.ts
   * serveAsked): keys asked at least once, twice, and the number of keys asked in all. Undefined
   * until the first ask.
   */
  asked?: { once: KeySet; twice: KeySet; total: number };
}

/** What the serving budget of a neighbour allows us to ask of it in one frame. */
export interface AskBudget {
  /** Keys asked of it serveKeyTimes times in this frame already. */
  spent: KeySet | undefined;
  /** Keys we may still ask of it in this frame in all. */
  left: number;
}

/** A neighbour is muted after this many requested keys in a row time out with none delivered for MUTE_QUIET_MS, for MUTE_MS. */
export const MUTE_AFTER_KEYS = 32;
/** The same for a neighbour that never delivered a key asked of it (an honest one delivers its first within a few). */
export const MUTE_NEVER_DELIVERED_KEYS = 8;
export const MUTE_QUIET_MS = 5000;
export const MUTE_MS = 10_000;

export class NeighbourState {
  isBroadcaster = false;
  /** Newest init segment the neighbour announced (NO_SEQ: none). */
  initSeq = NO_SEQ;
  /** Per frame: its have-map and what we told it (one record: one lookup, one map per neighbour). */
  readonly frames = new Map<number, NeighbourFrame>();
  /** Keys asked of it and not yet arrived or timed out. */
  inflight = 0;
  /** Delivery score in (0, 1]: share of asked keys that arrived (moving average). */
  weight = 0.7;
  srttMs = 150;
  /**
   * How long after a frame began here the keys asked of it arrive (smoothed): past the stuck wait a
   * neighbour whose keys come later than that is no source (pull-scheduler.ts, prompt).
   */
  keyAgeMs = 0;
  rttVarMs = 50;
  /** Newest sequence with a manifest it announced beyond our window (-1: none). */
  aheadSeq = -1;
  /** Keys it asked us to push (PUSH_KEYS), and keys we asked it to push. */
  pushTo: KeySet | undefined;
  pushAsked: KeySet | undefined;
  /** Keys pushed to it. */
  pushed = 0;
  /** Keys asked of it that timed out since it last delivered one, and when it last delivered one. */
  silentKeys = 0;
  lastDeliveredMs = -Infinity;
  /** When it was muted (-Infinity: it is not; see isMuted). */
  private mutedSinceMs = -Infinity;
  readonly queue: SendQueue;

  constructor(readonly peerId: string, queueMax: number) {
    this.queue = new SendQueue(queueMax);
  }

  /** A key asked of this neighbour arrived (from it when `fromIt`, else from someone else). */
  delivered(fromIt: boolean, rttSampleMs: number, nowMs: number, frameAgeMs = 0): void {
    if (this.inflight > 0) this.inflight--;
    if (!fromIt) return;
    this.keyAgeMs = this.keyAgeMs * 0.875 + frameAgeMs * 0.125;
    this.silentKeys = 0;
    this.lastDeliveredMs = nowMs;
    this.mutedSinceMs = -Infinity;
    this.weight = Math.min(1, this.weight * 0.95 + 0.05);
    this.rttVarMs = this.rttVarMs * 0.75 + Math.abs(this.srttMs - rttSampleMs) * 0.25;
    this.srttMs = this.srttMs * 0.875 + rttSampleMs * 0.125;
  }

  timedOut(): void {
    if (this.inflight > 0) this.inflight--;
    this.weight = Math.max(0.05, this.weight * 0.95);
    this.silentKeys++;
  }

  /**
   * True while it is muted: MUTE_AFTER_KEYS keys asked of it timed out in a row (MUTE_NEVER_DELIVERED_KEYS
   * if it never delivered one) and it delivered none for MUTE_QUIET_MS (a withholder announces keys
   * and never sends one; an honest neighbour, even a congested one, delivers some). Its offers then
   * draw no request. After MUTE_MS it is asked again, and a quarter as many timeouts mute it again.
   */
  isMuted(nowMs: number): boolean {
    const after = this.lastDeliveredMs === -Infinity ? MUTE_NEVER_DELIVERED_KEYS : MUTE_AFTER_KEYS;
    if (this.mutedSinceMs > -Infinity) {
      if (nowMs - this.mutedSinceMs <= MUTE_MS) return true;
      this.mutedSinceMs = -Infinity;
      this.silentKeys = Math.floor((after * 3) / 4);
      return false;
    }
    if (this.silentKeys < after || nowMs - this.lastDeliveredMs < MUTE_QUIET_MS) return false;
    this.mutedSinceMs = nowMs;
    return true;
  }

  requestTimeout(cfg: PeerCoreConfig): number {
    // requestTimeoutSrtts (2) × the smoothed time to a key plus four deviations; later keys of a
    // request queue behind earlier ones, so the caller adds a little per key.
    return Math.min(cfg.maxRequestTimeoutMs, Math.max(cfg.minRequestTimeoutMs, cfg.requestTimeoutSrtts * this.srttMs + 4 * this.rttVarMs + 40));
  }

  frame(seq: number): NeighbourFrame {
    let r = this.frames.get(seq);
    if (!r) this.frames.set(seq, (r = { keys: new KeySet(), complete: false, completeMs: -1, manifest: false, toldIdx: 0, toldFlags: 0 }));
    return r;
  }

  /**
   * What we may still ask of it in frame seq: its serving budget (neighbour-policy.ts) counts each
   * key it is asked beyond serveKeyTimes, and each beyond serveKeysPerFrame keys of a frame, as a
   * bad message, and enough of them ban us for good. A viewer whose inbound media is lost asks every
   * key again as it times out: it must stop at that budget rather than be banned by every neighbour.
   * `spent`: the keys asked serveKeyTimes already (not to be asked of it again); `left`: keys we may
   * still ask of it in this frame in all.
   */
  askBudget(seq: number, cfg: PeerCoreConfig): AskBudget {
    const a = this.frames.get(seq)?.asked;
    if (!a) return { spent: undefined, left: cfg.serveKeysPerFrame };
    return { spent: cfg.serveKeyTimes >= 2 ? a.twice : a.once, left: cfg.serveKeysPerFrame - a.total };
  }

  /** Keys asked of it in frame seq (after askBudget allowed them). */
  noteAsked(seq: number, keys: readonly number[]): void {
    const a = (this.frame(seq).asked ??= { once: new KeySet(), twice: new KeySet(), total: 0 });
    for (const x of keys) {
      if (!a.once.add(x)) a.twice.add(x);
      a.total++;
    }
  }

  forget(seq: number): void {
    this.frames.delete(seq);
  }
}
