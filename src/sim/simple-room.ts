// A small stand-in for the tracker's room state, with the same shape (join / leave / tick with
// nowMs, RoomEvent outputs from pollEvent): a random viewer mesh, direct feed ↔ holder mode with
// hysteresis, holder keys on the strongest uploaders, producer groups 0–7 first. Pure, seeded.
// Used by the simulator by default (`--tracker simple`); `--tracker room` runs the tracker's Room.

import { type JoinInfo, type PeerId, type RoomEvent } from '../tracker/room-config.ts';
import { SeededRng } from '../rng.ts';
import type { NeighbourInfo, NeighbourReason, SwarmMode } from '../tracker/messages.ts';

export interface SimpleRoomConfig {
  seed: number;
  neighbourTarget: number;
  neighbourMax: number;
  segmentKeys: number[];
  producerGroups: number;
  producerHolderLinks: number;
  holderModeAtViewers: number;
  directModeAtViewers: number;
  directMaxViewers: number;
  /** Producers per viewer (at least one per group). */
  producerShare: number;
  maxProducers: number;
  maxKeysPerHolder: number;
  maxGroupsPerProducer: number;
  /** After a mode switch the broadcaster keeps its old links this long (no gap). */
  modeOverlapMs: number;
}

export const DEFAULT_SIMPLE_ROOM: Readonly<SimpleRoomConfig> = Object.freeze({
  seed: 1,
  neighbourTarget: 8,
  neighbourMax: 12,
  // 11 keys: 11/8 = 1.375× the stream to holders leaves room for 5 % loss repairs under 1.6.
  segmentKeys: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  producerGroups: 12,
  producerHolderLinks: 10,
  holderModeAtViewers: 40,
  directModeAtViewers: 24,
  directMaxViewers: 48,
  producerShare: 1 / 12,
  maxProducers: 96,
  maxKeysPerHolder: 3,
  maxGroupsPerProducer: 4,
  modeOverlapMs: 2000,
});

export class SimpleRoom {
  readonly cfg: SimpleRoomConfig;
  private readonly rng: SeededRng;
  private broadcaster: PeerId | undefined;
  private readonly viewers: PeerId[] = [];
  private readonly upload = new Map<PeerId, number>();
  private readonly mesh = new Map<PeerId, Set<PeerId>>();
  private holders = new Map<PeerId, number[]>();
  private producers = new Map<PeerId, number[]>();
  private mode: SwarmMode = 'direct';
  private oldFeedUntilMs = -Infinity;
  private oldFeed = new Set<PeerId>();
  private events: RoomEvent[] = [];
  private eventHead = 0;
  /** Viewers by upload, highest first (ties by id), kept sorted on join and leave. */
  private readonly byUpload: PeerId[] = [];
  private readonly lastSent = new Map<PeerId, string>();
  private dirty = true;
  private touched: Set<PeerId> | 'all' = 'all';

  constructor(cfg: Partial<SimpleRoomConfig> = {}) {
    this.cfg = { ...DEFAULT_SIMPLE_ROOM, ...cfg };
    this.rng = new SeededRng(this.cfg.seed);
  }

  join(peerId: PeerId, info: JoinInfo, nowMs: number): void {
    if (info.broadcaster) this.broadcaster = peerId;
    else {
      this.viewers.push(peerId);
      this.upload.set(peerId, info.uploadBps ?? 0);
      this.byUpload.splice(this.uploadRank(peerId), 0, peerId);
      this.mesh.set(peerId, new Set());
      this.link(peerId, Math.ceil(this.cfg.neighbourTarget / 2) + 1);
      this.touch(peerId);
    }
    this.dirty = true;
    this.tick(nowMs);
  }

  leave(peerId: PeerId, nowMs: number): void {
    const i = this.viewers.indexOf(peerId);
    if (i >= 0) {
      this.viewers.splice(i, 1);
      const r = this.uploadRank(peerId);
      if (this.byUpload[r] === peerId) this.byUpload.splice(r, 1);
    }
    const ns = this.mesh.get(peerId) ?? new Set();
    this.mesh.delete(peerId);
    for (const n of ns) this.mesh.get(n)?.delete(peerId);
    for (const n of ns) {
      this.touch(n);
      this.link(n);
    }
    // A holder leaving changes every producer's holder links; a producer, only its holders'.
    if (this.holders.has(peerId)) for (const p of this.producers.keys()) this.touch(p);
    if (this.producers.has(peerId)) for (const p of this.holders.keys()) this.touch(p);
    this.holders.delete(peerId);
    this.producers.delete(peerId);
    this.oldFeed.delete(peerId);
    this.lastSent.delete(peerId);
    this.dirty = true;
    this.tick(nowMs);
  }

  tick(nowMs: number): void {
    const n = this.viewers.length;
    const prev = this.mode;
    if (this.mode === 'direct' && n >= this.cfg.holderModeAtViewers) this.mode = 'holder';
    else if (this.mode === 'holder' && n <= this.cfg.directModeAtViewers) this.mode = 'direct';
    if (prev !== this.mode) {
      this.touched = 'all';
      this.oldFeed = new Set(this.feedLinks(prev));
      this.oldFeedUntilMs = nowMs + this.cfg.modeOverlapMs;
      this.dirty = true;
    }
    if (this.oldFeed.size > 0 && nowMs >= this.oldFeedUntilMs) {
      this.touched = 'all';
      this.oldFeed.clear();
      this.dirty = true;
    }
    if (!this.dirty) return;
    this.dirty = false;
    const key = (m: Map<PeerId, number[]>) => new Map([...m].map(([p, ks]) => [p, ks.join(',')]));
    const holdersBefore = key(this.holders);
    const producersBefore = key(this.producers);
    this.assignRoles();
    // Only peers whose roles changed, and those linked to them by role, get new lists.
    const holdersAfter = key(this.holders);
    const producersAfter = key(this.producers);
    let holdersChanged = false;
    for (const p of new Set([...holdersBefore.keys(), ...holdersAfter.keys()])) {
      if (holdersBefore.get(p) === holdersAfter.get(p)) continue;
      holdersChanged = true;
      this.touch(p);
    }
    let producersChanged = false;
    for (const p of new Set([...producersBefore.keys(), ...producersAfter.keys()])) {
      if (producersBefore.get(p) === producersAfter.get(p)) continue;
      producersChanged = true;
      this.touch(p);
    }
    if (holdersChanged) for (const p of this.producers.keys()) this.touch(p);
    if (producersChanged) for (const p of this.holders.keys()) this.touch(p);
    this.publish();
    this.touched = new Set();
  }

  /** Where p goes in byUpload (binary search: upload descending, then id ascending). */
  private uploadRank(p: PeerId): number {
    const u = this.upload.get(p) ?? 0;
    let lo = 0;
    let hi = this.byUpload.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      const o = this.byUpload[m];
      const uo = this.upload.get(o) ?? 0;
      if (uo > u || (uo === u && o < p)) lo = m + 1;
      else hi = m;
    }
    return lo;
  }

  private touch(p: PeerId): void {
    if (this.touched !== 'all') this.touched.add(p);
  }

  pollEvent(): RoomEvent | undefined {
    if (this.eventHead >= this.events.length) {
      if (this.events.length > 0) {
        this.events = [];
        this.eventHead = 0;
      }
      return undefined;
    }
    return this.events[this.eventHead++];
  }

  get swarmMode(): SwarmMode {
    return this.mode;
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Links p to random viewers below neighbourMax until it has `want` (a joiner starts half full; later joiners fill it up). */
  private link(p: PeerId, want = this.cfg.neighbourTarget): void {
    const mine = this.mesh.get(p);
    if (!mine) return;
    const ok = (v: PeerId) => v !== p && !mine.has(v) && (this.mesh.get(v)?.size ?? 0) < this.cfg.neighbourMax;
    let cands: PeerId[] = [];
    if (this.viewers.length > 512) {
      // Large swarms: draw random viewers instead of filtering all of them (joins stay O(1)).
      const seen = new Set<PeerId>();
      for (let tries = 0; tries < 8 * want && cands.length < want - mine.size; tries++) {
        const v = this.viewers[Math.floor(this.rng.next() * this.viewers.length)];
        if (!seen.has(v) && ok(v)) cands.push(v);
        seen.add(v);
      }
    }
    if (cands.length < want - mine.size) {
      cands = this.viewers.filter(ok);
      this.rng.shuffle(cands);
    }
    for (const v of cands) {
      if (mine.size >= want) break;
      mine.add(v);
      this.mesh.get(v)?.add(p);
      this.touch(v);
      this.touch(p);
    }
  }

  private feedLinks(mode: SwarmMode): PeerId[] {
    return mode === 'holder' ? [...this.holders.keys()] : this.viewers.slice(0, this.cfg.directMaxViewers);
  }

  private assignRoles(): void {
    if (this.mode === 'direct') {
      this.holders.clear();
      this.producers.clear();
      return;
    }
    const keys = this.cfg.segmentKeys;
    const n = this.viewers.length;
    // The mesh has exactly the viewers present (no set of every viewer per join at 10 000 peers).
    for (const [p] of this.holders) if (!this.mesh.has(p)) this.holders.delete(p);
    for (const [p] of this.producers) if (!this.mesh.has(p)) this.producers.delete(p);
    const byUpload = this.byUpload;
    // Holders: one key each in a large swarm; up to maxKeysPerHolder keys each in a small one.
    const holderCount = Math.min(keys.length, Math.max(Math.ceil(keys.length / this.cfg.maxKeysPerHolder), Math.floor(n / 2)));
    for (const p of byUpload) {
      if (this.holders.size >= holderCount) break;
      if (!this.holders.has(p) && !this.producers.has(p)) this.holders.set(p, []);
    }
    const held = new Set([...this.holders.values()].flat());
    for (const c of keys) {
      if (held.has(c)) continue;
      const h = [...this.holders].filter(([, ks]) => ks.length < this.cfg.maxKeysPerHolder).sort((a, b) => a[1].length - b[1].length)[0];
      if (!h) break;
      h[1].push(c);
      held.add(c);
    }
    // Producers: every group 0…producerGroups-1 leased at least once (a producer may take several).
    const want = Math.min(this.cfg.maxProducers, Math.max(this.cfg.producerGroups, Math.ceil(n * this.cfg.producerShare)));
    for (const p of byUpload) {
      if (this.producers.size >= want) break;
      if (!this.holders.has(p) && !this.producers.has(p)) this.producers.set(p, []);
    }
    const count = new Array<number>(this.cfg.producerGroups).fill(0);
    for (const gs of this.producers.values()) for (const g of gs) count[g]++;
    for (const [, gs] of this.producers) {
      if (gs.length > 0) continue;
      const g = count.indexOf(Math.min(...count));
      gs.push(g);
      count[g]++;
    }
    for (let g = 0; g < count.length; g++) {
      if (count[g] > 0) continue;
      const p = [...this.producers].filter(([, gs]) => gs.length < this.cfg.maxGroupsPerProducer).sort((a, b) => a[1].length - b[1].length)[0];
      if (!p) break;
      p[1].push(g);
      count[g]++;
    }
  }

  private publish(): void {
    const b = this.broadcaster;
    const lists = new Map<PeerId, Map<PeerId, Set<NeighbourReason>>>();
    const add = (a: PeerId, o: PeerId, r: NeighbourReason) => {
      let m = lists.get(a);
      if (!m) lists.set(a, (m = new Map()));
      let s = m.get(o);
      if (!s) m.set(o, (s = new Set()));
      s.add(r);
    };
    const wanted = (p: PeerId) => this.touched === 'all' || this.touched.has(p) || p === b;
    for (const v of this.touched === 'all' ? this.viewers : this.touched) {
      if (!this.mesh.has(v)) continue;
      lists.set(v, lists.get(v) ?? new Map());
      for (const o of this.mesh.get(v) ?? []) add(v, o, 'swarm');
    }
    if (b) {
      lists.set(b, lists.get(b) ?? new Map());
      const feed = new Set([...this.feedLinks(this.mode), ...this.oldFeed]);
      for (const v of feed) {
        if (!this.mesh.has(v)) continue;
        add(b, v, this.holders.has(v) ? 'holder' : 'viewer');
        if (wanted(v)) add(v, b, 'broadcaster');
      }
    }
    const holderList = [...this.holders].sort((x, y) => x[1][0] - y[1][0]);
    for (const [p] of this.producers) {
      let links = 0;
      for (const [h] of holderList) {
        if (links++ >= this.cfg.producerHolderLinks) break;
        if (wanted(p)) add(p, h, 'holder');
        if (wanted(h)) add(h, p, 'producer');
      }
    }
    for (const [p, m] of lists) {
      if (!wanted(p)) continue;
      const neighbours: NeighbourInfo[] = [...m].map(([o, rs]) => ({
        peerId: o, reasons: [...rs], initiator: p < o, ...(this.holders.has(o) ? { holderKeys: this.holders.get(o) } : {}),
      }));
      neighbours.sort((x, y) => (x.peerId < y.peerId ? -1 : 1));
      this.queue(p, { type: 'neighbours', to: p, neighbours });
      if (p !== b) this.queue(p, { type: 'roles', to: p, holderKeys: this.holders.get(p) ?? [], producerGroups: this.producers.get(p) ?? [], leaseMs: 3000, heartbeatMs: 1000 });
    }
    if (b) {
      const entries = (m: Map<PeerId, number[]>) => [...m].map(([peerId, keys]) => ({ peerId, keys }));
      this.queue(b, { type: 'swarm', to: b, mode: this.mode, viewers: this.viewers.length, holders: entries(this.holders), producers: entries(this.producers) });
    }
  }

  private queue(p: PeerId, e: RoomEvent): void {
    const key = `${p}:${e.type}`;
    const body = JSON.stringify(e);
    if (this.lastSent.get(key) === body) return;
    this.lastSent.set(key, body);
    this.events.push(e);
  }
}
