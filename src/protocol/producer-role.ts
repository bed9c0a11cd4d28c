// The producer role of a peer: keeps standing seed subscriptions to 9–10 holders of distinct keys
// for each leased group g (counting the keys this peer holds itself, whose seeds it makes here),
// turns 8+ seed packets into FP(8g…8g+7), checks spares and reports a holder whose seed disagrees.
// Seeds are media and may be lost: a group still short of 8 seeds asks its holders again (twice
// at most), since with few spare keys one lost seed would leave the group, and so the frame, short.
// No I/O; driven by the peer core through CoreContext.

import { isP2PError } from '../errors.ts';
import type { CoreContext, FrameState, SeedAssembly } from './frame-state.ts';
import type { WireMessage } from './wire.ts';

type Seed = Extract<WireMessage, { type: 'seed' }>;

export class ProducerRole {
  readonly groups = new Set<number>();
  /** holder peer → keys c it holds (from the tracker's neighbour list) */
  readonly holders = new Map<string, number[]>();
  /** The holders of the list before (their seeds may still be on the way). */
  private formerHolders = new Set<string>();
  /** group → holders subscribed */
  readonly subs = new Map<number, Set<string>>();
  produced = 0;
  badSeeds = 0;
  /** Holders found withholding or corrupt, and until when they are not used. */
  readonly shunned = new Map<string, number>();
  /** When each subscribed holder was first subscribed to (frames begun after it are judged). */
  private readonly subSince = new Map<string, number>();
  /**
   * Each subscribed holder's withholding score: +1 per judged frame its seeds missed, −½ per frame
   * they came (never below 0), and the frames it missed since the score was last 0.
   */
  private readonly misses = new Map<string, { score: number; missed: number }>();
  /** Complaints sent (diagnostics). */
  complaints = 0;

  /** `ownKeys`: the keys c this peer holds itself (its holder role). */
  constructor(private readonly ctx: CoreContext, private readonly ownKeys: () => ReadonlySet<number> = () => new Set()) {}

  setGroups(groups: readonly number[]): void {
    for (const g of this.groups) {
      if (groups.includes(g)) continue;
      for (const h of this.subs.get(g) ?? []) if (this.ctx.isConnected(h)) this.ctx.sendControl(h, { type: 'subscribe', g, on: false, fromSeq: 0 });
      this.subs.delete(g);
      this.groups.delete(g);
    }
    for (const g of groups) this.groups.add(g);
  }

  setHolders(holders: Map<string, number[]>): void {
    this.formerHolders = new Set(this.holders.keys());
    this.holders.clear();
    for (const [p, ks] of holders) this.holders.set(p, ks);
  }

  onDisconnected(peerId: string): void {
    for (const s of this.subs.values()) s.delete(peerId);
    this.subSince.delete(peerId);
    this.misses.delete(peerId);
  }

  /** The holder is not used until its shun ends (it is still banned or gone then, or judged again). */
  private isShunned(h: string, nowMs: number): boolean {
    const until = this.shunned.get(h);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    this.shunned.delete(h);
    return false;
  }

  /** Tops every group's subscriptions up to seedSources distinct keys c among connected holders. */
  refresh(banned: (peerId: string) => boolean, nowMs = this.nowMs): void {
    const avoid = (h: string) => banned(h) || this.isShunned(h, nowMs);
    for (const g of this.groups) {
      let s = this.subs.get(g);
      if (!s) this.subs.set(g, (s = new Set()));
      for (const h of [...s]) if (!this.holders.has(h) || !this.ctx.isConnected(h) || avoid(h)) s.delete(h);
      const keys = new Set<number>(this.ownKeys());
      for (const h of s) for (const c of this.holders.get(h) ?? []) keys.add(c);
      for (const [h, ks] of [...this.holders].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        if (keys.size >= this.ctx.cfg.seedSources) break;
        if (s.has(h) || !this.ctx.isConnected(h) || avoid(h) || ks.every((c) => keys.has(c))) continue;
        s.add(h);
        if (!this.subSince.has(h)) this.subSince.set(h, nowMs);
        for (const c of ks) keys.add(c);
        this.ctx.sendControl(h, { type: 'subscribe', g, on: true, fromSeq: this.oldestUnderWay() });
      }
    }
    for (const h of [...this.subSince.keys()]) if (!this.subscribedTo(h)) this.subSince.delete(h);
  }

  private subscribedTo(h: string): boolean {
    for (const s of this.subs.values()) if (s.has(h)) return true;
    return false;
  }

  /** The latest time the core handed in (refresh calls from list changes carry none). */
  private nowMs = 0;

  /** The first frame still being collected: a new subscription asks for its seeds too. */
  private oldestUnderWay(): number {
    let seq = 0xffffffff;
    for (const f of this.ctx.frames()) if (f.state === 'collecting' && f.seq < seq) seq = f.seq;
    return seq;
  }

  private expectedSeeds(g: number): number {
    const keys = new Set<number>(this.ownKeys());
    for (const h of this.subs.get(g) ?? []) for (const c of this.holders.get(h) ?? []) keys.add(c);
    return Math.min(keys.size, this.ctx.cfg.seedSources);
  }

  onSeed(from: string, m: Seed, nowMs: number): void {
    if (!this.groups.has(m.g) || !this.subs.get(m.g)?.has(from) || !this.holders.get(from)?.includes(m.c)) {
      // A holder (in the tracker's last list or the one before) whose seed we did not ask for:
      // its roles, ours or our subscription changed and the news is still on its way. Not used,
      // not held against it. Seed packets from anyone else are bad messages.
      if (!this.holders.has(from) && !this.formerHolders.has(from)) this.ctx.countBad(from, 'unexpected seed packet');
      return;
    }
    const f = this.ctx.frameFor(m.seq, nowMs);
    if (!f) return;
    if (f.P === 0 || m.payload.length === f.P) (f.seedFrom ??= new Set()).add(from);
    this.addSeed(f, m.g, m.c, m.payload, from, nowMs);
  }

  /** This peer's holder role has CS(c) of f whole: its seeds for every leased group count too. */
  onOwnSegment(f: FrameState, c: number, cs: Uint8Array, nowMs: number): void {
    for (const g of this.groups) {
      if (f.state === 'done' || f.state === 'missed' || f.seeds?.get(g)?.done) continue;
      this.addSeed(f, g, c, this.ctx.codec.seedPacket(cs, g), '', nowMs);
    }
  }

  private addSeed(f: FrameState, g: number, c: number, payload: Uint8Array, from: string, nowMs: number): void {
    if (f.state === 'done' || f.state === 'missed') return;
    const a = this.assemblyOf(f, g, nowMs);
    if (a.done || a.seeds.has(c)) return;
    if (f.P > 0 && payload.length !== f.P) {
      if (from) this.ctx.countBad(from, 'seed packet of the wrong size');
      return;
    }
    a.seeds.set(c, payload);
    a.from.set(c, from);
    if (a.seeds.size < 8) return;
    if (a.fullMs < 0) a.fullMs = nowMs;
    if (a.seeds.size >= this.expectedSeeds(g)) this.produce(f, g, a, nowMs);
    else this.dueMs = Math.min(this.dueMs, a.fullMs + this.ctx.cfg.produceGraceMs);
  }

  /** The earliest end of a grace for spare seeds still running (Infinity: none). */
  dueMs = Infinity;

  /**
   * produceOnGrace: produces the groups whose grace for spare seeds has ended, between ticks (the
   * core wakes at dueMs for it). The tick does the same for any left.
   */
  produceDue(nowMs: number): void {
    if (nowMs < this.dueMs) return;
    this.dueMs = Infinity;
    for (const f of this.ctx.frames()) {
      if (!f.seeds || f.state === 'done' || f.state === 'missed') continue;
      for (const [g, a] of f.seeds) {
        if (a.done || a.fullMs < 0) continue;
        if (nowMs >= a.fullMs + this.ctx.cfg.produceGraceMs) this.produce(f, g, a, nowMs);
        // Still waiting: a grace restarted (seeds that disagree); short of 8 seeds, the next seed sets it.
        const again = a.fullMs + this.ctx.cfg.produceGraceMs;
        if (!a.done && a.seeds.size >= 8 && again > nowMs) this.dueMs = Math.min(this.dueMs, again);
      }
    }
  }

  private assemblyOf(f: FrameState, g: number, nowMs: number): SeedAssembly {
    f.seeds ??= new Map();
    let a = f.seeds.get(g);
    if (!a) f.seeds.set(g, (a = { seeds: new Map(), from: new Map(), fullMs: -1, done: false, firstMs: nowMs, repairs: 0 }));
    return a;
  }

  tick(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    if (this.groups.size > 0) this.judgeHolders(nowMs);
    for (const f of this.ctx.frames()) {
      if (!f.seeds || f.state === 'done' || f.state === 'missed') continue;
      for (const [g, a] of f.seeds) {
        if (!a.done && a.fullMs >= 0 && nowMs - a.fullMs >= this.ctx.cfg.produceGraceMs) this.produce(f, g, a, nowMs);
      }
      // Seeds of one group arrived but not 8 of them: some were lost on the way.
      for (const g of this.groups) {
        let a = f.seeds.get(g);
        if (!a) {
          // None at all for g, though other groups' seeds came: g's may all have been lost.
          let first = Infinity;
          for (const o of f.seeds.values()) first = Math.min(first, o.firstMs);
          if (nowMs - first < this.ctx.cfg.seedRepairDelayMs) continue;
          a = this.assemblyOf(f, g, first);
        }
        if (!a.done && a.seeds.size < 8 && a.repairs < 2 && nowMs - a.firstMs >= this.ctx.cfg.seedRepairDelayMs * (1 + 3 * a.repairs)) this.askAgain(f, g, a);
      }
    }
  }

  /**
   * Judges each frame once, withholdJudgeMs after its first seed (both seed requests have gone out
   * by then): a frame where some group got 8 seeds or two holders sent seeds, but a holder
   * subscribed to before the frame began sent none counts a miss against it (+1), a frame with a
   * seed from it half a miss for it (−½). A score of withholdFrames: it withholds (4 frames in a
   * row; a holder that sends one frame's seeds in two is found too, after about 8). Loss alone
   * seldom costs a holder every seed of a frame, and seed requests have asked it again meanwhile.
   */
  private judgeHolders(nowMs: number): void {
    for (const f of this.ctx.frames()) {
      if (f.seedsJudged || !f.seeds) continue;
      let first = Infinity;
      let delivered = false;
      for (const a of f.seeds.values()) {
        first = Math.min(first, a.firstMs);
        if (a.done || a.seeds.size >= 8) delivered = true;
      }
      if (nowMs - first < this.ctx.cfg.withholdJudgeMs) continue;
      f.seedsJudged = true;
      // The frame's segments went out (some group got 8 seeds, or two holders sent theirs): a
      // holder that sent nothing for it missed it. When withholders hold most keys no group gets
      // 8, and the two that delivered still show the frame was there to make seeds from.
      if (!delivered && (f.seedFrom?.size ?? 0) < 2) continue;
      for (const [h, since] of this.subSince) {
        if (since > f.firstSeenMs || !this.ctx.isConnected(h) || this.isShunned(h, nowMs)) continue;
        const m = this.misses.get(h);
        if (f.seedFrom?.has(h)) {
          if (m && (m.score -= 0.5) <= 0) this.misses.delete(h);
          continue;
        }
        if (!m) this.misses.set(h, { score: 1, missed: 1 });
        else {
          m.score++;
          m.missed++;
        }
        const n = this.misses.get(h) as { score: number; missed: number };
        if (n.score >= this.ctx.cfg.withholdFrames) this.dropHolder(h, 'withholding', this.holders.get(h)?.[0] ?? 0, f.seq, n.missed, nowMs);
      }
    }
  }

  /**
   * Stops using a holder (withholding or corrupt): unsubscribes, subscribes to holders of other keys
   * in its place, and tells the tracker, whose neighbour list then names its successor.
   */
  private dropHolder(h: string, reason: 'withholding' | 'corrupt', key: number, seq: number, frames: number, nowMs: number): void {
    if (this.isShunned(h, nowMs)) return;
    this.shunned.set(h, nowMs + this.ctx.cfg.shunHolderMs);
    if (this.shunned.size > 64) this.shunned.delete(this.shunned.keys().next().value as string);
    this.misses.delete(h);
    this.subSince.delete(h);
    for (const [g, subs] of this.subs) {
      if (subs.delete(h) && this.ctx.isConnected(h)) this.ctx.sendControl(h, { type: 'subscribe', g, on: false, fromSeq: 0 });
    }
    // Its seeds of the frames under way are not used either (a corrupt holder's may all be bad,
    // and with one bad seed among nine a group is never made); the others still make the groups.
    for (const f of this.ctx.frames()) {
      if (!f.seeds || f.state === 'done' || f.state === 'missed') continue;
      for (const a of f.seeds.values()) {
        if (a.done) continue;
        for (const [c, from] of a.from) {
          if (from !== h) continue;
          a.seeds.delete(c);
          a.from.delete(c);
        }
        if (a.seeds.size < 8) a.fullMs = -1;
      }
    }
    this.complaints++;
    this.ctx.complain(h, reason, { key, seq, frames });
    this.refresh(() => false, nowMs);
  }

  /** Asks each subscribed holder whose seeds of (f, g) are missing to send them again. */
  private askAgain(f: FrameState, g: number, a: SeedAssembly): void {
    a.repairs++;
    for (const h of this.subs.get(g) ?? []) {
      if (!this.ctx.isConnected(h)) continue;
      if ((this.holders.get(h) ?? []).some((c) => !a.seeds.has(c))) this.ctx.sendControl(h, { type: 'seed-request', seq: f.seq, g });
    }
  }

  private produce(f: FrameState, g: number, a: SeedAssembly, nowMs: number): void {
    while (a.seeds.size >= 8) {
      try {
        const fps = this.ctx.codec.feedPacketsFromSeeds(a.seeds, g);
        a.done = true;
        a.madeMs = nowMs;
        this.produced++;
        const out = new Map<number, Uint8Array>();
        fps.forEach((p, m) => out.set(8 * g + m, p));
        this.ctx.addOwnPackets(f, out, nowMs);
        return;
      } catch (e) {
        const c = isP2PError(e, 'CODEC_SEEDS_DISAGREE') ? e.details?.c : undefined;
        if (typeof c === 'number' && a.seeds.has(c)) {
          this.badSeeds++;
          const h = a.from.get(c) ?? '';
          // Complain first: the strike may ban it, and a ban ends the link the tracker checks.
          if (h) this.dropHolder(h, 'corrupt', c, f.seq, 1, nowMs);
          this.ctx.strike(h, `seed packet SP(${c}, ${g}) disagrees with the other holders`);
          a.seeds.delete(c);
          continue;
        }
        if (isP2PError(e, 'CODEC_SEEDS_DISAGREE') && a.seeds.size < this.expectedSeeds(g)) {
          a.fullMs = nowMs; // cannot tell which seed is bad yet: wait for another spare
          return;
        }
        a.done = true;
        return;
      }
    }
  }
}
