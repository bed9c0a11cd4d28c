// Standing push subscriptions between viewers: each viewer names, per feed key x, the neighbour
// that has been first to offer x in recent frames (its "parent" for x) and asks it once
// (PUSH_KEYS) to push x of every frame as soon as it gets it. A pushed key travels one hop in
// half an RTT instead of the HAVE → REQUEST → FEED round trip, so a key crosses the swarm along
// trees rooted at its producers. The pull stays the repair path: a key the parent announced but
// that never arrived (lost) or that others offered long before the parent is pulled as usual.
// No I/O; owned and driven by PeerCore, consulted by the pull scheduler.

import type { PeerCoreConfig } from './core-types.ts';
import type { FrameState } from './frame-state.ts';
import { KeySet } from './key-set.ts';
import type { NeighbourState } from './neighbour-state.ts';
import type { WireMessage } from './wire.ts';

/** Offer source meaning "no parent needed": made here, or sent by the broadcaster. */
const SELF = '';

export interface PushHost {
  readonly cfg: PeerCoreConfig;
  readonly neighbours: Map<string, NeighbourState>;
  sendControl(peerId: string, m: WireMessage): void;
  sendMedia(peerId: string, m: WireMessage, expiresMs: number): void;
  strikesOf(peerId: string): number;
  /** The policy's budget: may key x of frame seq go to this neighbour (recorded when yes)? */
  mayPush(peerId: string, seq: number, x: number): boolean;
  /** True while the broadcaster feeds this viewer directly (keys rotate over viewers: no parents). */
  directlyFed(): boolean;
}

export class PushSubscriptions {
  /** Key → neighbour asked to push it ('' none). */
  private readonly parent: string[] = new Array<string>(256).fill(SELF);
  /** Key → first offerer in the latest frames and for how many frames in a row. */
  private readonly cand: string[] = new Array<string>(256).fill(SELF);
  private readonly streak = new Uint8Array(256);
  /** Key → newest frame in which some neighbour (or we) offered it. */
  private readonly lastSeq = new Int32Array(256).fill(-1);
  private newestSeq = -1;
  private dirty = false;
  private lastSyncMs = -Infinity;
  /** Keys we asked each neighbour to push (rebuilt when subscriptions change): grouped by neighbour, so a frame looks up each parent's have-map once. */
  private asked: Array<{ nb: NeighbourState; keys: number[] }> = [];
  /** Key → neighbours that asked us to push it (rebuilt lazily when a PUSH_KEYS arrives). */
  private subscribers: Array<NeighbourState[] | undefined> = newSubscriberTable();
  private subscribersStale = false;

  constructor(private readonly h: PushHost) {}

  get enabled(): boolean {
    return this.h.cfg.pushKeys > 0 && !this.h.directlyFed();
  }

  /**
   * Key x of frame f is offered by `from` (a HAVE entry, or the packet itself; '' when made here
   * or sent by the broadcaster). Only the first offer of each key per frame counts.
   */
  noteOffer(f: FrameState, x: number, from: string, nowMs: number): void {
    if (f.state !== 'collecting') return;
    f.offered ??= new KeySet();
    if (!f.offered.add(x)) {
      if (from !== SELF && from === this.parent[x]) stamp(f, 256 + x, nowMs);
      return;
    }
    if (f.seq > this.lastSeq[x]) this.lastSeq[x] = f.seq;
    if (f.seq > this.newestSeq) this.newestSeq = f.seq;
    const p = this.parent[x];
    if (p !== SELF) stamp(f, from === p ? 256 + x : x, nowMs);
    if (this.cand[x] === from) {
      if (this.streak[x] < 255) this.streak[x]++;
    } else {
      this.cand[x] = from;
      this.streak[x] = 1;
    }
    // A key gets a parent after two frames in a row offered first by the same neighbour, and
    // changes parent after three (the parent's push arrives before the others' HAVE, so it keeps
    // the lead unless another neighbour is clearly earlier).
    const need = p === SELF ? 2 : 3;
    if (this.cand[x] !== p && this.streak[x] >= need) {
      this.parent[x] = this.cand[x];
      this.dirty = true;
    }
  }

  /** A neighbour's PUSH_KEYS: the keys it wants pushed from now on. */
  onPushKeys(nb: NeighbourState, keys: Uint8Array): void {
    const next = KeySet.fromBytes(keys);
    if (nb.pushTo && sameKeys(nb.pushTo, next)) return;
    nb.pushTo = next;
    this.subscribersStale = true;
  }

  onDisconnected(peerId: string): void {
    this.subscribersStale = true;
    this.asked = this.asked.filter((a) => a.nb.peerId !== peerId);
    for (let x = 0; x < 256; x++) {
      if (this.parent[x] === peerId) {
        this.parent[x] = SELF;
        this.dirty = true;
      }
      if (this.cand[x] === peerId) this.streak[x] = 0;
    }
  }

  /** Sends PUSH_KEYS to the neighbours whose share of our subscriptions changed. */
  tick(nowMs: number): void {
    if (!this.dirty && nowMs - this.lastSyncMs < 1000) return;
    if (nowMs - this.lastSyncMs < this.h.cfg.tickMs * 2) return;
    this.dirty = false;
    this.lastSyncMs = nowMs;
    const want = new Map<string, KeySet>();
    if (this.enabled) {
      // The lowest pushKeys keys offered in recent frames (systematic first): everyone picks the
      // same set, so a parent gets by push what its children ask of it.
      let n = 0;
      for (let x = 0; x < 256 && n < this.h.cfg.pushKeys; x++) {
        if (this.lastSeq[x] < 0 || this.newestSeq - this.lastSeq[x] > 16) continue;
        n++;
        const p = this.parent[x];
        const nb = p === SELF ? undefined : this.h.neighbours.get(p);
        if (!nb || nb.isBroadcaster) continue;
        let s = want.get(p);
        if (!s) want.set(p, (s = new KeySet()));
        s.add(x);
      }
    }
    for (const nb of this.h.neighbours.values()) {
      const s = want.get(nb.peerId);
      const had = nb.pushAsked;
      if (!s && (!had || had.size === 0)) continue;
      if (s && had && sameKeys(s, had)) continue;
      nb.pushAsked = s ?? new KeySet();
      this.h.sendControl(nb.peerId, { type: 'push-keys', keys: nb.pushAsked.toBytes() });
    }
    this.asked = [];
    for (const nb of this.h.neighbours.values()) if (nb.pushAsked && nb.pushAsked.size > 0) this.asked.push({ nb, keys: nb.pushAsked.toArray() });
  }

  /**
   * Keys of f we wait for by push now (`out`, counted in the result): the parent is linked, has not
   * announced the key yet, no other neighbour offered it more than pushWaitMs ago, the parent
   * announced one of our keys of f within pushSilentMs, and the frame is young enough. `late` gets
   * the keys whose wait ran out while the push may still come: pulled only when no other key will
   * do, since the push would then arrive as a duplicate.
   */
  awaited(f: FrameState, nowMs: number, out: KeySet, late: KeySet): number {
    out.clear();
    late.clear();
    if (!this.enabled || nowMs - f.firstSeenMs > this.h.cfg.pushGiveUpMs) return 0;
    let n = 0;
    for (let i = 0; i < this.asked.length; i++) {
      const { nb, keys } = this.asked[i];
      const r = nb.frames.get(f.seq);
      // A parent that announced none of our keys of f long after the frame began here may never
      // push them (a producer short of seeds, or a parent that left): they are late, pulled when
      // no other key will do.
      let silent = nowMs - f.firstSeenMs > this.h.cfg.pushSilentMs && !r?.complete;
      if (silent && r !== undefined) for (let j = 0; j < keys.length && silent; j++) if (r.keys.has(keys[j])) silent = false;
      for (let j = 0; j < keys.length; j++) {
        const x = keys[j];
        if (f.have.has(x) || f.inflightSet.has(x)) continue;
        if (silent) {
          late.add(x);
          continue;
        }
        if (r !== undefined) {
          if (r.complete) break;
          // The parent announced the key: its push is lost unless it comes right after the HAVE.
          if (r.keys.has(x)) {
            const at = offerMs(f, 256 + x);
            if (at === undefined || nowMs - at > this.h.cfg.pushLossMs) continue;
          }
        }
        const other = offerMs(f, x);
        if (other !== undefined && nowMs - other > this.h.cfg.pushWaitMs) {
          late.add(x);
          continue;
        }
        out.add(x);
        n++;
      }
    }
    return n;
  }

  /** A key of f arrived here first (from `from`, '' when made here): push it to its subscribers. */
  forward(f: FrameState, x: number, payload: Uint8Array, from: string, nowMs: number): void {
    if (from !== SELF && this.h.strikesOf(from) > 0) return;
    if (this.subscribersStale) this.rebuildSubscribers();
    const subs = this.subscribers[x];
    if (!subs) return;
    for (const nb of subs) {
      if (nb.peerId === from) continue;
      const r = nb.frames.get(f.seq);
      if (r && (r.complete || r.keys.size >= 64 || r.keys.has(x))) continue;
      // A backlogged link would deliver the key late: the neighbour pulls it (our HAVE tells it).
      if (nb.queue.length >= this.h.cfg.pushBacklogMax) continue;
      if (!this.h.mayPush(nb.peerId, f.seq, x)) continue;
      nb.pushed++;
      this.h.sendMedia(nb.peerId, { type: 'feed', seq: f.seq, x, payload }, nowMs + this.h.cfg.pushLifetimeMs);
    }
  }

  private rebuildSubscribers(): void {
    this.subscribersStale = false;
    this.subscribers = newSubscriberTable();
    for (const nb of this.h.neighbours.values()) {
      if (!nb.pushTo || nb.isBroadcaster) continue;
      for (const x of nb.pushTo.toArray()) (this.subscribers[x] ??= []).push(nb);
    }
  }
}

/**
 * Offer times of a frame's keys, as ms after the frame was first seen (+1; 0: none): [x] the first
 * offer by a neighbour other than x's parent, [256 + x] the parent's first announcement. A small
 * typed array rather than maps: thousands of simulated peers keep one per frame.
 */
function stamp(f: FrameState, i: number, nowMs: number): void {
  const a = (f.offerMs ??= new Uint16Array(512));
  if (a[i] === 0) a[i] = Math.min(65535, Math.max(1, Math.round(nowMs - f.firstSeenMs) + 1));
}

function offerMs(f: FrameState, i: number): number | undefined {
  const v = f.offerMs ? f.offerMs[i] : 0;
  return v === 0 ? undefined : f.firstSeenMs + v - 1;
}

/** One slot per key, filled from the start (keys set out of order would make a sparse array). */
function newSubscriberTable(): Array<NeighbourState[] | undefined> {
  return new Array<NeighbourState[] | undefined>(256).fill(undefined);
}

function sameKeys(a: KeySet, b: KeySet): boolean {
  for (let w = 0; w < 8; w++) if (a.word(w) !== b.word(w)) return false;
  return true;
}
