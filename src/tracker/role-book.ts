// Role assignment of one room: which peers hold which code-segment keys, which lease which seed
// groups, who is eligible, and the broadcaster / producer links those roles need. Pure state
// driven by room.ts (no I/O, no clock); the room tells it the mode and the broadcaster.

import type { RoleEntry, SwarmMode } from './messages.ts';
import type { PeerId, RoomConfig } from './room-config.ts';
import { FEED, SEED_A, SEED_B, SEGMENT, type GraphNode, type SwarmGraph } from './swarm-graph.ts';
import { distrusted, minRoleUpload, networkOf, pickHolder, rankCandidates, reportedUploadBps, seasoned, uploadStanding } from './role-trust.ts';

export interface RoomPeer extends GraphNode {
  /** When it joined (the holder probation counts from here). */
  joinedMs: number;
  /** Upload measured by the peer's transport, if it reports one (lowers the claim, never raises it). */
  measuredUploadBps: number | undefined;
  /** Share of its upload samples with its send buffers backed up (undefined: not reported, taken as 1). */
  uploadLimitedShare: number | undefined;
  /** Since when it reports an upload that is not short (its probation counts from here); null: none. */
  reportedSinceMs: number | null;
  /** After complaints moved its keys: no role until then. */
  distrustedUntilMs: number;
  /** Producers' complaints against it as a holder: network key → time. */
  complaints: Map<string, number> | null;
  /** Network key (IPv4 /24, IPv6 /64) holder keys are spread over; null when unknown. */
  networkKey: string | null;
  uploadBps: number | undefined;
  relayed: boolean;
  lastSeenMs: number;
  holderKeys: number[];
  producerGroups: number[];
  leaseExpiresMs: number;
  /** Keys and groups announced after a reconnect, honoured when free. */
  claimedKeys: number[];
  claimedGroups: number[];
  /** Its lease ran out: no roles until it is heard from again. */
  lapsed: boolean;
}

/** What the role book reads from its room. */
export interface RoleContext {
  readonly mode: SwarmMode;
  readonly broadcaster: RoomPeer | null;
  readonly bitrateBps: number;
  /** Just after a switch to holder mode: the broadcaster keeps its direct-feed links a while. */
  readonly overlap: boolean;
  /** Just after a tracker restart: roles go only to peers that claim them, the rest waits. */
  readonly restoring: boolean;
  /** Time of the room's latest call. */
  readonly nowMs: number;
}

export class RoleBook {
  readonly holderOf = new Map<number, RoomPeer>();
  /** The first producer of each group (every group needs one). */
  readonly producerOf = new Map<number, RoomPeer>();
  /** Further producers in a large swarm, one group each, so feed packets start at many places. */
  readonly extraProducers = new Set<RoomPeer>();
  /** Peers whose roles changed since the room last flushed. */
  readonly dirty = new Set<RoomPeer>();
  /** Bumped on every role change. */
  epoch = 0;
  /** Bumped on every relinkProducers (the room relinks once after a leave, see Room.leave). */
  relinks = 0;
  /** Some key or group has no owner (holder mode only). */
  incomplete = false;
  lastFullFillMs = -Infinity;
  /**
   * Addresses (host keys) of peers some peer reported as a failed pair (a ban, or a link that never
   * came up), the oldest forgotten beyond 4 096: a joiner from one gets no join trial (a banned
   * polluter coming back under a new id is not fed before it has shown anything).
   */
  private readonly reportedHosts = new Set<string>();

  constructor(
    private readonly ctx: RoleContext,
    private readonly peers: Map<PeerId, RoomPeer>,
    private readonly graph: SwarmGraph<RoomPeer>,
    private readonly config: RoomConfig,
  ) {}

  feedCount(): number {
    let n = 0;
    if (this.ctx.broadcaster) for (const e of this.ctx.broadcaster.edges.values()) if (e.bits & FEED) n++;
    return n;
  }

  /** Broadcaster links: every viewer (up to directMaxViewers) in direct feed, the holders in holder mode. */
  relinkBroadcaster(): void {
    const b = this.ctx.broadcaster;
    if (!b) return;
    const direct = this.ctx.mode === 'direct';
    for (const e of [...b.edges.values()]) {
      const q = this.peers.get(e.a === b.id ? e.b : e.a) as RoomPeer;
      if (!direct && e.bits & FEED && !this.ctx.overlap) this.graph.setBits(b, q, FEED, false, b.id);
      if (e.bits & SEGMENT && q.holderKeys.length === 0) this.graph.setBits(b, q, SEGMENT, false, b.id);
    }
    if (direct) {
      // Feed slots go to eligible viewers (measured at the stream rate, or on trial), then to
      // joiners that have not reported yet (join trial); others are fed only while fewer than
      // directMinFeeds viewers would be, unmeasured ones first.
      const c = this.config;
      const fed = (v: RoomPeer) => ((b.edges.get(v.id)?.bits ?? 0) & FEED) !== 0;
      // A viewer the broadcaster reported (banned), or one of its address, is never fed again.
      const barred = (v: RoomPeer) => this.graph.avoids(b, v);
      for (const v of this.graph.viewers) if (fed(v) && barred(v)) this.graph.setBits(b, v, FEED, false, b.id);
      const eligible = this.graph.viewers.filter((v) => this.eligible(v) && !barred(v));
      for (const v of this.graph.viewers) if (!this.eligible(v) && this.joinTrial(v) && !barred(v)) eligible.push(v);
      const floor = Math.min(c.directMinFeeds, this.graph.viewers.length);
      if (eligible.length >= floor) {
        for (const v of this.graph.viewers) if (fed(v) && !this.feedable(v)) this.graph.setBits(b, v, FEED, false, b.id);
      }
      let n = this.feedCount();
      for (const v of eligible) {
        if (n >= c.directMaxViewers) break;
        if (!fed(v)) {
          this.graph.setBits(b, v, FEED, true, b.id);
          n++;
        }
      }
      if (n < floor) {
        const rest = this.graph.viewers.filter((v) => !fed(v) && !barred(v));
        const rank = (v: RoomPeer) => reportedUploadBps(v) ?? 1e15;
        rest.sort((x, y) => rank(y) - rank(x) || x.joinedMs - y.joinedMs);
        for (const v of rest) {
          if (n >= floor) break;
          this.graph.setBits(b, v, FEED, true, b.id);
          n++;
        }
      }
    } else {
      for (const h of this.holderOf.values()) this.graph.setBits(b, h, SEGMENT, true, b.id);
    }
  }

  /**
   * A joiner on its direct-feed trial: it has reported nothing yet and joined less than
   * joinFeedTrialMs ago (and is not barred from roles otherwise).
   */
  joinTrial(p: RoomPeer): boolean {
    if (p.broadcaster || p.relayed || p.lapsed || distrusted(p, this.ctx.nowMs)) return false;
    if (p.hostKey !== null && this.reportedHosts.has(p.hostKey)) return false;
    return this.ctx.nowMs - p.joinedMs < this.config.joinFeedTrialMs && uploadStanding(p, this.config, this.ctx.bitrateBps) === 'unknown';
  }

  /** A peer of this address was reported by another peer as a failed pair: the address gets no join trial. */
  noteReported(hostKey: string | null): void {
    if (hostKey === null) return;
    this.reportedHosts.delete(hostKey);
    this.reportedHosts.add(hostKey);
    if (this.reportedHosts.size > 4096) this.reportedHosts.delete(this.reportedHosts.values().next().value as string);
  }

  /** May hold a direct-feed slot: eligible, or a joiner on its trial. */
  feedable(p: RoomPeer): boolean {
    return this.eligible(p) || this.joinTrial(p);
  }

  /** A fed viewer no longer feedable (its join trial ran out without a report): relinkBroadcaster is due. O(fed viewers). */
  feedsStale(): boolean {
    const b = this.ctx.broadcaster;
    if (!b || this.ctx.mode !== 'direct') return false;
    for (const e of b.edges.values()) {
      if (!(e.bits & FEED)) continue;
      const q = this.peers.get(e.a === b.id ? e.b : e.a);
      if (q && !this.feedable(q)) return true;
    }
    return false;
  }

  /** `nowMs`: the room's time, passed by callers that ask for many peers in a row (read once, not boxed per peer). */
  eligible(p: RoomPeer, nowMs: number = this.ctx.nowMs): boolean {
    if (p.broadcaster || p.relayed || p.lapsed || distrusted(p, nowMs)) return false;
    if (minRoleUpload(this.config, this.ctx.bitrateBps) === 0) return true;
    const s = uploadStanding(p, this.config, this.ctx.bitrateBps);
    return s === 'proven' || s === 'trial';
  }

  /**
   * Records a new upload report's effect on the probation: a peer that reports an upload that is
   * not short starts its probation (once), one that falls short loses it.
   */
  noteReport(p: RoomPeer, nowMs: number): void {
    const s = uploadStanding(p, this.config, this.ctx.bitrateBps);
    if (s === 'short' && minRoleUpload(this.config, this.ctx.bitrateBps) > 0) p.reportedSinceMs = null;
    else if (s !== 'unknown') p.reportedSinceMs ??= nowMs;
  }

  /** Viewers that may take a role now (O(viewers)). */
  eligibleCount(nowMs: number): number {
    let n = 0;
    for (const v of this.graph.viewers) if (this.eligible(v, nowMs)) n++;
    return n;
  }

  /** Holders the keys need at least: each holds at most maxKeysPerHolder. */
  holdersNeeded(): number {
    return Math.ceil(this.config.segmentKeys.length / this.config.maxKeysPerHolder);
  }

  /**
   * True when a joining viewer gets a direct-feed link at once: it is feedable (eligible, or on its
   * join trial), or fewer than
   * directMinFeeds viewers are fed (O(1); relinkBroadcaster sorts the rest out).
   */
  feedsJoiner(p: RoomPeer): boolean {
    const n = this.feedCount();
    const b = this.ctx.broadcaster;
    if (b && this.graph.avoids(b, p)) return false;
    return n < this.config.directMaxViewers && (n < this.config.directMinFeeds || this.feedable(p));
  }

  /**
   * True when a holder should give its key to a better candidate and one exists: a holder is still
   * in probation (it got the key only because no seasoned peer was there) or shares its network
   * with another holder, and a seasoned, eligible peer without roles from a network holding no key
   * is free. O(viewers), no sorting: cheap enough for the room's periodic check.
   */
  needsUpgrade(nowMs: number): boolean {
    const nets = new Set<string>();
    let wanted = false;
    for (const h of new Set(this.holderOf.values())) {
      if (!seasoned(h, this.config, nowMs) || nets.has(networkOf(h))) wanted = true;
      nets.add(networkOf(h));
    }
    if (!wanted) return false;
    for (const p of this.graph.viewers) {
      if (!p.holderKeys.length && !p.producerGroups.length && !nets.has(networkOf(p)) && seasoned(p, this.config, nowMs) && this.eligible(p)) return true;
    }
    return false;
  }

  /**
   * Role peers whose lease ended before nowMs, each once. Runs every tick: it reads the role maps
   * in place rather than building the set of every role peer, which is what rolePeers does.
   */
  expiredRolePeers(nowMs: number): RoomPeer[] {
    let out: RoomPeer[] | null = null;
    for (const p of this.holderOf.values()) if (p.leaseExpiresMs < nowMs && !out?.includes(p)) (out ??= []).push(p);
    for (const p of this.producerOf.values()) if (p.leaseExpiresMs < nowMs && !out?.includes(p)) (out ??= []).push(p);
    for (const p of this.extraProducers) if (p.leaseExpiresMs < nowMs && !out?.includes(p)) (out ??= []).push(p);
    return out ?? NO_PEERS;
  }

  *rolePeers(): Generator<RoomPeer> {
    const seen = new Set<RoomPeer>();
    for (const p of [...this.holderOf.values(), ...this.producerOf.values(), ...this.extraProducers]) {
      if (!seen.has(p)) {
        seen.add(p);
        yield p;
      }
    }
  }

  revoke(p: RoomPeer, relink = true): void {
    for (const k of p.holderKeys) this.holderOf.delete(k);
    this.extraProducers.delete(p);
    for (const g of p.producerGroups) {
      if (this.producerOf.get(g) !== p) continue;
      this.producerOf.delete(g);
      // An extra producer of the same group takes over, so the group stays covered.
      for (const x of this.extraProducers) {
        if (x.producerGroups[0] === g) {
          this.extraProducers.delete(x);
          this.producerOf.set(g, x);
          break;
        }
      }
    }
    if (p.holderKeys.length || p.producerGroups.length) {
      this.epoch++;
      p.holderKeys = [];
      p.producerGroups = [];
      if (this.peers.get(p.id) === p) {
        this.dirty.add(p);
        for (const [qid, e] of [...p.edges]) {
          if (e.bits & (SEED_A | SEED_B)) this.graph.setBits(p, this.peers.get(qid) as RoomPeer, SEED_A | SEED_B, false, p.id);
        }
      }
      if (this.ctx.mode === 'holder') this.incomplete = true;
    }
    if (relink) {
      this.relinkBroadcaster();
      this.relinkProducers();
    }
  }

  private grant(p: RoomPeer, kind: 'key' | 'group', v: number, nowMs: number): void {
    if (kind === 'key') {
      this.holderOf.set(v, p);
      p.holderKeys.push(v);
      p.holderKeys.sort((x, y) => x - y);
    } else {
      this.producerOf.set(v, p);
      p.producerGroups.push(v);
      p.producerGroups.sort((x, y) => x - y);
    }
    p.leaseExpiresMs = Math.max(p.leaseExpiresMs, nowMs + this.config.leaseMs);
    this.epoch++;
    this.dirty.add(p);
  }

  /**
   * Hands out missing holder keys and producer groups. With `hint` only that peer is considered
   * (a join: O(1)); without, every eligible peer is ranked (role-trust.ts: seasoned first, then
   * counted upload, then age; O(N log N), rare). Claims announced after a reconnect are honoured
   * only while the room is restoring after a tracker restart. Holder keys go to peers past their
   * probation and to networks holding no key yet whenever such peers exist; a peer in probation
   * gets a key only when no seasoned peer is free, and gives it up to one later (upgrade). One
   * peer takes several keys/groups only when fresh candidates run out; a fresh candidate takes
   * over a key from a peer holding several.
   */
  fill(nowMs: number, hint?: RoomPeer): void {
    if (this.ctx.mode !== 'holder') return;
    if (hint && !this.eligible(hint)) return;
    const epoch0 = this.epoch;
    const c = this.config;
    const keys = c.segmentKeys;
    const groups = Array.from({ length: c.producerGroups }, (_, g) => c.firstProducerGroup + g);
    let cands: RoomPeer[];
    if (hint) cands = [hint];
    else cands = rankCandidates(this.graph.viewers.filter((p) => this.eligible(p)), c, this.ctx.bitrateBps, nowMs);
    for (const p of cands) {
      if (this.ctx.restoring) {
        for (const k of p.claimedKeys) if (!this.holderOf.has(k) && p.holderKeys.length < c.maxKeysPerHolder) this.grant(p, 'key', k, nowMs);
        for (const g of p.claimedGroups) {
          if (!this.producerOf.has(g) && p.producerGroups.length < c.maxGroupsPerProducer) this.grant(p, 'group', g, nowMs);
          else if (p.producerGroups.length === 0 && p.holderKeys.length === 0 && this.producerTotal() < c.maxProducers) this.grantExtra(p, g, nowMs);
        }
      }
      p.claimedKeys = [];
      p.claimedGroups = [];
    }
    if (this.ctx.restoring) {
      // Old owners are still reconnecting: keep unclaimed keys and groups free for them.
      this.incomplete = true;
      if (this.epoch !== epoch0) {
        this.relinkBroadcaster();
        this.relinkProducers();
      }
      return;
    }
    const fresh = cands.filter((p) => p.holderKeys.length === 0 && p.producerGroups.length === 0);
    // A joiner in probation waits for the next full fill, which prefers seasoned peers.
    const keyFresh = hint && !seasoned(hint, c, nowMs) ? [] : fresh;
    const nets = new Set([...this.holderOf.values()].map(networkOf));
    const nextHolder = (): RoomPeer | null => {
      const i = pickHolder(keyFresh, 0, nets, nowMs);
      if (i < 0) return null;
      nets.add(networkOf(keyFresh[i]));
      return keyFresh[i];
    };
    let fi = 0;
    const nextProducer = (): RoomPeer | null => {
      while (fi < fresh.length && (fresh[fi].holderKeys.length || fresh[fi].producerGroups.length)) fi++;
      return fi < fresh.length ? fresh[fi++] : null;
    };
    // Holders first (they matter to every producer), then producers for groups 0–7 first.
    for (const [kind, list, owner, max] of [
      ['key', keys, this.holderOf, c.maxKeysPerHolder],
      ['group', groups, this.producerOf, c.maxGroupsPerProducer],
    ] as const) {
      const next = kind === 'key' ? nextHolder : nextProducer;
      for (const v of list) {
        if (owner.has(v)) continue;
        const p = next();
        if (p) this.grant(p, kind, v, nowMs);
      }
      // Rebalance: a fresh peer takes one value from the peer holding the most.
      for (;;) {
        let most: RoomPeer | null = null;
        for (const p of owner.values()) if (!most || this.count(p, kind) > this.count(most, kind)) most = p;
        if (!most || this.count(most, kind) < 2) break;
        const p = next();
        if (!p) break;
        const v = kind === 'key' ? most.holderKeys[most.holderKeys.length - 1] : most.producerGroups[most.producerGroups.length - 1];
        this.take(most, kind, v);
        this.grant(p, kind, v, nowMs);
      }
      // Scarce peers: existing owners take several, fewest first.
      if (!hint) {
        for (const v of list) {
          if (owner.has(v)) continue;
          const pool = (kind === 'key' ? [...new Set(this.holderOf.values())] : [...new Set([...this.producerOf.values()])]).filter((p) => this.count(p, kind) < max);
          // When every owner is full, peers of the other role take it on too.
          if (pool.length === 0) pool.push(...[...this.rolePeers()].filter((p) => this.count(p, kind) < max && !this.extraProducers.has(p)));
          pool.sort((x, y) => this.count(x, kind) - this.count(y, kind));
          if (pool.length) this.grant(pool[0], kind, v, nowMs);
        }
      }
    }
    if (!hint) this.upgradeHolders(fresh, nowMs);
    // Large swarm: more producers, each on the group with the fewest.
    const want = this.producersWanted();
    for (let total = this.producerTotal(); total < want; total++) {
      const p = nextProducer();
      if (!p) break;
      const count: number[] = groups.map((g) => (this.producerOf.has(g) ? 1 : 0));
      for (const x of this.extraProducers) count[x.producerGroups[0] - c.firstProducerGroup]++;
      this.grantExtra(p, groups[count.indexOf(Math.min(...count))], nowMs);
    }
    if (!hint) this.lastFullFillMs = nowMs;
    this.incomplete = keys.some((k) => !this.holderOf.has(k)) || groups.some((g) => !this.producerOf.has(g));
    // A join that changed no role needs no relinking (the common case in a large swarm).
    if (!hint || this.epoch !== epoch0) {
      this.relinkBroadcaster();
      this.relinkProducers();
    }
  }

  /**
   * Moves up to two keys per call from holders in probation, or sharing a network with another
   * holder, to seasoned fresh peers of networks holding no key.
   */
  private upgradeHolders(fresh: RoomPeer[], nowMs: number): void {
    const c = this.config;
    let moves = 2;
    const byNet = new Map<string, number>();
    for (const h of new Set(this.holderOf.values())) byNet.set(networkOf(h), (byNet.get(networkOf(h)) ?? 0) + 1);
    for (const [k, h] of [...this.holderOf]) {
      if (moves === 0) break;
      const crowded = (byNet.get(networkOf(h)) ?? 0) > 1;
      if (seasoned(h, c, nowMs) && !crowded) continue;
      const q = fresh.find((p) => !p.holderKeys.length && !p.producerGroups.length && seasoned(p, c, nowMs) && !byNet.has(networkOf(p)) && !distrusted(p, nowMs));
      if (!q) break;
      this.take(h, 'key', k);
      this.grant(q, 'key', k, nowMs);
      byNet.set(networkOf(q), 1);
      if (!h.holderKeys.length) byNet.set(networkOf(h), (byNet.get(networkOf(h)) ?? 1) - 1);
      moves--;
    }
  }

  /** Producers the swarm should have: one per group, more in a large swarm (producerShare). */
  producersWanted(): number {
    const c = this.config;
    return Math.min(c.maxProducers, Math.max(c.producerGroups, Math.ceil(this.graph.viewers.length * c.producerShare)));
  }

  producerTotal(): number {
    return new Set(this.producerOf.values()).size + this.extraProducers.size;
  }

  private grantExtra(p: RoomPeer, g: number, nowMs: number): void {
    this.extraProducers.add(p);
    p.producerGroups = [g];
    p.leaseExpiresMs = Math.max(p.leaseExpiresMs, nowMs + this.config.leaseMs);
    this.epoch++;
    this.dirty.add(p);
  }

  private count(p: RoomPeer, kind: 'key' | 'group'): number {
    return kind === 'key' ? p.holderKeys.length : p.producerGroups.length;
  }

  private take(p: RoomPeer, kind: 'key' | 'group', v: number): void {
    if (kind === 'key') {
      p.holderKeys = p.holderKeys.filter((k) => k !== v);
      this.holderOf.delete(v);
    } else {
      p.producerGroups = p.producerGroups.filter((g) => g !== v);
      this.producerOf.delete(v);
    }
    this.epoch++;
    this.dirty.add(p);
  }

  /** Links every producer to holders of up to producerHolderLinks distinct keys, least-loaded first. */
  relinkProducers(): void {
    this.relinks++;
    const holders = [...new Set(this.holderOf.values())];
    const load = new Map<RoomPeer, number>();
    for (const h of holders) load.set(h, 0);
    const seedBit = (prod: RoomPeer, other: RoomPeer) => (prod.id < other.id ? SEED_A : SEED_B);
    // Drop seed links that no longer serve a producer ↔ holder pair.
    for (const p of this.rolePeers()) {
      for (const e of [...p.edges.values()]) {
        if (!(e.bits & (SEED_A | SEED_B))) continue;
        const q = this.peers.get(e.a === p.id ? e.b : e.a) as RoomPeer;
        const bitPq = seedBit(p, q);
        if (e.bits & bitPq && (p.producerGroups.length === 0 || q.holderKeys.length === 0)) this.graph.setBits(p, q, bitPq, false, p.id);
        if (e.bits & bitPq && this.peers.get(q.id)) load.set(q, (load.get(q) ?? 0) + 1);
      }
    }
    for (const p of new Set([...this.producerOf.values(), ...this.extraProducers])) {
      const covered = new Set<number>(p.holderKeys);
      let linked = 0;
      for (const [qid, e] of p.edges) {
        const q = this.peers.get(qid) as RoomPeer;
        if (e.bits & seedBit(p, q)) {
          linked++;
          for (const k of q.holderKeys) covered.add(k);
        }
      }
      const want = Math.min(this.config.producerHolderLinks, this.holderOf.size);
      const options = holders.filter((h) => h !== p && !((p.edges.get(h.id)?.bits ?? 0) & seedBit(p, h)) && !this.graph.avoids(p, h));
      options.sort((x, y) => (load.get(x) ?? 0) - (load.get(y) ?? 0));
      for (const h of options) {
        if (covered.size >= want) break;
        if (h.holderKeys.every((k) => covered.has(k))) continue;
        this.graph.setBits(p, h, seedBit(p, h), true, p.id);
        load.set(h, (load.get(h) ?? 0) + 1);
        for (const k of h.holderKeys) covered.add(k);
        linked++;
      }
    }
  }

  entries(kind: 'holder' | 'producer'): RoleEntry[] {
    const owners = kind === 'holder' ? this.holderOf.values() : [...this.producerOf.values(), ...this.extraProducers];
    return [...new Set(owners)].map((p) => ({ peerId: p.id, keys: [...(kind === 'holder' ? p.holderKeys : p.producerGroups)] }));
  }
}

const NO_PEERS: RoomPeer[] = [];
