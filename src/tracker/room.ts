// One stream's swarm as pure state: peers, the neighbour graph, swarm mode, holder keys and
// producer leases. No I/O, no clock, no timers, no Math.random: every input is a call with nowMs,
// outputs come from pollEvents(). Driven by the tracker server and directly by the swarm simulator.

import { P2PError } from '../errors.ts';
import type { NeighbourInfo, NeighbourReason, RoleEntry, StreamState, SwarmMode } from './messages.ts';
import { type JoinInfo, type PeerId, type PeerStats, type RoomConfig, type RoomEvent, resolveRoomConfig, Rng } from './room-config.ts';

export * from './room-config.ts';

// Edge bits. An edge is stored once, shared by both endpoints; `a` < `b` by string order.
const SWARM = 1; // viewer ↔ viewer mesh
const FEED = 2; // broadcaster ↔ viewer, direct feed
const SEGMENT = 4; // broadcaster ↔ holder
const SEED_A = 8; // a produces from b's seeds
const SEED_B = 16; // b produces from a's seeds

interface Edge {
  a: PeerId;
  b: PeerId;
  bits: number;
  initiator: PeerId;
}

interface Peer {
  id: PeerId;
  broadcaster: boolean;
  uploadBps: number | undefined;
  relayed: boolean;
  lastSeenMs: number;
  holderKeys: number[];
  producerGroups: number[];
  leaseExpiresMs: number;
  edges: Map<PeerId, Edge>;
  swarmDegree: number;
  /** Index in `viewers`, -1 for the broadcaster. */
  idx: number;
  failed: Set<PeerId> | null;
  announcedNeighbours: Set<PeerId> | null;
  claimedKeys: number[];
  claimedGroups: number[];
  /** Its lease ran out: no roles until it is heard from again. */
  lapsed: boolean;
}

export interface RoomSnapshot {
  streamId: string;
  state: StreamState;
  mode: SwarmMode;
  viewers: number;
  broadcaster: PeerId | null;
  holders: RoleEntry[];
  producers: RoleEntry[];
  edges: number;
}

export class Room {
  readonly streamId: string;
  readonly config: RoomConfig;
  private readonly rng: Rng;
  private readonly peers = new Map<PeerId, Peer>();
  private readonly viewers: Peer[] = [];
  private broadcaster: Peer | null = null;
  private state: StreamState = 'waiting';
  private mode: SwarmMode = 'direct';
  private modeHoldUntilMs = 0;
  private bitrateBps = 0;
  private readonly holderOf = new Map<number, Peer>();
  private readonly producerOf = new Map<number, Peer>();
  private events: RoomEvent[] = [];
  private readonly dirtyNeighbours = new Set<Peer>();
  private readonly dirtyRoles = new Set<Peer>();
  private readonly needy = new Set<Peer>();
  private swarmDirty = false;
  private viewerCountReported = -1;
  private lastSwarmReportMs = -Infinity;
  private lastTimeoutScanMs = -Infinity;
  private rolesIncomplete = false;
  private lastFullFillMs = -Infinity;
  private edgeCount = 0;
  /** Bumped on every role change. */
  private roleEpoch = 0;

  constructor(streamId: string, config: Partial<RoomConfig> = {}) {
    this.streamId = streamId;
    this.config = resolveRoomConfig(config);
    this.rng = new Rng(this.config.seed);
  }

  get size(): number {
    return this.peers.size;
  }
  get viewerCount(): number {
    return this.viewers.length;
  }
  has(peerId: PeerId): boolean {
    return this.peers.has(peerId);
  }
  /** True when the two peers are neighbours now: the only pairs the tracker relays signalling for. */
  areNeighbours(a: PeerId, b: PeerId): boolean {
    return this.peers.get(a)?.edges.has(b) ?? false;
  }

  /** Adds a peer. Throws P2PError ROOM_FULL or PEER_EXISTS. A new broadcaster replaces the old one. */
  join(peerId: PeerId, info: JoinInfo, nowMs: number): void {
    if (this.peers.has(peerId)) throw new P2PError('PEER_EXISTS', `peer ${peerId} is already in the room`);
    if (info.broadcaster && this.broadcaster) {
      const old = this.broadcaster.id;
      this.removePeer(this.broadcaster);
      this.events.push({ type: 'close', to: old, reason: 'replaced' });
    }
    if (this.peers.size >= this.config.maxPeers) throw new P2PError('ROOM_FULL', `stream has ${this.config.maxPeers} peers`);
    const a = info.announce;
    const p: Peer = {
      id: peerId,
      broadcaster: !!info.broadcaster,
      uploadBps: info.uploadBps,
      relayed: !!info.relayed,
      lastSeenMs: nowMs,
      holderKeys: [],
      producerGroups: [],
      leaseExpiresMs: 0,
      edges: new Map(),
      swarmDegree: 0,
      idx: -1,
      failed: null,
      announcedNeighbours: a?.neighbours?.length ? new Set(a.neighbours.slice(0, 64)) : null,
      claimedKeys: (a?.holderKeys ?? []).filter((k) => this.config.segmentKeys.includes(k)).slice(0, this.config.maxKeysPerHolder),
      lapsed: false,
      claimedGroups: (a?.producerGroups ?? []).filter((g) => g < this.config.producerGroups).slice(0, this.config.maxGroupsPerProducer),
    };
    this.peers.set(peerId, p);
    if (p.broadcaster) {
      this.broadcaster = p;
      if (info.bitrateBps) this.bitrateBps = info.bitrateBps;
      if (a?.mode && a.mode !== this.mode) {
        this.setMode(a.mode, nowMs);
        this.modeHoldUntilMs = nowMs + this.config.modeHoldMs;
      }
      if (!this.setState('live')) this.events.push({ type: 'stream', to: p.id, streamId: this.streamId, state: this.state, mode: this.mode });
      this.relinkBroadcaster();
      this.swarmDirty = true;
    } else {
      p.idx = this.viewers.length;
      this.viewers.push(p);
      this.events.push({ type: 'stream', to: p.id, streamId: this.streamId, state: this.state, mode: this.mode });
      this.restoreAnnouncedNeighbours(p);
      this.fillSwarm(p);
      if (this.broadcaster && this.mode === 'direct' && this.feedCount() < this.config.directMaxViewers) this.setBits(this.broadcaster, p, FEED, true, this.broadcaster.id);
      this.evaluateMode(nowMs);
      if (this.mode === 'holder') this.fillRoles(nowMs, p);
    }
    this.dirtyNeighbours.add(p);
    this.flush(nowMs);
  }

  /** Removes a peer (socket closed, or it said goodbye). A broadcaster leaving with `ended` ends the stream. */
  leave(peerId: PeerId, nowMs: number, ended = false): void {
    const p = this.peers.get(peerId);
    if (!p) return;
    const wasBroadcaster = p.broadcaster;
    this.removePeer(p);
    if (wasBroadcaster) this.setState(ended ? 'ended' : 'waiting');
    else this.evaluateMode(nowMs);
    if (this.rolesIncomplete) this.fillRoles(nowMs);
    this.flush(nowMs);
  }

  /** Renews the peer's leases and records its measurements. Unknown peers are ignored. */
  heartbeat(peerId: PeerId, stats: PeerStats, nowMs: number): void {
    const p = this.peers.get(peerId);
    if (!p) return;
    p.lastSeenMs = nowMs;
    const wasEligible = this.eligible(p);
    p.lapsed = false;
    if (stats.uploadBps !== undefined) p.uploadBps = stats.uploadBps;
    if (stats.relayed !== undefined) p.relayed = stats.relayed;
    const hasRoles = p.holderKeys.length > 0 || p.producerGroups.length > 0;
    if (hasRoles) {
      p.leaseExpiresMs = nowMs + this.config.leaseMs;
      if (!this.eligible(p)) {
        this.revokeRoles(p);
        this.fillRoles(nowMs);
      }
    } else if (!wasEligible && this.eligible(p) && this.rolesIncomplete) {
      this.fillRoles(nowMs, p);
    }
    this.flush(nowMs);
  }

  /** A pair that failed to connect: unlinked, never introduced again, both get other neighbours. */
  reportFailedPair(a: PeerId, b: PeerId, nowMs: number): void {
    const pa = this.peers.get(a);
    const pb = this.peers.get(b);
    if (!pa || !pb || a === b) return;
    for (const [x, y] of [[pa, pb], [pb, pa]] as const) {
      x.failed ??= new Set();
      x.failed.add(y.id);
      if (x.failed.size > this.config.maxFailedPairsPerPeer) x.failed.delete(x.failed.values().next().value as PeerId);
    }
    const e = pa.edges.get(b);
    if (e) {
      const roleBits = e.bits & ~SWARM;
      this.removeEdge(e);
      if (!pa.broadcaster) this.needy.add(pa);
      if (!pb.broadcaster) this.needy.add(pb);
      if (roleBits & (SEED_A | SEED_B)) this.relinkProducers();
    }
    this.topUpNeedy(64);
    this.flush(nowMs);
  }

  /** Periodic work: lease expiry, quiet peers, neighbour top-up, mode hysteresis, role refill. */
  tick(nowMs: number): void {
    const c = this.config;
    let revoked = false;
    for (const p of this.rolePeers()) {
      if (p.leaseExpiresMs < nowMs) {
        revoked = true;
        p.lapsed = true;
        this.revokeRoles(p);
      }
    }
    if (nowMs - this.lastTimeoutScanMs >= 1000) {
      this.lastTimeoutScanMs = nowMs;
      const quiet: Peer[] = [];
      for (const p of this.peers.values()) if (nowMs - p.lastSeenMs > c.peerTimeoutMs) quiet.push(p);
      for (const p of quiet) {
        this.events.push({ type: 'close', to: p.id, reason: 'timeout' });
        const wasBroadcaster = p.broadcaster;
        this.removePeer(p);
        if (wasBroadcaster) this.setState('waiting');
      }
    }
    this.topUpNeedy(256);
    this.evaluateMode(nowMs);
    if (this.rolesIncomplete && (revoked || nowMs - this.lastFullFillMs >= 500)) this.fillRoles(nowMs);
    if (this.broadcaster && this.viewerCountReported !== this.viewers.length && nowMs - this.lastSwarmReportMs >= c.swarmReportMs) this.swarmDirty = true;
    this.flush(nowMs);
  }

  /** When the room next wants tick(). */
  nextTimeout(nowMs: number): number {
    return nowMs + this.config.tickMs;
  }

  /** Takes the events produced since the last call. */
  pollEvents(): RoomEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  snapshot(): RoomSnapshot {
    return {
      streamId: this.streamId,
      state: this.state,
      mode: this.mode,
      viewers: this.viewers.length,
      broadcaster: this.broadcaster?.id ?? null,
      holders: this.roleEntries('holder'),
      producers: this.roleEntries('producer'),
      edges: this.edgeCount,
    };
  }

  /** The neighbour list of one peer as the tracker would send it. */
  neighboursOf(peerId: PeerId): NeighbourInfo[] {
    const p = this.peers.get(peerId);
    return p ? this.describe(p) : [];
  }

  /** Roles of one peer. */
  rolesOf(peerId: PeerId): { holderKeys: number[]; producerGroups: number[] } {
    const p = this.peers.get(peerId);
    return { holderKeys: [...(p?.holderKeys ?? [])], producerGroups: [...(p?.producerGroups ?? [])] };
  }

  // ---- graph -------------------------------------------------------------------------------

  private setBits(x: Peer, y: Peer, bits: number, on: boolean, initiator: PeerId): void {
    let e = x.edges.get(y.id);
    if (!e) {
      if (!on) return;
      const [a, b] = x.id < y.id ? [x.id, y.id] : [y.id, x.id];
      e = { a, b, bits: 0, initiator };
      x.edges.set(y.id, e);
      y.edges.set(x.id, e);
      this.edgeCount++;
    }
    const before = e.bits;
    e.bits = on ? e.bits | bits : e.bits & ~bits;
    if (e.bits === before) return;
    if ((before & SWARM) !== (e.bits & SWARM)) {
      const d = e.bits & SWARM ? 1 : -1;
      x.swarmDegree += d;
      y.swarmDegree += d;
    }
    if (e.bits === 0) this.removeEdge(e);
    this.dirtyNeighbours.add(x);
    this.dirtyNeighbours.add(y);
  }

  private removeEdge(e: Edge): void {
    const pa = this.peers.get(e.a);
    const pb = this.peers.get(e.b);
    if (e.bits & SWARM) {
      if (pa) pa.swarmDegree--;
      if (pb) pb.swarmDegree--;
    }
    e.bits = 0;
    if (pa?.edges.delete(e.b)) this.dirtyNeighbours.add(pa);
    if (pb?.edges.delete(e.a)) this.dirtyNeighbours.add(pb);
    this.edgeCount--;
  }

  private canLink(p: Peer, q: Peer): boolean {
    return this.free(p, q) && q.swarmDegree < this.config.neighbourMax;
  }

  /**
   * Gives `p` swarm neighbours up to the target: peers with room first (lowest degree first in
   * small swarms, random in large ones); when a chosen peer q is full, the edge q–w to one of its
   * neighbours with spare degree is split into p–q and p–w, so degrees stay bounded and the graph
   * stays connected however many join.
   */
  private fillSwarm(p: Peer): void {
    if (p.broadcaster || this.peers.get(p.id) !== p) return;
    const c = this.config;
    let need = c.neighbourTarget - p.swarmDegree;
    if (need <= 0) {
      this.needy.delete(p);
      return;
    }
    const n = this.viewers.length;
    const split = (q: Peer): boolean => {
      if (need < 2 || q.swarmDegree < c.neighbourMax || !this.free(p, q)) return false;
      for (const [wid, e] of q.edges) {
        const w = this.peers.get(wid) as Peer;
        if (!(e.bits & SWARM) || w === p || w.swarmDegree <= c.neighbourTarget || !this.free(p, w)) continue;
        this.setBits(q, w, SWARM, false, q.id);
        this.setBits(p, q, SWARM, true, p.id);
        this.setBits(p, w, SWARM, true, p.id);
        need -= 2;
        return true;
      }
      return false;
    };
    if (n <= 4 * c.neighbourMax) {
      const cands = this.rng.shuffle(this.viewers.filter((q) => q !== p && this.free(p, q)));
      cands.sort((x, y) => x.swarmDegree - y.swarmDegree);
      for (const q of cands) {
        if (need <= 0) break;
        if (q.swarmDegree < c.neighbourMax && !p.edges.get(q.id)) {
          this.setBits(p, q, SWARM, true, p.id);
          need--;
        } else split(q);
      }
    } else {
      for (let tries = need * 8 + 16; need > 0 && tries > 0; tries--) {
        const q = this.viewers[this.rng.int(n)];
        if (this.canLink(p, q)) {
          this.setBits(p, q, SWARM, true, p.id);
          need--;
        } else split(q);
      }
    }
    if (need > 0 && n - 1 > p.swarmDegree) this.needy.add(p);
    else this.needy.delete(p);
  }

  /** p and q may get a swarm link, whatever q's degree. */
  private free(p: Peer, q: Peer): boolean {
    return q !== p && !q.broadcaster && !((p.edges.get(q.id)?.bits ?? 0) & SWARM) && !p.failed?.has(q.id) && !q.failed?.has(p.id) && p.swarmDegree < this.config.neighbourMax;
  }

  private topUpNeedy(limit: number): void {
    for (const p of [...this.needy].slice(0, limit)) {
      this.needy.delete(p);
      if (this.peers.get(p.id) === p) this.fillSwarm(p);
    }
  }

  private restoreAnnouncedNeighbours(p: Peer): void {
    if (!p.announcedNeighbours) return;
    for (const id of p.announcedNeighbours) {
      const q = this.peers.get(id);
      if (!q || q.broadcaster || !q.announcedNeighbours?.has(p.id)) continue;
      if (p.swarmDegree >= this.config.neighbourMax || !this.canLink(p, q)) continue;
      this.setBits(p, q, SWARM, true, p.id < q.id ? p.id : q.id);
      q.announcedNeighbours.delete(p.id);
    }
    p.announcedNeighbours = null;
  }

  private removePeer(p: Peer): void {
    const neighbours: Peer[] = [];
    let roleLinks = false;
    for (const e of [...p.edges.values()]) {
      const q = this.peers.get(e.a === p.id ? e.b : e.a);
      if (q && e.bits & SWARM) neighbours.push(q);
      if (e.bits & (SEED_A | SEED_B)) roleLinks = true;
      this.removeEdge(e);
    }
    this.peers.delete(p.id);
    this.needy.delete(p);
    this.dirtyNeighbours.delete(p);
    this.dirtyRoles.delete(p);
    if (p.broadcaster) {
      if (this.broadcaster === p) this.broadcaster = null;
    } else {
      const last = this.viewers.pop() as Peer;
      if (last !== p) {
        this.viewers[p.idx] = last;
        last.idx = p.idx;
      }
    }
    if (p.holderKeys.length || p.producerGroups.length) {
      this.revokeRoles(p, false);
      roleLinks = true;
    }
    // Splice the leaver's swarm neighbours to each other in pairs (keeps degrees and connectivity),
    // then let each top up from the swarm.
    this.rng.shuffle(neighbours);
    for (let i = 0; i + 1 < neighbours.length; i += 2) {
      const [x, y] = [neighbours[i], neighbours[i + 1]];
      if (this.canLink(x, y) && x.swarmDegree < this.config.neighbourMax) this.setBits(x, y, SWARM, true, x.id);
    }
    for (const q of neighbours) this.fillSwarm(q);
    if (roleLinks) this.relinkProducers();
  }

  // ---- state, mode and roles --------------------------------------------------------------

  /** Sets the stream state; tells every peer and returns true when it changed. */
  private setState(s: StreamState): boolean {
    if (s === this.state) return false;
    this.state = s;
    for (const p of this.peers.values()) this.events.push({ type: 'stream', to: p.id, streamId: this.streamId, state: s, mode: this.mode });
    return true;
  }

  private feedCount(): number {
    let n = 0;
    if (this.broadcaster) for (const e of this.broadcaster.edges.values()) if (e.bits & FEED) n++;
    return n;
  }

  private evaluateMode(nowMs: number): void {
    if (nowMs < this.modeHoldUntilMs) return;
    const n = this.viewers.length;
    if (this.mode === 'direct' && n >= this.config.holderModeAtViewers) this.setMode('holder', nowMs);
    else if (this.mode === 'holder' && n <= this.config.directModeAtViewers) this.setMode('direct', nowMs);
  }

  private setMode(mode: SwarmMode, nowMs: number): void {
    this.mode = mode;
    if (mode === 'direct') {
      for (const p of this.rolePeers()) this.revokeRoles(p, false);
      this.rolesIncomplete = false;
      this.relinkProducers();
    }
    this.relinkBroadcaster();
    for (const p of this.peers.values()) this.events.push({ type: 'stream', to: p.id, streamId: this.streamId, state: this.state, mode });
    this.swarmDirty = true;
    if (mode === 'holder') this.fillRoles(nowMs);
  }

  /** Broadcaster links: every viewer (up to directMaxViewers) in direct feed, the holders in holder mode. */
  private relinkBroadcaster(): void {
    const b = this.broadcaster;
    if (!b) return;
    const direct = this.mode === 'direct';
    for (const e of [...b.edges.values()]) {
      const q = this.peers.get(e.a === b.id ? e.b : e.a) as Peer;
      if (!direct && e.bits & FEED) this.setBits(b, q, FEED, false, b.id);
      if (e.bits & SEGMENT && q.holderKeys.length === 0) this.setBits(b, q, SEGMENT, false, b.id);
    }
    if (direct) {
      let n = this.feedCount();
      for (const v of this.viewers) {
        if (n >= this.config.directMaxViewers) break;
        if (!((b.edges.get(v.id)?.bits ?? 0) & FEED)) {
          this.setBits(b, v, FEED, true, b.id);
          n++;
        }
      }
    } else {
      for (const h of this.holderOf.values()) this.setBits(b, h, SEGMENT, true, b.id);
    }
  }

  private eligible(p: Peer): boolean {
    if (p.broadcaster || p.relayed || p.lapsed) return false;
    const min = Math.max(this.config.minRoleUploadBps, this.config.minRoleUploadRatio * this.bitrateBps);
    return min === 0 || (p.uploadBps ?? 0) >= min;
  }

  private *rolePeers(): Generator<Peer> {
    const seen = new Set<Peer>();
    for (const p of [...this.holderOf.values(), ...this.producerOf.values()]) {
      if (!seen.has(p)) {
        seen.add(p);
        yield p;
      }
    }
  }

  private revokeRoles(p: Peer, relink = true): void {
    for (const k of p.holderKeys) this.holderOf.delete(k);
    for (const g of p.producerGroups) this.producerOf.delete(g);
    if (p.holderKeys.length || p.producerGroups.length) {
      this.roleEpoch++;
      p.holderKeys = [];
      p.producerGroups = [];
      if (this.peers.get(p.id) === p) {
        this.dirtyRoles.add(p);
        for (const [qid, e] of [...p.edges]) {
          if (e.bits & (SEED_A | SEED_B)) this.setBits(p, this.peers.get(qid) as Peer, SEED_A | SEED_B, false, p.id);
        }
      }
      this.swarmDirty = true;
      if (this.mode === 'holder') this.rolesIncomplete = true;
    }
    if (relink) {
      this.relinkBroadcaster();
      this.relinkProducers();
    }
  }

  private grant(p: Peer, kind: 'key' | 'group', v: number, nowMs: number): void {
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
    this.roleEpoch++;
    this.dirtyRoles.add(p);
    this.swarmDirty = true;
  }

  /**
   * Hands out missing holder keys and producer groups. With `hint` only that peer is considered
   * (a join: O(1)); without, every eligible peer is ranked by reported upload (O(N log N), rare).
   * Claims announced after a reconnect win first; one peer takes several keys/groups only when
   * fresh candidates run out; a fresh candidate takes over a key from a peer holding several.
   */
  private fillRoles(nowMs: number, hint?: Peer): void {
    if (this.mode !== 'holder') return;
    if (hint && !this.eligible(hint)) return;
    const epoch0 = this.roleEpoch;
    const c = this.config;
    const keys = c.segmentKeys;
    const groups = Array.from({ length: c.producerGroups }, (_, g) => g);
    let cands: Peer[];
    if (hint) cands = this.eligible(hint) ? [hint] : [];
    else {
      this.lastFullFillMs = nowMs;
      cands = this.viewers.filter((p) => this.eligible(p));
      cands.sort((x, y) => (y.uploadBps ?? 0) - (x.uploadBps ?? 0) || (x.id < y.id ? -1 : 1));
    }
    for (const p of cands) {
      for (const k of p.claimedKeys) if (!this.holderOf.has(k) && p.holderKeys.length < c.maxKeysPerHolder) this.grant(p, 'key', k, nowMs);
      for (const g of p.claimedGroups) if (!this.producerOf.has(g) && p.producerGroups.length < c.maxGroupsPerProducer) this.grant(p, 'group', g, nowMs);
      p.claimedKeys = [];
      p.claimedGroups = [];
    }
    const fresh = cands.filter((p) => p.holderKeys.length === 0 && p.producerGroups.length === 0);
    let fi = 0;
    // Holders first (they matter to every producer), then producers for groups 0–7 first.
    for (const [kind, list, owner, max] of [
      ['key', keys, this.holderOf, c.maxKeysPerHolder],
      ['group', groups, this.producerOf, c.maxGroupsPerProducer],
    ] as const) {
      for (const v of list) {
        if (owner.has(v)) continue;
        if (fi < fresh.length) this.grant(fresh[fi++], kind, v, nowMs);
      }
      // Rebalance: a fresh peer takes one value from the peer holding the most.
      while (fi < fresh.length) {
        let most: Peer | null = null;
        for (const p of owner.values()) if (!most || this.count(p, kind) > this.count(most, kind)) most = p;
        if (!most || this.count(most, kind) < 2) break;
        const v = kind === 'key' ? most.holderKeys[most.holderKeys.length - 1] : most.producerGroups[most.producerGroups.length - 1];
        this.take(most, kind, v);
        this.grant(fresh[fi++], kind, v, nowMs);
      }
      // Scarce peers: existing owners take several, fewest first.
      if (!hint) {
        for (const v of list) {
          if (owner.has(v)) continue;
          const pool = (kind === 'key' ? [...new Set(this.holderOf.values())] : [...new Set([...this.producerOf.values()])]).filter((p) => this.count(p, kind) < max);
          if (kind === 'group' && pool.length === 0) pool.push(...[...new Set(this.holderOf.values())].filter((p) => p.producerGroups.length < max));
          pool.sort((x, y) => this.count(x, kind) - this.count(y, kind));
          if (pool.length) this.grant(pool[0], kind, v, nowMs);
        }
      }
    }
    this.rolesIncomplete = keys.some((k) => !this.holderOf.has(k)) || groups.some((g) => !this.producerOf.has(g));
    // A join that changed no role needs no relinking (the common case in a large swarm).
    if (!hint || this.roleEpoch !== epoch0) {
      this.relinkBroadcaster();
      this.relinkProducers();
    }
  }

  private count(p: Peer, kind: 'key' | 'group'): number {
    return kind === 'key' ? p.holderKeys.length : p.producerGroups.length;
  }

  private take(p: Peer, kind: 'key' | 'group', v: number): void {
    if (kind === 'key') {
      p.holderKeys = p.holderKeys.filter((k) => k !== v);
      this.holderOf.delete(v);
    } else {
      p.producerGroups = p.producerGroups.filter((g) => g !== v);
      this.producerOf.delete(v);
    }
    this.roleEpoch++;
    this.dirtyRoles.add(p);
  }

  /** Links every producer to holders of up to producerHolderLinks distinct keys, least-loaded first. */
  private relinkProducers(): void {
    const holders = [...new Set(this.holderOf.values())];
    const load = new Map<Peer, number>();
    for (const h of holders) load.set(h, 0);
    const seedBit = (prod: Peer, other: Peer) => (prod.id < other.id ? SEED_A : SEED_B);
    // Drop seed links that no longer serve a producer ↔ holder pair.
    for (const p of this.rolePeers()) {
      for (const e of [...p.edges.values()]) {
        if (!(e.bits & (SEED_A | SEED_B))) continue;
        const q = this.peers.get(e.a === p.id ? e.b : e.a) as Peer;
        const bitPq = seedBit(p, q);
        if (e.bits & bitPq && (p.producerGroups.length === 0 || q.holderKeys.length === 0)) this.setBits(p, q, bitPq, false, p.id);
        if (e.bits & bitPq && this.peers.get(q.id)) load.set(q, (load.get(q) ?? 0) + 1);
      }
    }
    for (const p of new Set(this.producerOf.values())) {
      const covered = new Set<number>(p.holderKeys);
      let linked = 0;
      for (const [qid, e] of p.edges) {
        const q = this.peers.get(qid) as Peer;
        if (e.bits & seedBit(p, q)) {
          linked++;
          for (const k of q.holderKeys) covered.add(k);
        }
      }
      const want = Math.min(this.config.producerHolderLinks, this.holderOf.size);
      const options = holders.filter((h) => h !== p && !((p.edges.get(h.id)?.bits ?? 0) & seedBit(p, h)) && !p.failed?.has(h.id));
      options.sort((x, y) => (load.get(x) ?? 0) - (load.get(y) ?? 0));
      for (const h of options) {
        if (covered.size >= want) break;
        if (h.holderKeys.every((k) => covered.has(k))) continue;
        this.setBits(p, h, seedBit(p, h), true, p.id);
        load.set(h, (load.get(h) ?? 0) + 1);
        for (const k of h.holderKeys) covered.add(k);
        linked++;
      }
    }
  }

  // ---- output ------------------------------------------------------------------------------

  private describe(p: Peer): NeighbourInfo[] {
    const out: NeighbourInfo[] = [];
    for (const [qid, e] of p.edges) {
      const q = this.peers.get(qid) as Peer;
      const reasons: NeighbourReason[] = [];
      if (e.bits & SWARM) reasons.push('swarm');
      if (e.bits & (FEED | SEGMENT)) reasons.push(p.broadcaster ? (e.bits & SEGMENT ? 'holder' : 'viewer') : 'broadcaster');
      if (p.broadcaster && e.bits & FEED && e.bits & SEGMENT) reasons.push('viewer');
      const pIsA = p.id === e.a;
      if (e.bits & (pIsA ? SEED_A : SEED_B)) reasons.push('holder');
      if (e.bits & (pIsA ? SEED_B : SEED_A)) reasons.push('producer');
      const info: NeighbourInfo = { peerId: qid, reasons, initiator: e.initiator === p.id };
      if (q.holderKeys.length) info.holderKeys = [...q.holderKeys];
      out.push(info);
    }
    return out;
  }

  private roleEntries(kind: 'holder' | 'producer'): RoleEntry[] {
    const owner = kind === 'holder' ? this.holderOf : this.producerOf;
    return [...new Set(owner.values())].map((p) => ({ peerId: p.id, keys: [...(kind === 'holder' ? p.holderKeys : p.producerGroups)] }));
  }

  private flush(nowMs: number): void {
    const c = this.config;
    for (const p of this.dirtyRoles) {
      if (this.peers.get(p.id) !== p) continue;
      const has = p.holderKeys.length > 0 || p.producerGroups.length > 0;
      this.events.push({ type: 'roles', to: p.id, holderKeys: [...p.holderKeys], producerGroups: [...p.producerGroups], leaseMs: has ? c.leaseMs : 0, heartbeatMs: has ? c.roleHeartbeatMs : c.heartbeatMs });
      // Neighbours see holder keys in their lists.
      for (const qid of p.edges.keys()) this.dirtyNeighbours.add(this.peers.get(qid) as Peer);
    }
    this.dirtyRoles.clear();
    for (const p of this.dirtyNeighbours) {
      if (this.peers.get(p.id) === p) this.events.push({ type: 'neighbours', to: p.id, neighbours: this.describe(p) });
    }
    this.dirtyNeighbours.clear();
    if (this.swarmDirty && this.broadcaster) {
      this.swarmDirty = false;
      this.viewerCountReported = this.viewers.length;
      this.lastSwarmReportMs = nowMs;
      this.events.push({ type: 'swarm', to: this.broadcaster.id, mode: this.mode, viewers: this.viewers.length, holders: this.roleEntries('holder'), producers: this.roleEntries('producer') });
    }
  }
}
