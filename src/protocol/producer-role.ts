// The producer role of a peer: keeps standing seed subscriptions to 9–10 holders of distinct keys
// for each leased group g, turns 8+ seed packets into FP(8g…8g+7), checks spares and reports a
// holder whose seed disagrees. No I/O; driven by the peer core through CoreContext.

import { isP2PError } from '../errors.ts';
import type { CoreContext, FrameState, SeedAssembly } from './frame-state.ts';
import type { WireMessage } from './wire.ts';

type Seed = Extract<WireMessage, { type: 'seed' }>;

export class ProducerRole {
  readonly groups = new Set<number>();
  /** holder peer → keys c it holds (from the tracker's neighbour list) */
  readonly holders = new Map<string, number[]>();
  /** group → holders subscribed */
  readonly subs = new Map<number, Set<string>>();
  produced = 0;
  badSeeds = 0;

  constructor(private readonly ctx: CoreContext) {}

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
    this.holders.clear();
    for (const [p, ks] of holders) this.holders.set(p, ks);
  }

  onDisconnected(peerId: string): void {
    for (const s of this.subs.values()) s.delete(peerId);
  }

  /** Tops every group's subscriptions up to seedSources distinct keys c among connected holders. */
  refresh(banned: (peerId: string) => boolean): void {
    for (const g of this.groups) {
      let s = this.subs.get(g);
      if (!s) this.subs.set(g, (s = new Set()));
      for (const h of [...s]) if (!this.holders.has(h) || !this.ctx.isConnected(h) || banned(h)) s.delete(h);
      const keys = new Set<number>();
      for (const h of s) for (const c of this.holders.get(h) ?? []) keys.add(c);
      for (const [h, ks] of [...this.holders].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        if (keys.size >= this.ctx.cfg.seedSources) break;
        if (s.has(h) || !this.ctx.isConnected(h) || banned(h) || ks.every((c) => keys.has(c))) continue;
        s.add(h);
        for (const c of ks) keys.add(c);
        this.ctx.sendControl(h, { type: 'subscribe', g, on: true, fromSeq: 0 });
      }
    }
  }

  private expectedSeeds(g: number): number {
    const keys = new Set<number>();
    for (const h of this.subs.get(g) ?? []) for (const c of this.holders.get(h) ?? []) keys.add(c);
    return Math.min(keys.size, this.ctx.cfg.seedSources);
  }

  onSeed(from: string, m: Seed, nowMs: number): void {
    if (!this.groups.has(m.g) || !this.subs.get(m.g)?.has(from) || !this.holders.get(from)?.includes(m.c)) {
      this.ctx.countBad(from, 'unexpected seed packet');
      return;
    }
    const f = this.ctx.frameFor(m.seq, nowMs);
    if (!f || f.state === 'done' || f.state === 'missed') return;
    f.seeds ??= new Map();
    let a = f.seeds.get(m.g);
    if (!a) f.seeds.set(m.g, (a = { seeds: new Map(), from: new Map(), fullMs: -1, done: false }));
    if (a.done || a.seeds.has(m.c)) return;
    if (f.P > 0 && m.payload.length !== f.P) {
      this.ctx.countBad(from, 'seed packet of the wrong size');
      return;
    }
    a.seeds.set(m.c, m.payload);
    a.from.set(m.c, from);
    if (a.seeds.size < 8) return;
    if (a.fullMs < 0) a.fullMs = nowMs;
    if (a.seeds.size >= this.expectedSeeds(m.g)) this.produce(f, m.g, a, nowMs);
  }

  tick(nowMs: number): void {
    for (const f of this.ctx.frames()) {
      if (!f.seeds || f.state === 'done' || f.state === 'missed') continue;
      for (const [g, a] of f.seeds) {
        if (!a.done && a.fullMs >= 0 && nowMs - a.fullMs >= this.ctx.cfg.produceGraceMs) this.produce(f, g, a, nowMs);
      }
    }
  }

  private produce(f: FrameState, g: number, a: SeedAssembly, nowMs: number): void {
    while (a.seeds.size >= 8) {
      try {
        const fps = this.ctx.codec.feedPacketsFromSeeds(a.seeds, g);
        a.done = true;
        this.produced++;
        const out = new Map<number, Uint8Array>();
        fps.forEach((p, m) => out.set(8 * g + m, p));
        this.ctx.addOwnPackets(f, out, nowMs);
        return;
      } catch (e) {
        const c = isP2PError(e, 'CODEC_SEEDS_DISAGREE') ? e.details?.c : undefined;
        if (typeof c === 'number' && a.seeds.has(c)) {
          this.badSeeds++;
          this.ctx.strike(a.from.get(c) ?? '', `seed packet SP(${c}, ${g}) disagrees with the other holders`);
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
