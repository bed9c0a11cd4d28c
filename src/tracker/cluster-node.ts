// One tracker node of a cluster: which node owns each stream's room, and the messages between
// nodes. Each stream's Room lives on the node holding its ownership lease in the shared store
// (SET NX PX, renewed); a takeover raises the stream's epoch, and every message of an owner carries
// its lease token and epoch, so grants of a deposed owner are dropped. A peer may connect to any
// node: joins, leaves, heartbeats and reports go to the owner's channel; the owner's events go only
// to the channels of nodes hosting their targets, with the node of each neighbour attached, so a
// signal goes straight to the target's node. Relays between peers of one node never leave it.
// The owner keeps a snapshot of members and roles in a hash; a node taking over rebuilds the room
// from it. Node-only (timers from the tracker clock); driven by server.ts through ClusterHost.

import { randomBytes } from 'node:crypto';
import { P2PError, isP2PError } from '../errors.ts';
import type { ClusterBackend } from './cluster-backend.ts';
import type { JoinInfo, PeerStats, Room, RoomEvent } from './room.ts';
import type { SwarmMode } from './messages.ts';
import type { TrackerClock } from './server-config.ts';
import { ClusterMetrics } from './cluster-metrics.ts';

/** What the owner tells a node about a join it forwarded. */
export type AdmitEvent = { type: 'admit'; to: string; ok: boolean; code?: string; message?: string; quiet?: boolean };
export type NodeEvent = RoomEvent | AdmitEvent;

/** What a node knows of one of its own peers, to join it again at a new owner. */
export interface LocalMember {
  id: string;
  info: JoinInfo;
  /** Its join was admitted already (a join again after an owner change is then quiet). */
  admitted: boolean;
  holderKeys: number[];
  producerGroups: number[];
  neighbours: string[];
  mode: SwarmMode | null;
}

/** The tracker server as the cluster sees it. */
export interface ClusterHost {
  /** The server's rooms: owned rooms are kept there (ticks, counts). */
  readonly rooms: Map<string, Room>;
  /** A new room for `streamId`; throws P2PError TOO_MANY_STREAMS when the node holds its maximum. */
  makeRoom(streamId: string, broadcaster: boolean): Room;
  /** Hands an owner's event to a local peer; false when the peer is not (or no longer) here. */
  deliver(streamId: string, ev: NodeEvent, routes: string[] | undefined): boolean;
  /** A signal from a peer on another node to a local peer. */
  relayIn(streamId: string, from: string, to: string, data: unknown): void;
  /** This node's peers of a stream. */
  localMembers(streamId: string): LocalMember[];
  /** Streams with peers on this node. */
  hostedStreams(): Set<string>;
  log(line: string): void;
}

export interface ClusterOptions {
  /** The shared engine: redisBackend(...) for several processes, memoryBackend(space) in one. */
  backend: ClusterBackend;
  /** This node's name, unique in the cluster: letters, digits, '.', '_', '-' (1…64). */
  nodeId: string;
  /** Ownership lease of a stream, ms (default 6000): a dead owner's streams are free after it. */
  leaseMs?: number;
  /** Lease renewal, owner checks and snapshot writes, ms (default leaseMs / 5). */
  renewMs?: number;
  /** Prefix of every key and channel (default 'p2p:'). */
  prefix?: string;
}

const NODE_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
/** Largest message accepted from another node; a batch is split before it gets there. */
const MAX_NODE_MESSAGE = 4 << 20;
const MAX_BATCH = 400;
/** Messages waiting per stream while its owner is being found. */
const MAX_PENDING = 20_000;

interface Owner {
  token: string;
  node: string;
  epoch: number;
}

interface Owned {
  room: Room;
  token: string;
  epoch: number;
  /** Member → the node it is connected to. */
  members: Map<string, string>;
  info: Map<string, JoinInfo>;
  dirty: Set<string>;
  removed: Set<string>;
  metaWritten: string;
}

type Msg =
  | { t: 'join'; s: string; id: string; n: string; i: JoinInfo; r?: 1; h?: number }
  | { t: 'leave'; s: string; id: string; n: string; end?: 1; h?: number }
  | { t: 'hb'; s: string; id: string; n: string; st: PeerStats; h?: number }
  | { t: 'failed'; s: string; id: string; n: string; p: string; h?: number }
  | { t: 'complaint'; s: string; id: string; n: string; p: string; h?: number; k?: number }
  | { t: 'ev'; s: string; o: string; e: number; v: Array<[NodeEvent, string[]?]> }
  | { t: 'sig'; s: string; f: string; to: string; d: unknown };
type Control = Extract<Msg, { t: 'join' | 'leave' | 'hb' | 'failed' | 'complaint' }>;

const tokenNode = (token: string): string => token.slice(0, token.lastIndexOf('~'));

export class ClusterNode {
  readonly nodeId: string;
  readonly metrics = new ClusterMetrics();
  private readonly backend: ClusterBackend;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly prefix: string;
  private readonly token: string;
  private readonly owned = new Map<string, Owned>();
  private readonly owners = new Map<string, Owner>();
  private readonly pending = new Map<string, Control[]>();
  private readonly resolving = new Set<string>();
  private readonly outbox = new Map<string, Msg[]>();
  private flushScheduled = false;
  private timer: unknown = null;
  private keepTimer: unknown = null;
  private renewing = false;
  private closed = false;

  constructor(
    options: ClusterOptions,
    private readonly host: ClusterHost,
    private readonly clock: TrackerClock,
  ) {
    if (!NODE_ID_RE.test(options.nodeId)) throw new P2PError('BAD_CONFIG', `the node id must be 1…64 letters, digits, '.', '_' or '-', got ${options.nodeId.slice(0, 80)}`);
    this.nodeId = options.nodeId;
    this.backend = options.backend;
    this.leaseMs = options.leaseMs ?? 6000;
    this.renewMs = options.renewMs ?? Math.max(50, Math.floor(this.leaseMs / 5));
    if (!(this.leaseMs >= 100) || !(this.renewMs > 0) || this.renewMs >= this.leaseMs) throw new P2PError('BAD_CONFIG', `the cluster lease (${this.leaseMs} ms) must be ≥ 100 ms and longer than its renewal period (${this.renewMs} ms)`);
    this.prefix = options.prefix ?? 'p2p:';
    // One token per process start: a node restarted under the same id is another lease holder.
    this.token = `${this.nodeId}~${randomBytes(6).toString('base64url')}`;
    this.backend.onRoundTrip((s) => this.metrics.observeRoundTrip(s));
    this.backend.onState((s) => {
      this.metrics.backendUp = s === 'up';
      if (s === 'up') this.renew(); // reconcile at once when the engine is back
    });
    this.metrics.backendUp = this.backend.state === 'up';
  }

  // ---- keys and channels (the stream id in braces keeps a stream's keys in one Redis Cluster slot)

  private ownerKey = (s: string) => `${this.prefix}owner:{${s}}`;
  private epochKey = (s: string) => `${this.prefix}epoch:{${s}}`;
  private snapKey = (s: string) => `${this.prefix}snap:{${s}}`;
  private aliveKey = (node: string) => `${this.prefix}alive:${node}`;
  private channel = (node: string) => `${this.prefix}node:${node}`;

  /** Subscribes to this node's channel and claims the node id; rejects with BAD_CONFIG when another live node uses it. */
  async start(): Promise<void> {
    const alive = await this.backend.store.acquireLease(this.aliveKey(this.nodeId), this.token, this.leaseMs);
    if (!alive) throw new P2PError('BAD_CONFIG', `another tracker node runs with the node id ${this.nodeId}`);
    await this.backend.broker.subscribe(this.channel(this.nodeId), (m) => this.onNodeMessage(m));
    this.timer = this.clock.setInterval(() => this.renew(), this.renewMs);
    this.keepTimer = this.clock.setInterval(() => this.keepRemoteAlive(), 500);
  }

  /** Leaves the cluster cleanly: releases leases so other nodes take over at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) this.clock.clearInterval(this.timer);
    if (this.keepTimer !== null) this.clock.clearInterval(this.keepTimer);
    this.flush();
    const s = this.backend.store;
    await Promise.allSettled([...this.owned.entries()].map(async ([id, o]) => {
      await this.writeSnapshot(id, o);
      await s.releaseLease(this.ownerKey(id), o.token);
    }));
    await s.releaseLease(this.aliveKey(this.nodeId), this.token).catch(() => {});
    await this.backend.broker.unsubscribe(this.channel(this.nodeId)).catch(() => {});
  }

  /** Stops without any cleanup, as if the process died (tests). */
  halt(): void {
    this.closed = true;
    if (this.timer !== null) this.clock.clearInterval(this.timer);
    if (this.keepTimer !== null) this.clock.clearInterval(this.keepTimer);
    this.outbox.clear();
  }

  ownedStreams(): string[] {
    return [...this.owned.keys()];
  }

  ownerOf(streamId: string): { node: string; epoch: number } | null {
    const o = this.owned.get(streamId);
    if (o) return { node: this.nodeId, epoch: o.epoch };
    const k = this.owners.get(streamId);
    return k ? { node: k.node, epoch: k.epoch } : null;
  }

  get backendState() {
    return this.backend.state;
  }

  get backendKind() {
    return this.backend.kind;
  }

  // ---- from local peers ----------------------------------------------------------------------

  join(s: string, id: string, info: JoinInfo, rejoin = false): void {
    this.control({ t: 'join', s, id, n: this.nodeId, i: info, ...(rejoin ? { r: 1 as const } : {}) });
  }
  leave(s: string, id: string, ended: boolean): void {
    this.control({ t: 'leave', s, id, n: this.nodeId, ...(ended ? { end: 1 as const } : {}) });
  }
  heartbeat(s: string, id: string, st: PeerStats): void {
    this.control({ t: 'hb', s, id, n: this.nodeId, st });
  }
  failed(s: string, id: string, p: string): void {
    this.control({ t: 'failed', s, id, n: this.nodeId, p });
  }
  complaint(s: string, id: string, p: string, key?: number): void {
    this.control({ t: 'complaint', s, id, n: this.nodeId, p, ...(key !== undefined ? { k: key } : {}) });
  }

  /** A signal from a local peer to a peer on `node`. */
  relay(node: string, s: string, from: string, to: string, data: unknown): void {
    this.metrics.crossNode('out', 'sig');
    this.send(node, { t: 'sig', s, f: from, to, d: data });
  }

  /** The owner's side of dispatch: every event of an owned room goes to its peer's node. */
  dispatch(room: Room): void {
    const o = this.owned.get(room.streamId);
    if (!o || o.room !== room) {
      room.pollEvents(); // a room this node no longer owns says nothing
      return;
    }
    const batches = new Map<string, Array<[NodeEvent, string[]?]>>();
    for (const ev of room.pollEvents()) this.route(room.streamId, o, ev, batches);
    this.sendEvents(room.streamId, o, batches);
    if (room.size === 0) void this.drop(room.streamId, o, true);
  }

  // ---- owner side ----------------------------------------------------------------------------

  private route(s: string, o: Owned, ev: NodeEvent, batches: Map<string, Array<[NodeEvent, string[]?]>>): void {
    const node = o.members.get(ev.to) ?? this.nodeId;
    if (ev.type === 'roles') o.dirty.add(ev.to);
    const routes = ev.type === 'neighbours' ? ev.neighbours.map((n) => o.members.get(n.peerId) ?? '') : undefined;
    if (ev.type === 'close') this.forget(o, ev.to);
    if (node === this.nodeId) {
      this.host.deliver(s, ev, routes);
      return;
    }
    let b = batches.get(node);
    if (!b) batches.set(node, (b = []));
    b.push(routes ? [ev, routes] : [ev]);
  }

  private sendEvents(s: string, o: Owned, batches: Map<string, Array<[NodeEvent, string[]?]>>): void {
    for (const [node, v] of batches) {
      this.metrics.crossNode('out', 'ev', v.length);
      for (let i = 0; i < v.length; i += MAX_BATCH) this.send(node, { t: 'ev', s, o: o.token, e: o.epoch, v: v.slice(i, i + MAX_BATCH) });
    }
  }

  private forget(o: Owned, id: string): void {
    o.members.delete(id);
    o.info.delete(id);
    o.dirty.delete(id);
    o.removed.add(id);
  }

  /** Runs a control message on an owned stream. */
  private onControl(o: Owned, m: Control): void {
    const room = o.room;
    const now = this.clock.now();
    const batches = new Map<string, Array<[NodeEvent, string[]?]>>();
    const at = o.members.get(m.id);
    if (m.t === 'join') {
      if (at !== undefined) {
        // Already a member through this node (restored from the snapshot, or joined twice while
        // the owner changed): admitted as it is.
        if (at === m.n) {
          this.route(m.s, o, { type: 'admit', to: m.id, ok: true, quiet: !!m.r }, batches);
          this.sendEvents(m.s, o, batches);
          return;
        }
        // The same peer connected again (elsewhere, or its old socket is half-open): the new one wins.
        room.leave(m.id, now);
        this.route(m.s, o, { type: 'close', to: m.id, reason: 'replaced' }, batches);
      }
      try {
        room.join(m.id, m.i, now);
      } catch (e) {
        this.route(m.s, o, { type: 'admit', to: m.id, ok: false, code: isP2PError(e) ? e.code : 'JOIN_FAILED', message: String((e as Error).message) }, batches);
        // Events of the leave above (if any) still go out.
        for (const ev of room.pollEvents()) this.route(m.s, o, ev, batches);
        this.sendEvents(m.s, o, batches);
        if (room.size === 0) void this.drop(m.s, o, true);
        return;
      }
      o.members.set(m.id, m.n);
      o.removed.delete(m.id);
      const { announce: _a, ...info } = m.i;
      o.info.set(m.id, info);
      o.dirty.add(m.id);
      this.route(m.s, o, { type: 'admit', to: m.id, ok: true, quiet: !!m.r }, batches);
    } else {
      // Only the node a peer is connected to speaks for it.
      if (at !== m.n) return;
      if (m.t === 'leave') {
        room.leave(m.id, now, !!m.end);
        this.forget(o, m.id);
      } else if (m.t === 'hb') room.heartbeat(m.id, m.st, now);
      else if (m.t === 'failed') {
        if (room.areNeighbours(m.id, m.p)) room.reportFailedPair(m.id, m.p, now);
      } else room.complain(m.id, m.p, now, { key: typeof m.k === 'number' ? m.k : undefined });
    }
    for (const ev of room.pollEvents()) this.route(m.s, o, ev, batches);
    this.sendEvents(m.s, o, batches);
    if (room.size === 0) void this.drop(m.s, o, true);
  }

  /** Gives up an owned room: released when empty, or taken from us (lost) by another owner. */
  private async drop(s: string, o: Owned, release: boolean): Promise<void> {
    if (this.owned.get(s) !== o) return;
    this.owned.delete(s);
    if (this.host.rooms.get(s) === o.room) this.host.rooms.delete(s);
    this.owners.delete(s);
    if (!release) return;
    const fence = { key: this.ownerKey(s), value: o.token };
    try {
      await this.backend.store.delete([this.snapKey(s)], fence);
      await this.backend.store.releaseLease(this.ownerKey(s), o.token);
    } catch {
      // The lease expires on its own.
    }
  }

  /** Takes the stream's ownership lease if it is free and builds the room from the snapshot. */
  private async tryOwn(s: string): Promise<boolean> {
    const st = this.backend.store;
    if (!(await st.acquireLease(this.ownerKey(s), this.token, this.leaseMs))) return false;
    try {
      // The epoch only grows: above the stored one and above any this node has seen.
      const known = this.owners.get(s)?.epoch ?? 0;
      let epoch = 0;
      for (let i = 0; i < 5 && epoch === 0; i++) {
        const cur = await st.get(this.epochKey(s));
        const next = Math.max(Number(cur ?? 0) || 0, known) + 1;
        if (await st.compareAndSet(this.epochKey(s), cur, String(next))) epoch = next;
      }
      if (epoch === 0) throw new Error('epoch contention');
      const snap = await st.readHash(this.snapKey(s));
      if (this.closed || this.owned.has(s)) return true;
      this.adopt(s, epoch, snap, await this.aliveNodes(snap));
      return true;
    } catch (e) {
      await st.releaseLease(this.ownerKey(s), this.token).catch(() => {});
      this.host.log(`tracker: cluster: could not take over ${s.slice(0, 12)}…: ${(e as Error).message}`);
      return false;
    }
  }

  private async aliveNodes(snap: Record<string, string>): Promise<Set<string>> {
    const nodes = new Set<string>();
    for (const [k, v] of Object.entries(snap)) {
      if (!k.startsWith('m:')) continue;
      try {
        const n = (JSON.parse(v) as { n?: unknown }).n;
        if (typeof n === 'string') nodes.add(n);
      } catch {
        // A damaged entry is skipped here and in adopt().
      }
    }
    const alive = new Set<string>([this.nodeId]);
    for (const n of nodes) if (n !== this.nodeId && (await this.backend.store.get(this.aliveKey(n)))) alive.add(n);
    return alive;
  }

  /** Becomes the stream's owner at `epoch`: room from the snapshot's members on live nodes, then this node's own peers. */
  private adopt(s: string, epoch: number, snap: Record<string, string>, alive: Set<string>): void {
    let room: Room;
    try {
      room = this.host.makeRoom(s, true);
    } catch (e) {
      this.host.log(`tracker: cluster: cannot hold ${s.slice(0, 12)}…: ${(e as Error).message}`);
      void this.backend.store.releaseLease(this.ownerKey(s), this.token).catch(() => {});
      // This node's peers waiting for the stream get the refusal instead of waiting forever.
      const q = this.pending.get(s);
      this.pending.delete(s);
      for (const m of q ?? []) {
        if (m.t === 'join' && m.n === this.nodeId) this.host.deliver(s, { type: 'admit', to: m.id, ok: false, code: isP2PError(e) ? e.code : 'JOIN_FAILED', message: String((e as Error).message) }, undefined);
      }
      return;
    }
    const o: Owned = { room, token: this.token, epoch, members: new Map(), info: new Map(), dirty: new Set(), removed: new Set(), metaWritten: '' };
    const now = this.clock.now();
    let mode: SwarmMode | undefined;
    try {
      mode = (JSON.parse(snap.meta ?? '{}') as { mode?: SwarmMode }).mode;
    } catch {
      mode = undefined;
    }
    // The broadcaster first, so the room is live before its viewers come back.
    const entries = Object.entries(snap).filter(([k]) => k.startsWith('m:')).map(([k, v]) => [k.slice(2), v] as const);
    const parsed: Array<{ id: string; n: string; i: JoinInfo; h: number[]; p: number[] }> = [];
    for (const [id, v] of entries) {
      try {
        const m = JSON.parse(v) as { n: string; i: JoinInfo; h?: number[]; p?: number[] };
        if (alive.has(m.n)) parsed.push({ id, n: m.n, i: m.i ?? {}, h: m.h ?? [], p: m.p ?? [] });
      } catch {
        // A damaged entry is skipped; that peer joins again through its node.
      }
    }
    parsed.sort((a, b) => Number(!!b.i.broadcaster) - Number(!!a.i.broadcaster));
    for (const m of parsed) {
      try {
        room.join(m.id, { ...m.i, announce: { holderKeys: m.h, producerGroups: m.p, ...(mode ? { mode } : {}) } }, now);
        o.members.set(m.id, m.n);
        o.info.set(m.id, m.i);
        o.dirty.add(m.id);
      } catch {
        // Full room or duplicate: that peer joins again through its node.
      }
    }
    this.owned.set(s, o);
    this.host.rooms.set(s, room);
    this.owners.set(s, { token: this.token, node: this.nodeId, epoch });
    this.metrics.ownership('acquired');
    this.host.log(`tracker: cluster: ${this.nodeId} owns ${s.slice(0, 12)}… at epoch ${epoch} (${o.members.size} peers from the snapshot)`);
    // This node's own peers of the stream, then what waited for an owner.
    for (const lm of this.host.localMembers(s)) {
      if (!o.members.has(lm.id)) this.onControl(o, { t: 'join', s, id: lm.id, n: this.nodeId, i: withAnnounce(lm), ...(lm.admitted ? { r: 1 as const } : {}) });
    }
    // What waited for an owner runs before the room can be found empty and given up.
    const q = this.pending.get(s);
    this.pending.delete(s);
    for (const m of q ?? []) {
      if (this.owned.get(s) === o) this.onControl(o, m);
      else this.control(m);
    }
    if (this.owned.get(s) !== o) return;
    this.dispatch(room);
    void this.writeSnapshot(s, o);
  }

  private async writeSnapshot(s: string, o: Owned): Promise<void> {
    const set: Record<string, string> = {};
    for (const id of o.dirty) {
      const n = o.members.get(id);
      if (n === undefined) continue;
      const r = o.room.rolesOf(id);
      set[`m:${id}`] = JSON.stringify({ n, i: o.info.get(id) ?? {}, h: r.holderKeys, p: r.producerGroups });
    }
    const meta = JSON.stringify({ epoch: o.epoch, state: o.room.streamState, mode: o.room.swarmMode, broadcastId: o.room.currentBroadcastId });
    if (meta !== o.metaWritten) set.meta = meta;
    const del = [...o.removed].map((id) => `m:${id}`);
    if (Object.keys(set).length === 0 && del.length === 0) return;
    const dirty = o.dirty;
    const removed = o.removed;
    o.dirty = new Set();
    o.removed = new Set();
    try {
      if (await this.backend.store.writeHash(this.snapKey(s), set, del, { key: this.ownerKey(s), value: o.token })) {
        o.metaWritten = meta;
        return;
      }
    } catch {
      // Written again at the next renewal.
    }
    for (const id of dirty) o.dirty.add(id);
    for (const id of removed) if (!o.members.has(id)) o.removed.add(id);
  }

  // ---- routing -------------------------------------------------------------------------------

  /** Sends a control message to the stream's owner (this node or another), finding the owner first if needed. */
  private control(m: Control): void {
    if (this.closed) return;
    const o = this.owned.get(m.s);
    if (o) return this.onControl(o, m);
    const owner = this.owners.get(m.s);
    if (owner && owner.node !== this.nodeId) {
      this.metrics.crossNode('out', m.t);
      this.send(owner.node, m);
      return;
    }
    let q = this.pending.get(m.s);
    if (!q) this.pending.set(m.s, (q = []));
    if (q.length < MAX_PENDING || m.t === 'leave' || m.t === 'join') q.push(m);
    void this.resolve(m.s);
  }

  /** Finds (or becomes) the stream's owner, then sends what waited for it. */
  private async resolve(s: string): Promise<void> {
    if (this.resolving.has(s) || this.closed) return;
    this.resolving.add(s);
    try {
      let token = await this.backend.store.get(this.ownerKey(s));
      if (token === null && (await this.tryOwn(s))) return;
      if (token === null) token = await this.backend.store.get(this.ownerKey(s));
      if (token !== null && token !== this.token) this.setOwner(s, token, this.owners.get(s)?.epoch ?? 0);
    } catch {
      // Store unreachable: retried at the next renewal.
    } finally {
      this.resolving.delete(s);
    }
    const q = this.pending.get(s);
    if (q && this.owners.has(s)) {
      this.pending.delete(s);
      for (const m of q) this.control(m);
    }
  }

  private setOwner(s: string, token: string, epoch: number): void {
    const old = this.owners.get(s);
    this.owners.set(s, { token, node: tokenNode(token), epoch });
    if (old && old.token !== token) {
      this.metrics.ownership('moved');
      this.rejoinLocal(s);
    }
  }

  /** The stream has a new owner: this node's peers join it again with what they hold. */
  private rejoinLocal(s: string): void {
    for (const lm of this.host.localMembers(s)) this.join(s, lm.id, withAnnounce(lm), lm.admitted);
  }

  private send(node: string, m: Msg): void {
    let q = this.outbox.get(node);
    if (!q) this.outbox.set(node, (q = []));
    q.push(m);
    if (q.length >= MAX_BATCH) this.flushNode(node);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const node of [...this.outbox.keys()]) this.flushNode(node);
  }

  private flushNode(node: string): void {
    const q = this.outbox.get(node);
    this.outbox.delete(node);
    if (!q?.length || this.closed) return;
    const text = JSON.stringify(q);
    this.metrics.crossNodeBytes += text.length;
    this.backend.broker.publish(this.channel(node), text).then(
      (n) => {
        if (n === 0) this.unreachable(node, q);
      },
      () => this.metrics.crossNode('out', 'lost', q.length),
    );
  }

  /** Nobody listens on a node's channel: it is gone. Its streams get a new owner when their lease expires. */
  private unreachable(node: string, q: Msg[]): void {
    this.metrics.crossNode('out', 'lost', q.length);
    for (const m of q) {
      if (m.t === 'ev' || m.t === 'sig') continue;
      const owner = this.owners.get(m.s);
      if (owner?.node === node) this.owners.delete(m.s);
      if (m.t === 'join' || m.t === 'leave') {
        let p = this.pending.get(m.s);
        if (!p) this.pending.set(m.s, (p = []));
        p.push(m);
      }
    }
  }

  // ---- messages from other nodes -------------------------------------------------------------

  private onNodeMessage(text: string): void {
    if (this.closed) return;
    if (text.length > MAX_NODE_MESSAGE) {
      this.metrics.crossNode('in', 'bad');
      return;
    }
    let batch: Msg[];
    try {
      batch = JSON.parse(text) as Msg[];
      if (!Array.isArray(batch)) throw new Error('not a batch');
    } catch {
      this.metrics.crossNode('in', 'bad');
      return;
    }
    for (const m of batch) {
      try {
        this.onOne(m);
      } catch (e) {
        this.metrics.crossNode('in', 'bad');
        this.host.log(`tracker: cluster: bad message from another node: ${String((e as Error)?.message ?? e)}`);
      }
    }
  }

  private onOne(m: Msg): void {
    if (!m || typeof m !== 'object' || typeof m.s !== 'string') throw new Error('no stream');
    if (m.t === 'sig') {
      this.metrics.crossNode('in', 'sig');
      if (typeof m.f === 'string' && typeof m.to === 'string') this.host.relayIn(m.s, m.f, m.to, m.d);
      return;
    }
    if (m.t === 'ev') return this.onEvents(m);
    if (m.t !== 'join' && m.t !== 'leave' && m.t !== 'hb' && m.t !== 'failed' && m.t !== 'complaint') throw new Error(`unknown type ${String((m as { t?: unknown }).t)}`);
    if (typeof m.id !== 'string' || typeof m.n !== 'string' || m.id.length > 64 || m.n.length > 64) throw new Error('no peer');
    const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    if ((m.t === 'join' && !isObj(m.i)) || (m.t === 'hb' && !isObj(m.st)) || ((m.t === 'failed' || m.t === 'complaint') && typeof m.p !== 'string')) throw new Error(`malformed ${m.t}`);
    this.metrics.crossNode('in', m.t);
    const o = this.owned.get(m.s);
    if (o) return this.onControl(o, m);
    // Not (or no longer) the owner: pass it on, a few hops at most.
    if ((m.h ?? 0) >= 3) return;
    this.owners.delete(m.s);
    this.control({ ...m, h: (m.h ?? 0) + 1 });
  }

  private onEvents(m: Extract<Msg, { t: 'ev' }>): void {
    if (typeof m.o !== 'string' || typeof m.e !== 'number' || !Array.isArray(m.v)) throw new Error('bad events');
    for (const x of m.v) {
      const ev = Array.isArray(x) ? (x[0] as { to?: unknown; type?: unknown } | null) : null;
      if (!ev || typeof ev.to !== 'string' || typeof ev.type !== 'string' || (x[1] !== undefined && !Array.isArray(x[1]))) throw new Error('bad event');
    }
    this.metrics.crossNode('in', 'ev', m.v.length);
    if (this.owned.has(m.s)) return; // a deposed owner still talking; this node owns it now
    const known = this.owners.get(m.s);
    if (known && known.token !== m.o && m.e <= known.epoch) {
      this.metrics.staleDropped += m.v.length;
      return;
    }
    if (known && known.token === m.o && m.e < known.epoch) {
      this.metrics.staleDropped += m.v.length;
      return;
    }
    if (!known || known.token !== m.o) this.setOwner(m.s, m.o, m.e);
    else known.epoch = m.e;
    let gone: Set<string> | null = null;
    for (const [ev, routes] of m.v) {
      if (!this.host.deliver(m.s, ev, routes) && ev.type !== 'close' && ev.type !== 'admit') (gone ??= new Set()).add(ev.to);
    }
    // Events for peers that left this node meanwhile: the owner forgets them.
    for (const id of gone ?? []) this.control({ t: 'leave', s: m.s, id, n: this.nodeId });
  }

  // ---- periodic work -------------------------------------------------------------------------

  /**
   * While the engine is down, heartbeats of peers on other nodes cannot arrive: the owner renews
   * them itself, so their roles and membership survive the outage (their nodes still serve them,
   * and their links carry the stream). Runs every 500 ms; does nothing while the engine is up.
   */
  private keepRemoteAlive(): void {
    if (this.backend.state !== 'down' || this.closed) return;
    const now = this.clock.now();
    for (const o of this.owned.values()) {
      for (const [id, n] of o.members) if (n !== this.nodeId) o.room.heartbeat(id, {}, now);
      this.dispatch(o.room);
    }
  }

  /** Renews leases, notices lost or expired owners, writes snapshots. Runs every renewMs. */
  private renew(): void {
    if (this.renewing || this.closed) return;
    this.renewing = true;
    void this.renewNow().finally(() => (this.renewing = false));
  }

  private async renewNow(): Promise<void> {
    const st = this.backend.store;
    try {
      if (!(await st.renewLease(this.aliveKey(this.nodeId), this.token, this.leaseMs))) await st.acquireLease(this.aliveKey(this.nodeId), this.token, this.leaseMs);
    } catch {
      return; // the engine is down: keep serving local peers, reconcile when it is back
    }
    // Nodes hosting members of owned streams: a node that died takes its peers with it at once
    // (they reconnect elsewhere), instead of after the peer timeout.
    const nodes = new Set<string>();
    for (const o of this.owned.values()) for (const n of o.members.values()) if (n !== this.nodeId) nodes.add(n);
    const dead = new Set<string>();
    for (const n of nodes) {
      try {
        if ((await st.get(this.aliveKey(n))) === null) dead.add(n);
      } catch {
        return;
      }
    }
    if (dead.size) {
      const now = this.clock.now();
      for (const o of this.owned.values()) {
        let gone = 0;
        for (const [id, n] of [...o.members]) {
          if (!dead.has(n)) continue;
          o.room.leave(id, now);
          this.forget(o, id);
          gone++;
        }
        if (gone) this.dispatch(o.room);
      }
    }
    await Promise.all([...this.owned.entries()].map(async ([s, o]) => {
      try {
        let held = await st.renewLease(this.ownerKey(s), o.token, this.leaseMs);
        if (!held) {
          // Lost (expired while cut off, or the engine restarted empty): take it again if free.
          held = await st.acquireLease(this.ownerKey(s), o.token, this.leaseMs);
          if (held) {
            const cur = await st.get(this.epochKey(s));
            const next = Math.max(Number(cur ?? 0) || 0, o.epoch) + 1;
            if (await st.compareAndSet(this.epochKey(s), cur, String(next))) o.epoch = next;
            for (const id of o.members.keys()) o.dirty.add(id);
            o.metaWritten = '';
            this.owners.set(s, { token: o.token, node: this.nodeId, epoch: o.epoch });
            this.metrics.ownership('reacquired');
          }
        }
        if (!held) {
          this.metrics.ownership('lost');
          const token = await st.get(this.ownerKey(s));
          await this.drop(s, o, false);
          if (token) this.owners.set(s, { token, node: tokenNode(token), epoch: o.epoch });
          this.rejoinLocal(s);
          return;
        }
        await this.writeSnapshot(s, o);
      } catch {
        // Engine down: keep the room, try again next time.
      }
    }));
    // Streams this node serves but does not own: is their owner still there?
    const hosted = this.host.hostedStreams();
    for (const s of hosted) {
      if (this.owned.has(s) || this.resolving.has(s)) continue;
      try {
        const token = await st.get(this.ownerKey(s));
        const known = this.owners.get(s);
        if (token === null) {
          if (await this.tryOwn(s)) continue;
        } else if (token !== known?.token && token !== this.token) this.setOwner(s, token, known?.epoch ?? 0);
      } catch {
        return;
      }
      if (this.pending.has(s)) void this.resolve(s);
    }
    for (const s of this.owners.keys()) if (!this.owned.has(s) && !this.pending.has(s) && !hosted.has(s)) this.owners.delete(s);
  }
}

function withAnnounce(lm: LocalMember): JoinInfo {
  const a: NonNullable<JoinInfo['announce']> = {};
  if (lm.holderKeys.length) a.holderKeys = lm.holderKeys;
  if (lm.producerGroups.length) a.producerGroups = lm.producerGroups;
  if (lm.neighbours.length) a.neighbours = lm.neighbours.slice(0, 64);
  if (lm.mode) a.mode = lm.mode;
  return Object.keys(a).length ? { ...lm.info, announce: a } : lm.info;
}
