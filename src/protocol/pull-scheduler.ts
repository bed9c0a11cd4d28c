// The pull side of a viewer: per frame, how many keys to want, which to ask of whom (through
// chooseRequests), manifest fetches, a directly fed viewer's repairs and extra keys. Works only
// on frames whose availability changed. No I/O; owned and driven by PeerCore.

import { chooseRequests, type NeighbourAvailability } from './choose-requests.ts';
import type { PeerCoreConfig } from './core-types.ts';
import { directSlotKeys, type FrameState } from './frame-state.ts';
import { firstMaybeImplied, suffixWord } from './implied-keys.ts';
import { KeySet } from './key-set.ts';
import type { NeighbourState } from './neighbour-state.ts';
import type { PushSubscriptions } from './push-subscriptions.ts';
import type { WireMessage } from './wire.ts';

export interface PullHost {
  readonly cfg: PeerCoreConfig;
  readonly neighbours: Map<string, NeighbourState>;
  /** Connected neighbours that left the tracker's list: asked for nothing more. */
  readonly unlisted: ReadonlySet<string>;
  readonly frames: Map<number, FrameState>;
  readonly stats: { requestsSent: number; keysRequested: number; keysTimedOut: number; lossEstimate: number };
  broadcaster(): string | undefined;
  direct(): { slot: number; slots: number; keys: number } | undefined;
  sendControl(peerId: string, m: WireMessage): void;
  readonly push: PushSubscriptions;
}

export class PullScheduler {
  /** Frames whose availability changed since the last pass. */
  readonly dirty = new Set<number>();
  /** A neighbour's request budget was freed: look at every frame. */
  budgetFreed = false;
  /** When a neighbour last disconnected (its direct-slot keys of frames in flight are lost). */
  neighbourLostMs = -Infinity;
  /** Frames with keys awaited by push: looked at again next pass (the wait may have run out). */
  private awaiting = new Set<number>();
  private awaitingNext = new Set<number>();
  private readonly awaitedKeys = new KeySet();
  private readonly lateKeys = new KeySet();
  private readonly excludeKeys = new KeySet();

  constructor(private readonly h: PullHost) {}

  schedule(nowMs: number): void {
    const loss = this.lossSpare();
    const all = this.budgetFreed;
    this.budgetFreed = false;
    for (const f of this.h.frames.values()) {
      if (f.state !== 'collecting') continue;
      this.askManifest(f, nowMs);
      this.directRepair(f, nowMs);
      // A directly fed frame still short of 64 keys long after it started (a slot's viewer left
      // with its keys): ask the broadcaster for the few keys beyond the direct set it lacks.
      // (Keys that may be implied zeros are not short: the manifest, when it comes, makes them held.)
      const maybe = 64 - firstMaybeImplied(f);
      const short = 64 - f.have.size - f.inflight.size - maybe;
      // Each viewer waits its own seeded extra delay: the first one's keys reach the others by pull.
      const spread = (Math.imul(this.h.cfg.seed + 1, 2654435761) ^ Math.imul(f.seq + 1, 40503)) >>> 0;
      // Right after a neighbour left, the keys of its direct slot are gone for the frames in flight:
      // waiting the full stuckMs would make those frames late, so the wait is short then.
      // Only frames begun before the loss (or within lostSlotMs after it, still slotted to the
      // viewer that left) lost a slot; later frames wait the full stuckMs.
      // The direct keys it lacks must also lie in one or two slots: a frame merely slow to arrive
      // (a swarm starting up, links moved by the tracker) lacks keys of every slot.
      const lostRecently = nowMs - this.neighbourLostMs < this.h.cfg.stuckMs && f.firstSeenMs < this.neighbourLostMs + this.h.cfg.lostSlotMs && short > 0 && lacksFewSlots(f, this.h.direct());
      const stuckAfter = lostRecently ? this.h.cfg.directRepairDelayMs + (spread % 150) : this.h.cfg.stuckMs + (spread % 400);
      const since = lostRecently ? nowMs - Math.max(f.firstSeenMs, this.neighbourLostMs) : nowMs - f.firstSeenMs;
      // Past the stuck wait, keys in flight from a late neighbour are not on their way: they come
      // after the frame's playout (a CPU-starved viewer answers everything, late), see prompt().
      const shortNow = !f.extraAsked && since > stuckAfter ? 64 - f.have.size - this.onItsWay(f, nowMs) - maybe : short;
      if (shortNow > 0 && !f.extraAsked && since > stuckAfter && this.nothingOffered(f, nowMs)) {
        this.reportMissing(f, nowMs);
        this.askExtraKeys(f, nowMs, shortNow + 1);
      }
      if (!all && !this.dirty.has(f.seq) && !this.awaiting.has(f.seq) && this.staleInflight(f, nowMs) === 0) continue;
      this.pullFrame(f, nowMs, loss);
    }
    this.dirty.clear();
    const a = this.awaiting;
    a.clear();
    this.awaiting = this.awaitingNext;
    this.awaitingNext = a;
  }

  /**
   * A neighbour's HAVE offered keys of f (askOnHave): f's pull runs now rather than at the next
   * tick, so the REQUEST leaves on the HAVE's arrival. The same bounds hold (want, each
   * neighbour's in-flight budget); f stays marked for the next pass.
   */
  pullNow(f: FrameState, nowMs: number): void {
    if (f.state === 'collecting') this.pullFrame(f, nowMs, this.lossSpare());
  }

  /** Ask for the keys loss is expected to eat (64·p/(1−p)); a repair round covers the rest. */
  private lossSpare(): { p: number; spare: number } {
    const p = Math.min(0.5, this.h.stats.lossEstimate);
    return { p, spare: Math.max(this.h.cfg.minSpareKeys, Math.min(16, Math.ceil((64 * p) / (1 - p)))) };
  }

  /** Asks neighbours for the keys f wants (64 + a loss spare − held − awaited − in flight). */
  private pullFrame(f: FrameState, nowMs: number, { p, spare }: { p: number; spare: number }): void {
    // Keys on their way by push are neither asked for nor counted as missing; the spare for
    // loss is asked only once nothing is awaited (a lost push shows in the parent's HAVE).
    const awaited = this.h.push.awaited(f, nowMs, this.awaitedKeys, this.lateKeys);
    if (awaited > 0) this.awaitingNext.add(f.seq);
    // With push, only keys left to pull need a loss spare (≈ need·p/(1−p)), not the whole frame.
    // During a pollution search, keys from the neighbours left out do not count as held.
    let held = f.have.size;
    if (f.avoid.size > 0) for (const src of f.from.values()) if (f.avoid.has(src)) held--;
    // Before the manifest tells L, the systematic keys past every one held or offered may be
    // implied zeros (implied-keys.ts): they are neither asked for nor counted as missing, and a
    // frame short only of them waits for its manifest (which makes them held) rather than asking
    // for coded keys in their place.
    const maybe = firstMaybeImplied(f);
    const need = 64 - held - awaited - (64 - maybe);
    if (maybe < 64 && need <= 0 && f.extraWant === 0) return;
    const spareNow = this.h.push.enabled ? Math.min(spare, Math.max(this.h.cfg.minSpareKeys, Math.ceil((need * p) / (1 - p)))) : spare;
    const want = need + (awaited > 0 ? 0 : spareNow) + f.extraWant - f.inflight.size + this.staleInflight(f, nowMs);
    if (want <= 0) return;
    const avail: NeighbourAvailability[] = [];
    for (const n of this.h.neighbours.values()) {
      if (n.isBroadcaster || f.avoid.has(n.peerId) || this.h.unlisted.has(n.peerId) || n.isMuted(nowMs)) continue;
      const h = n.frames.get(f.seq);
      if (!h || (!h.complete && h.keys.size === 0)) continue;
      // Never more than its serving budget would serve us (a refused request counts against us).
      const { spent, left } = n.askBudget(f.seq, this.h.cfg);
      const budget = Math.min(this.h.cfg.maxInflightPerNeighbour - n.inflight, left);
      if (budget <= 0) continue;
      avail.push({ peerId: n.peerId, complete: h.complete, keys: h.keys, weight: n.weight, budget, spent });
    }
    if (avail.length === 0) return;
    if (this.h.cfg.weighBySrtt > 0) this.weighBySrtt(avail);
    let exclude = f.exclude;
    const late = this.lateKeys.size > 0;
    if (awaited > 0 || late || maybe < 64) {
      exclude = this.excludeKeys;
      for (let w = 0; w < 8; w++) exclude.setWord(w, f.exclude.word(w) | this.awaitedKeys.word(w) | this.lateKeys.word(w) | suffixWord(w, maybe));
    }
    // Keys no parent pushes first; keys whose push is late only when those do not suffice.
    let plan = chooseRequests({ have: f.have, inflight: f.inflightSet, exclude, want }, avail);
    for (const r of plan) this.request(f, r.peerId, r.keys, nowMs);
    const asked = plan.reduce((k, r) => k + r.keys.length, 0);
    if (late && asked < want) {
      for (let w = 0; w < 8; w++) exclude.setWord(w, f.exclude.word(w) | this.awaitedKeys.word(w) | suffixWord(w, maybe));
      for (const a of avail) a.budget = Math.max(0, a.budget - (plan.find((r) => r.peerId === a.peerId)?.keys.length ?? 0));
      plan = chooseRequests({ have: f.have, inflight: f.inflightSet, exclude, want: want - asked }, avail);
      for (const r of plan) this.request(f, r.peerId, r.keys, nowMs);
    }
  }

  /** hedgeAfterMs: keys of an old frame asked long ago and still in flight (asked for again, as other keys). */
  private staleInflight(f: FrameState, nowMs: number): number {
    const cfg = this.h.cfg;
    if (cfg.hedgeAfterMs <= 0 || nowMs - f.firstSeenMs <= cfg.hedgeAfterMs || f.inflight.size === 0) return 0;
    let stale = 0;
    for (const x of f.inflight.keys()) if (nowMs - f.inflight.sentMs(x) > cfg.hedgeStaleMs) stale++;
    return stale;
  }

  /** weighBySrtt: each neighbour's weight × (fastest smoothed request-to-key time among them / its own). */
  private weighBySrtt(avail: NeighbourAvailability[]): void {
    let fastest = Infinity;
    for (const a of avail) fastest = Math.min(fastest, (this.h.neighbours.get(a.peerId) as NeighbourState).srttMs);
    for (const a of avail) a.weight *= Math.min(1, fastest / Math.max(1, (this.h.neighbours.get(a.peerId) as NeighbourState).srttMs));
  }

  request(f: FrameState, peerId: string, keys: number[], nowMs: number): void {
    const n = this.h.neighbours.get(peerId);
    if (!n || keys.length === 0) return;
    const expiresMs = nowMs + n.requestTimeout(this.h.cfg) + keys.length * 4;
    for (const x of keys) f.inflight.add(x, peerId, nowMs, expiresMs);
    n.inflight += keys.length;
    n.noteAsked(f.seq, keys);
    this.h.stats.requestsSent++;
    this.h.stats.keysRequested += keys.length;
    this.h.stats.lossEstimate *= 0.99 ** keys.length;
    this.h.sendControl(peerId, { type: 'request', seq: f.seq, count: Math.min(255, keys.length), allowed: KeySet.of(keys).toBytes() });
  }

  /** Requests of f past their timeout: the keys are asked again elsewhere (the repair round). */
  expire(f: FrameState, nowMs: number): void {
    for (const x of f.inflight.keys()) {
      if (f.inflight.expiresMs(x) > nowMs) continue;
      const peerId = f.inflight.peerOf(x) as string;
      f.inflight.delete(x);
      this.dirty.add(f.seq);
      this.h.stats.keysTimedOut++;
      this.h.stats.lossEstimate = this.h.stats.lossEstimate * 0.99 + 0.01;
      const n = this.h.neighbours.get(peerId);
      if (n) {
        if (n.inflight >= this.h.cfg.maxInflightPerNeighbour) this.budgetFreed = true;
        n.timedOut();
      }
    }
  }

  /** A neighbour gone (or going): its requests, pushes and manifest questions are asked of others in the next pass. */
  forget(peerId: string): void {
    this.h.push.onDisconnected(peerId);
    for (const f of this.h.frames.values()) {
      if (f.manifestAskedOf === peerId && !f.manifest) {
        f.manifestAskedOf = '';
        f.manifestAskMs = -Infinity;
        this.dirty.add(f.seq);
      }
      if (f.inflight.size === 0) continue;
      for (const x of f.inflight.keys()) if (f.inflight.peerOf(x) === peerId) {
        f.inflight.delete(x);
        this.dirty.add(f.seq);
      }
    }
    const n = this.h.neighbours.get(peerId);
    if (n) n.inflight = 0;
    this.budgetFreed = true;
  }

  /** Forgets a frame's outstanding requests and gives each neighbour its request budget back. */
  release(f: FrameState): void {
    for (const x of f.inflight.keys()) {
      const n = this.h.neighbours.get(f.inflight.peerOf(x) as string);
      if (!n || n.inflight === 0) continue;
      if (n.inflight >= this.h.cfg.maxInflightPerNeighbour) this.budgetFreed = true;
      n.inflight--;
    }
    f.inflight.clear();
  }

  private askManifest(f: FrameState, nowMs: number): void {
    if (f.manifest || nowMs - f.manifestAskMs < this.h.cfg.retryMs) return;
    for (const n of this.h.neighbours.values()) {
      const h = n.frames.get(f.seq);
      if (!h || !(h.manifest || h.complete) || n.isBroadcaster || this.h.unlisted.has(n.peerId)) continue;
      f.manifestAskMs = nowMs;
      f.manifestAskedOf = n.peerId;
      this.h.sendControl(n.peerId, { type: 'manifest-request', seq: f.seq });
      return;
    }
  }

  private directRepair(f: FrameState, nowMs: number): void {
    const b = this.h.broadcaster();
    const d = this.h.direct();
    if (!d || !b || !this.h.neighbours.has(b) || f.directRepairs >= 3 || nowMs < f.directRepairAtMs) return;
    // Slot keys still missing, asked again even if a first repair is in flight (it may be lost too);
    // before the manifest, not those that may be implied zeros (never sent; see firstMaybeImplied).
    const maybe = firstMaybeImplied(f);
    const missing = directSlotKeys(f.seq, d.slot, d.slots, d.keys).filter((x) => !f.have.has(x) && (x < maybe || x >= 64) && (f.directRepairs === 0 || f.inflight.peerOf(x) === b || !f.inflightSet.has(x)));
    f.directRepairs++;
    f.directRepairAtMs = nowMs + Math.max(this.h.cfg.directRepairDelayMs, 2 * (this.h.neighbours.get(b)?.srttMs ?? 100));
    if (missing.length > 0) this.request(f, b, missing, nowMs);
    if (!f.manifest && f.directRepairs === 2 && nowMs - f.manifestAskMs >= this.h.cfg.retryMs && ![...this.h.neighbours.values()].some((n) => n.frames.get(f.seq)?.manifest)) {
      f.manifestAskMs = nowMs;
      f.manifestAskedOf = b;
      this.h.sendControl(b, { type: 'manifest-request', seq: f.seq });
    }
  }

  /**
   * True when `n` can still bring a stuck frame's keys in time: it is not muted, and the keys asked
   * of it arrive within `stuckMs` of their frame's start here (smoothed). The frame is past its stuck
   * wait already; a neighbour whose keys come later than that (a CPU-starved page answers every
   * request, but its frames' keys come 1–1.4 s after their start) lands them after the frame's
   * playout, so its offers and the keys in flight from it do not count.
   */
  private prompt(n: NeighbourState, nowMs: number): boolean {
    return n.isBroadcaster || (!n.isMuted(nowMs) && n.keyAgeMs <= this.h.cfg.stuckMs);
  }

  /** Keys of f in flight from the broadcaster or a prompt neighbour. */
  private onItsWay(f: FrameState, nowMs: number): number {
    let k = 0;
    for (const x of f.inflight.keys()) {
      const n = this.h.neighbours.get(f.inflight.peerOf(x) as string);
      if (n && this.prompt(n, nowMs)) k++;
    }
    return k;
  }

  /**
   * True when no prompt neighbour offers a key of `f` we neither hold nor asked for of a prompt one
   * (nor asked of it as often as its serving budget allows).
   */
  private nothingOffered(f: FrameState, nowMs: number): boolean {
    for (const n of this.h.neighbours.values()) {
      const h = n.frames.get(f.seq);
      if (!h || n.isBroadcaster || this.h.unlisted.has(n.peerId) || !this.prompt(n, nowMs)) continue;
      // Keys its serving budget no longer covers are not on offer to us.
      const { spent, left } = n.askBudget(f.seq, this.h.cfg);
      if (left <= 0) continue;
      if (h.complete) return false;
      for (let w = 0; w < 8; w++) if (h.keys.word(w) & ~(f.have.word(w) | f.inflightSet.word(w) | (spent ? spent.word(w) : 0))) return false;
    }
    return true;
  }

  /**
   * A directly fed frame is stuck with nothing offered: tell the broadcaster which keys of the
   * direct set never came (MISSING), leaving out this viewer's own slot (its repairs cover those),
   * when they lie in at most 3 slots (a frame merely slow to arrive lacks keys of every slot). The
   * broadcaster moves a slot only when enough viewers say so over several frames (slot-judge.ts).
   */
  private reportMissing(f: FrameState, nowMs: number): void {
    const b = this.h.broadcaster();
    const d = this.h.direct();
    if (!d || !b || !this.h.neighbours.has(b) || d.slots <= 1 || f.extraAsked) return;
    const keys = new KeySet();
    const slots = new Set<number>();
    // Keys a prompt neighbour holds reached the swarm: not missing, also those its serving budget no
    // longer lets us ask of it (else a frame short of those looks short of every slot: no report).
    const nearby = new KeySet();
    for (const n of this.h.neighbours.values()) {
      const h = n.frames.get(f.seq);
      if (!h || n.isBroadcaster || this.h.unlisted.has(n.peerId) || !this.prompt(n, nowMs)) continue;
      for (let w = 0; w < 8; w++) nearby.setWord(w, nearby.word(w) | h.keys.word(w));
    }
    for (let k = 0; k < d.keys; k++) {
      const slot = (k + f.seq) % d.slots;
      if (f.have.has(k) || slot === d.slot || nearby.has(k)) continue;
      // A key on its way from a prompt neighbour is not missing (one from a muted or late one is).
      const from = f.inflightSet.has(k) ? this.h.neighbours.get(f.inflight.peerOf(k) as string) : undefined;
      if (from && this.prompt(from, nowMs)) continue;
      keys.add(k);
      slots.add(slot);
    }
    if (keys.size === 0 || slots.size > 3) return;
    this.h.sendControl(b, { type: 'missing', seq: f.seq, keys: keys.toBytes() });
  }

  /** A directly fed viewer short of clean keys asks the broadcaster for keys beyond the direct set (once). */
  askExtraKeys(f: FrameState, nowMs: number, count = 24): void {
    const b = this.h.broadcaster();
    const d = this.h.direct();
    if (!d || !b || !this.h.neighbours.has(b) || f.extraAsked || count <= 0) return;
    f.extraAsked = true;
    // Each slot asks its own range beyond the direct set (wrapping): after pollution the viewers
    // together then hold more distinct clean keys than the direct set, not 24 they all share.
    const keys: number[] = [];
    const span = 256 - d.keys;
    const start = span > 0 ? (d.slot * 24) % span : 0;
    for (let i = 0; i < Math.min(span, 24) && keys.length < count; i++) {
      const x = d.keys + ((start + i) % span);
      if (!f.have.has(x)) keys.push(x);
    }
    this.request(f, b, keys, nowMs);
  }
}

/**
 * Direct feed: the direct-set keys f neither holds nor awaits all belong to one or two slots, as
 * when the viewers fed those slots left with them (having passed on some, perhaps). A frame merely
 * slow to arrive lacks keys of every slot. Slot i has the keys k with (k + seq) % slots === i
 * (see directSlotKeys).
 */
export function lacksFewSlots(f: FrameState, d: { slots: number; keys: number } | undefined): boolean {
  if (!d || d.slots <= 0) return false;
  let a = -1;
  let b = -1;
  for (let k = 0; k < d.keys; k++) {
    if (f.have.has(k) || f.inflightSet.has(k)) continue;
    const slot = (k + f.seq) % d.slots;
    if (slot === a || slot === b) continue;
    if (a < 0) a = slot;
    else if (b < 0) b = slot;
    else return false;
  }
  return a >= 0;
}
