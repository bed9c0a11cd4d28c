// One stream's swarm as pure state: peers, the neighbour graph, swarm mode, holder keys and
// producer leases. No I/O, no clock, no timers, no Math.random: every input is a call with nowMs,
// outputs come from pollEvents(). Driven by the tracker server and directly by the swarm simulator.

import { P2PError } from '../errors.ts';
import type { NeighbourInfo, NeighbourReason, RoleEntry, StreamState, SwarmMode } from './messages.ts';
import { FEED, SEED_A, SEED_B, SEGMENT, SWARM, SwarmGraph } from './swarm-graph.ts';
import { RoleBook, type RoleContext, type RoomPeer } from './role-book.ts';
import { type JoinInfo, type PeerId, type PeerStats, type RoomConfig, type RoomEvent, resolveRoomConfig } from './room-config.ts';
import { SeededRng } from '../rng.ts';
import { networkOf, recordComplaint } from './role-trust.ts';

export * from './room-config.ts';

type Peer = RoomPeer;

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
  private readonly rng: SeededRng;
  private readonly peers = new Map<PeerId, Peer>();
  private broadcaster: Peer | null = null;
  private state: StreamState = 'waiting';
  private mode: SwarmMode = 'direct';
  private modeHoldUntilMs = 0;
  /** A room whose first peer arrives with an announce is being rebuilt after a restart until then. */
  private restoreUntilMs = 0;
  /** Time of the latest call. */
  private nowMs = 0;
  /** Until then (0: none) the broadcaster keeps its direct-feed links after a switch to holder mode. */
  private overlapUntilMs = 0;
  private bitrateBps = 0;
  /** The current go-live's id, from the broadcaster's latest publish (kept while it is away). */
  private broadcastId: string | null = null;
  private events: RoomEvent[] = [];
  private eventHead = 0;
  private swarmDirty = false;
  private viewerCountReported = -1;
  private lastSwarmReportMs = -Infinity;
  private lastTimeoutScanMs = -Infinity;
  private readonly graph: SwarmGraph<Peer>;
  private readonly roles: RoleBook;
  /** Role epoch last reported to the broadcaster. */
  private reportedEpoch = 0;
  /** Viewers eligible for roles when last counted (countEligible), and when. */
  private eligibleViewers = 0;
  private eligibleCountedMs = -Infinity;
  /** Address (host key) of each of the last 1 024 peers that left: a failed-pair report about one still bars its address. */
  private readonly departedHosts = new Map<PeerId, string>();

  constructor(streamId: string, config: Partial<RoomConfig> = {}) {
    this.streamId = streamId;
    this.config = resolveRoomConfig(config);
    this.rng = new SeededRng(this.config.seed);
    this.graph = new SwarmGraph(this.peers, this.config, this.rng);
    const self = this;
    const ctx: RoleContext = {
      get mode() {
        return self.mode;
      },
      get broadcaster() {
        return self.broadcaster;
      },
      get bitrateBps() {
        return self.bitrateBps;
      },
      get overlap() {
        return self.overlapUntilMs > 0;
      },
      get restoring() {
        return self.nowMs < self.restoreUntilMs;
      },
      get nowMs() {
        return self.nowMs;
      },
    };
    this.roles = new RoleBook(ctx, this.peers, this.graph, this.config);
  }

  get size(): number {
    return this.peers.size;
  }
  get viewerCount(): number {
    return this.graph.viewers.length;
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
    this.nowMs = nowMs;
    if (this.peers.has(peerId)) throw new P2PError('PEER_EXISTS', `peer ${peerId} is already in the room`);
    if (info.broadcaster && this.broadcaster) {
      const old = this.broadcaster.id;
      this.removePeer(this.broadcaster);
      this.events.push({ type: 'close', to: old, reason: 'replaced' });
    }
    if (this.peers.size >= this.config.maxPeers) throw new P2PError('ROOM_FULL', `stream has ${this.config.maxPeers} peers`);
    const a = info.announce;
    if (this.peers.size === 0 && this.graph.edgeCount === 0 && a && (a.mode || a.holderKeys?.length || a.producerGroups?.length || a.neighbours?.length)) {
      this.restoreUntilMs = nowMs + this.config.modeHoldMs;
    }
    const p: Peer = {
      id: peerId,
      broadcaster: !!info.broadcaster,
      uploadBps: info.uploadBps,
      measuredUploadBps: info.measuredUploadBps,
      uploadLimitedShare: info.uploadLimitedShare,
      reportedSinceMs: null,
      joinedMs: nowMs,
      distrustedUntilMs: 0,
      complaints: null,
      relayed: !!info.relayed,
      lastSeenMs: nowMs,
      holderKeys: [],
      producerGroups: [],
      leaseExpiresMs: 0,
      edges: new Map(),
      swarmDegree: 0,
      idx: -1,
      failed: null,
      hostKey: info.hostKey ?? null,
      networkKey: info.networkKey ?? null,
      announcedNeighbours: a?.neighbours?.length ? new Set(a.neighbours.slice(0, 64)) : null,
      announceUntilMs: 0,
      claimedKeys: (a?.holderKeys ?? []).filter((k) => this.config.segmentKeys.includes(k)).slice(0, this.config.maxKeysPerHolder),
      lapsed: false,
      claimedGroups: (a?.producerGroups ?? []).filter((g) => g >= this.config.firstProducerGroup && g < this.config.firstProducerGroup + this.config.producerGroups).slice(0, this.config.maxGroupsPerProducer),
    };
    this.peers.set(peerId, p);
    this.roles.noteReport(p, nowMs);
    if (p.broadcaster) {
      this.broadcaster = p;
      if (info.bitrateBps && info.bitrateBps !== this.bitrateBps) {
        this.bitrateBps = info.bitrateBps;
        for (const q of this.peers.values()) this.roles.noteReport(q, nowMs);
      }
      if (a?.mode && a.mode !== this.mode) {
        this.setMode(a.mode, nowMs);
        this.modeHoldUntilMs = nowMs + this.config.modeHoldMs;
      }
      // A new go-live id reaches every peer; a broadcaster coming back with the same one changes nothing.
      const newId = info.broadcastId !== undefined && info.broadcastId !== this.broadcastId;
      if (info.broadcastId !== undefined) this.broadcastId = info.broadcastId;
      if (!this.setState('live')) {
        if (newId) for (const q of this.peers.values()) this.events.push(this.streamEvent(q.id));
        else this.events.push(this.streamEvent(p.id));
      }
      this.roles.relinkBroadcaster();
      this.swarmDirty = true;
    } else {
      this.graph.addViewer(p);
      this.events.push(this.streamEvent(p.id));
      this.graph.restoreAnnounced(p, nowMs + this.config.modeHoldMs);
      this.graph.fillSwarm(p);
      if (this.broadcaster && this.mode === 'direct' && this.roles.feedsJoiner(p)) this.graph.setBits(this.broadcaster, p, FEED, true, this.broadcaster.id);
      this.evaluateMode(nowMs);
      if (this.mode === 'holder') this.roles.fill(nowMs, p);
    }
    this.graph.dirty.add(p);
    this.flush(nowMs);
  }

  /** Removes a peer (socket closed, or it said goodbye). A broadcaster leaving with `ended` ends the stream. */
  leave(peerId: PeerId, nowMs: number, ended = false): void {
    this.nowMs = nowMs;
    const p = this.peers.get(peerId);
    if (!p) return;
    const wasBroadcaster = p.broadcaster;
    // Producers that lost seed links are relinked once, after the refill (which relinks anyway
    // when it runs in full), not before it as well: a holder's leave in a churning swarm was
    // the costliest room operation, and half of it was the first relink.
    const relinks = this.roles.relinks;
    const relink = this.removePeer(p, false);
    if (wasBroadcaster) this.setState(ended ? 'ended' : 'waiting');
    else this.evaluateMode(nowMs);
    if (this.roles.incomplete) this.roles.fill(nowMs);
    if (relink && this.roles.relinks === relinks) this.roles.relinkProducers();
    this.flush(nowMs);
  }

  /** Renews the peer's leases and records its measurements. Unknown peers are ignored. */
  heartbeat(peerId: PeerId, stats: PeerStats, nowMs: number): void {
    this.nowMs = nowMs;
    const p = this.peers.get(peerId);
    if (!p) return;
    p.lastSeenMs = nowMs;
    const wasEligible = this.roles.eligible(p);
    const wasFeedable = this.roles.feedable(p);
    p.lapsed = false;
    if (stats.uploadBps !== undefined) p.uploadBps = stats.uploadBps;
    if (stats.measuredUploadBps !== undefined) p.measuredUploadBps = stats.measuredUploadBps;
    if (stats.uploadLimitedShare !== undefined) p.uploadLimitedShare = stats.uploadLimitedShare;
    if (stats.relayed !== undefined) p.relayed = stats.relayed;
    this.roles.noteReport(p, nowMs);
    // In direct feed a viewer that became eligible takes a feed slot, one that fell short gives its
    // up (a joiner on trial too: its first report decides).
    if (this.mode === 'direct' && !p.broadcaster && (wasEligible !== this.roles.eligible(p) || wasFeedable !== this.roles.feedable(p))) this.roles.relinkBroadcaster();
    const hasRoles = p.holderKeys.length > 0 || p.producerGroups.length > 0;
    if (hasRoles) {
      p.leaseExpiresMs = nowMs + this.config.leaseMs;
      if (!this.roles.eligible(p)) {
        this.roles.revoke(p);
        this.roles.fill(nowMs);
      }
    } else if (!wasEligible && this.roles.eligible(p) && this.roles.incomplete) {
      this.roles.fill(nowMs, p);
    }
    this.flush(nowMs);
  }

  /** A pair that failed to connect: unlinked, never introduced again, both get other neighbours. */
  reportFailedPair(a: PeerId, b: PeerId, nowMs: number): void {
    this.nowMs = nowMs;
    const pa = this.peers.get(a);
    const pb = this.peers.get(b);
    // A report about a peer that left already (a banned peer leaving to come back under a new id)
    // still bars its address, known from its leave.
    const host = pb ? pb.hostKey : (this.departedHosts.get(b) ?? null);
    if (!pa || a === b || (!pb && host === null)) return;
    this.roles.noteReported(host);
    let bits = 0;
    if (pb) bits = this.graph.markFailed(pa, pb);
    else if (host !== pa.hostKey) {
      const f = (pa.failed ??= new Set());
      f.add(`@${host}`);
      while (f.size > this.config.maxFailedPairsPerPeer) f.delete(f.values().next().value as string);
    }
    // Another id of the reported peer's address that came back before this report and was linked
    // to the reporter meanwhile: unlinked as well (the address rule, applied to it too).
    if (host !== null && host !== pa.hostKey) {
      for (const qid of [...pa.edges.keys()]) {
        const q = this.peers.get(qid);
        if (q && q !== pb && q.hostKey === host) bits |= this.graph.markFailed(pa, q);
      }
    }
    // The broadcaster dropped a holder (bad messages to it, or a link that failed): no code
    // segment reaches that holder any more, so its keys and groups go to other peers at once, and
    // it gets no role for distrustMs. Only the broadcaster's word does this (a viewer's failed pair
    // never strips a holder).
    if (pa.broadcaster && pb && (pb.holderKeys.length > 0 || pb.producerGroups.length > 0)) {
      pb.distrustedUntilMs = nowMs + this.config.distrustMs;
      this.roles.revoke(pb);
      this.roles.fill(nowMs);
    }
    if (pa.broadcaster || pb?.broadcaster) this.roles.relinkBroadcaster();
    if (bits & (SEED_A | SEED_B)) this.roles.relinkProducers();
    this.graph.topUpNeedy(64);
    this.flush(nowMs);
  }

  /**
   * A producer complains that a holder it is linked to withholds or corrupts its seeds. Ignored
   * (false) unless `from` produces from `against`'s seeds now and, when the complaint names the
   * key it is about (its evidence), `against` holds that key now (a complaint about a key that
   * moved meanwhile is stale). When producers of enough distinct networks complained within the
   * window (role-trust.ts recordComplaint: at least complaintsToMove, and complaintShare of the
   * networks producing from it now), the holder loses its keys and groups, which go to other peers
   * at once, and it gets no role for distrustMs.
   */
  complain(from: PeerId, against: PeerId, nowMs: number, evidence?: { key?: number }): boolean {
    this.nowMs = nowMs;
    const f = this.peers.get(from);
    const h = this.peers.get(against);
    if (!f || !h || f === h || !f.producerGroups.length || !h.holderKeys.length) return false;
    if (!(this.graph.bits(f, h) & (f.id < h.id ? SEED_A : SEED_B))) return false;
    if (evidence?.key !== undefined && !h.holderKeys.includes(evidence.key)) return false;
    if (recordComplaint(h, f, this.config, nowMs, this.producerNetworksOf(h))) {
      h.distrustedUntilMs = nowMs + this.config.distrustMs;
      h.complaints = null;
      this.roles.revoke(h);
      this.roles.fill(nowMs);
    }
    this.flush(nowMs);
    return true;
  }

  /** Networks of the producers that produce from holder h's seeds now. */
  private producerNetworksOf(h: Peer): Set<string> {
    const nets = new Set<string>();
    for (const e of h.edges.values()) {
      const q = this.peers.get(e.a === h.id ? e.b : e.a);
      if (q && q.producerGroups.length && e.bits & (e.a === q.id ? SEED_A : SEED_B)) nets.add(networkOf(q));
    }
    return nets;
  }

  /** Periodic work: lease expiry, quiet peers, neighbour top-up, mode hysteresis, role refill. */
  tick(nowMs: number): void {
    this.nowMs = nowMs;
    const c = this.config;
    let revoked = false;
    for (const p of this.roles.expiredRolePeers(nowMs)) {
      revoked = true;
      p.lapsed = true;
      this.roles.revoke(p);
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
    this.graph.expireAnnounced(nowMs);
    this.graph.topUpNeedy(256);
    this.countEligible(nowMs);
    if (this.overlapUntilMs > 0 && nowMs >= this.overlapUntilMs) {
      this.overlapUntilMs = 0;
      this.roles.relinkBroadcaster();
    } else if (this.roles.feedsStale()) this.roles.relinkBroadcaster();
    this.evaluateMode(nowMs);
    const sinceFill = nowMs - this.roles.lastFullFillMs;
    if ((this.roles.incomplete && (revoked || sinceFill >= 500)) || (this.mode === 'holder' && sinceFill >= 2000 && (this.roles.producerTotal() < this.roles.producersWanted() || this.roles.needsUpgrade(nowMs)))) this.roles.fill(nowMs);
    if (this.broadcaster && this.viewerCountReported !== this.graph.viewers.length && nowMs - this.lastSwarmReportMs >= c.swarmReportMs) this.swarmDirty = true;
    this.flush(nowMs);
  }

  /** When the room next wants tick(). */
  nextTimeout(nowMs: number): number {
    return nowMs + this.config.tickMs;
  }

  /** Takes the events produced since the last call. */
  pollEvents(): RoomEvent[] {
    const out = this.eventHead === 0 ? this.events : this.events.slice(this.eventHead);
    this.events = [];
    this.eventHead = 0;
    return out;
  }

  /** Takes the next event, or undefined when none is left (one at a time, same order). */
  pollEvent(): RoomEvent | undefined {
    if (this.eventHead >= this.events.length) return undefined;
    const e = this.events[this.eventHead++];
    if (this.eventHead === this.events.length) {
      this.events = [];
      this.eventHead = 0;
    }
    return e;
  }

  get streamState(): StreamState {
    return this.state;
  }

  get swarmMode(): SwarmMode {
    return this.mode;
  }

  /** The current go-live's id, or null before any broadcaster published. */
  get currentBroadcastId(): string | null {
    return this.broadcastId;
  }

  snapshot(): RoomSnapshot {
    return {
      streamId: this.streamId,
      state: this.state,
      mode: this.mode,
      viewers: this.graph.viewers.length,
      broadcaster: this.broadcaster?.id ?? null,
      holders: this.roles.entries('holder'),
      producers: this.roles.entries('producer'),
      edges: this.graph.edgeCount,
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

  /** Removes a peer from the graph and its roles; relinks the producers when it held role links, or returns whether that is due (`relink` false). */
  private removePeer(p: Peer, relink = true): boolean {
    if (p.hostKey !== null) {
      this.departedHosts.set(p.id, p.hostKey);
      if (this.departedHosts.size > 1024) this.departedHosts.delete(this.departedHosts.keys().next().value as string);
    }
    let roleLinks = false;
    for (const e of p.edges.values()) if (e.bits & (SEED_A | SEED_B)) roleLinks = true;
    const neighbours = this.graph.detach(p);
    this.peers.delete(p.id);
    this.roles.dirty.delete(p);
    if (this.broadcaster === p) this.broadcaster = null;
    if (p.holderKeys.length || p.producerGroups.length) {
      this.roles.revoke(p, false);
      roleLinks = true;
    }
    this.graph.heal(neighbours);
    if (roleLinks && relink) this.roles.relinkProducers();
    return roleLinks;
  }

  // ---- state, mode and roles --------------------------------------------------------------

  /** Sets the stream state; tells every peer and returns true when it changed. */
  private setState(s: StreamState): boolean {
    if (s === this.state) return false;
    this.state = s;
    for (const p of this.peers.values()) this.events.push(this.streamEvent(p.id));
    return true;
  }


  private countEligible(nowMs: number): void {
    this.eligibleViewers = this.roles.eligibleCount(nowMs);
    this.eligibleCountedMs = nowMs;
  }

  /**
   * Direct feed ↔ holder mode by viewer count, with hysteresis; holder mode also waits for enough
   * eligible viewers to hold every key (holdersNeeded), and falls back to direct feed (held for
   * modeHoldMs) when they become too few. The eligible count is taken at each tick.
   */
  private evaluateMode(nowMs: number): void {
    if (nowMs < this.modeHoldUntilMs) return;
    const n = this.graph.viewers.length;
    // Counted again at most every tickMs between ticks, so joins stay O(1) in a large room.
    if (this.mode === 'direct' && n >= this.config.holderModeAtViewers && nowMs - this.eligibleCountedMs >= this.config.tickMs) this.countEligible(nowMs);
    const enough = this.eligibleViewers >= this.roles.holdersNeeded();
    if (this.mode === 'direct' && n >= this.config.holderModeAtViewers && enough) this.setMode('holder', nowMs);
    else if (this.mode === 'holder' && n <= this.config.directModeAtViewers) this.setMode('direct', nowMs);
    else if (this.mode === 'holder' && !enough) {
      this.setMode('direct', nowMs);
      this.modeHoldUntilMs = nowMs + this.config.modeHoldMs;
    }
  }

  private setMode(mode: SwarmMode, nowMs: number): void {
    this.mode = mode;
    this.overlapUntilMs = mode === 'holder' && this.config.modeOverlapMs > 0 ? nowMs + this.config.modeOverlapMs : 0;
    if (mode === 'direct') {
      for (const p of this.roles.rolePeers()) this.roles.revoke(p, false);
      this.roles.incomplete = false;
      this.roles.relinkProducers();
    }
    this.roles.relinkBroadcaster();
    for (const p of this.peers.values()) this.events.push(this.streamEvent(p.id));
    this.swarmDirty = true;
    if (mode === 'holder') this.roles.fill(nowMs);
  }








  // ---- output ------------------------------------------------------------------------------

  /** The stream's state for one peer, with the current go-live id once a broadcaster gave one. */
  private streamEvent(to: PeerId): RoomEvent {
    const e: RoomEvent = { type: 'stream', to, streamId: this.streamId, state: this.state, mode: this.mode };
    if (this.broadcastId !== null) e.broadcastId = this.broadcastId;
    return e;
  }

  private describe(p: Peer): NeighbourInfo[] {
    const out: NeighbourInfo[] = [];
    for (const [qid, e] of p.edges) {
      const q = this.peers.get(qid) as Peer;
      const info: NeighbourInfo = { peerId: qid, reasons: reasonsOf(e.bits, p.id === e.a, p.broadcaster), initiator: e.initiator === p.id };
      if (q.holderKeys.length) info.holderKeys = [...q.holderKeys];
      out.push(info);
    }
    return out;
  }

  private flush(nowMs: number): void {
    const c = this.config;
    for (const p of this.roles.dirty) {
      if (this.peers.get(p.id) !== p) continue;
      const has = p.holderKeys.length > 0 || p.producerGroups.length > 0;
      this.events.push({ type: 'roles', to: p.id, holderKeys: [...p.holderKeys], producerGroups: [...p.producerGroups], leaseMs: has ? c.leaseMs : 0, heartbeatMs: has ? c.roleHeartbeatMs : c.heartbeatMs });
      // Neighbours see holder keys in their lists.
      for (const qid of p.edges.keys()) this.graph.dirty.add(this.peers.get(qid) as Peer);
    }
    this.roles.dirty.clear();
    for (const p of this.graph.dirty) {
      if (this.peers.get(p.id) === p) this.events.push({ type: 'neighbours', to: p.id, neighbours: this.describe(p) });
    }
    this.graph.dirty.clear();
    if (this.roles.epoch !== this.reportedEpoch) {
      this.reportedEpoch = this.roles.epoch;
      this.swarmDirty = true;
    }
    if (this.swarmDirty && this.broadcaster) {
      this.swarmDirty = false;
      this.viewerCountReported = this.graph.viewers.length;
      this.lastSwarmReportMs = nowMs;
      this.events.push({ type: 'swarm', to: this.broadcaster.id, mode: this.mode, viewers: this.graph.viewers.length, holders: this.roles.entries('holder'), producers: this.roles.entries('producer') });
    }
  }
}

/**
 * Why a neighbour is one, from an edge's bits as one end sees them. The lists are built once per
 * combination and shared (frozen): the room describes every neighbour list again after each join
 * and leave, and a fresh array per neighbour was a tenth of a busy tracker's allocation.
 */
const reasonLists = new Map<number, readonly NeighbourReason[]>();
function reasonsOf(bits: number, pIsA: boolean, broadcaster: boolean): NeighbourReason[] {
  const key = (bits << 2) | (pIsA ? 2 : 0) | (broadcaster ? 1 : 0);
  let reasons = reasonLists.get(key);
  if (!reasons) {
    const r: NeighbourReason[] = [];
    if (bits & SWARM) r.push('swarm');
    if (bits & (FEED | SEGMENT)) r.push(broadcaster ? (bits & SEGMENT ? 'holder' : 'viewer') : 'broadcaster');
    if (broadcaster && bits & FEED && bits & SEGMENT) r.push('viewer');
    if (bits & (pIsA ? SEED_A : SEED_B)) r.push('holder');
    if (bits & (pIsA ? SEED_B : SEED_A)) r.push('producer');
    reasons = Object.freeze(r);
    reasonLists.set(key, reasons);
  }
  return reasons as NeighbourReason[];
}
