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
import type { JoinInfo, PeerStats, Room, RoomConfig, RoomEvent } from './room.ts';
import type { NeighbourInfo, SwarmMode } from './messages.ts';
import type { TrackerClock } from './server-config.ts';
import { ClusterMetrics } from './cluster-metrics.ts';

/** What the owner tells a node about a join it forwarded. */
export type AdmitEvent = { type: 'admit'; to: string; ok: boolean; code?: string; message?: string; quiet?: boolean };
export type NodeEvent = RoomEvent | AdmitEvent;
/** The stream's owner tells a peer's node which cell the peer goes to (never reaches the peer). */
type CellEvent = { type: 'cell'; to: string; cell: number; node: string };
type WireEvent = NodeEvent | CellEvent;

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
  makeRoom(streamId: string, broadcaster: boolean, cell?: { key: string; room: Partial<RoomConfig> }): Room;
  /** Hands an owner's event to a local peer; false when the peer is not (or no longer) here. */
  deliver(streamId: string, ev: NodeEvent, routes: string[] | undefined): boolean;
  /** A signal from a peer on another node to a local peer. */
  relayIn(streamId: string, from: string, to: string, data: unknown): void;
  /** This node's peers of a stream. */
  localMembers(streamId: string): LocalMember[];
  /** One of this node's peers of a stream, null when it is not here. */
  localMember(streamId: string, id: string): LocalMember | null;
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
  /** Members per cell of a stream split over several nodes; 0 or absent: streams never split. */
  cellSize?: number;
  /** Cells per stream at most (capped by the key and group blocks: 4 by default). */
  maxCells?: number;
  /** Producer groups per cell (default 8: 64 feed keys, enough to decode). */
  cellGroups?: number;
  /** Segment keys per cell (default 11, the room's n1). */
  cellKeys?: number;
  /** Cross-cell neighbours a peer asks for (default 2); a peer accepts up to twice as many. */
  crossLinks?: number;
}

const NODE_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
/** Largest message accepted from another node; a batch is split before it gets there. */
const MAX_NODE_MESSAGE = 4 << 20;
const MAX_BATCH = 400;
/** Messages waiting per stream while its owner is being found. */
const MAX_PENDING = 20_000;
/** Members a cell lists for cross-cell links, and link requests a cell owner sends, per renewal. */
const XDIR_MAX = 64;
const XREQ_MAX = 256;
/** Nodes read from the registry at most. */
const MAX_NODES = 256;

/** A stream's cell k as a unit of ownership: the stream id itself for cell 0, `<streamId>#k` otherwise. */
export const unitOf = (s: string, k: number): string => (k === 0 ? s : `${s}#${k}`);
export const streamOf = (u: string): string => {
  const i = u.indexOf('#');
  return i < 0 ? u : u.slice(0, i);
};
export const cellOf = (u: string): number => {
  const i = u.indexOf('#');
  return i < 0 ? 0 : Number(u.slice(i + 1)) || 0;
};

/** A cell's block: its segment keys and producer groups, disjoint from every other cell's. */
export interface CellBlock {
  keys: number[];
  groups: number[];
  /** The node the stream's owner sent the cell's first joins to. */
  node: string;
}

/** A cross-cell link of a member: the partner's node and unit, and whether the member makes the offer. */
interface XLink {
  node: string;
  unit: string;
  init: boolean;
}

/** What the owner of a split stream's cell 0 keeps of its cells. */
interface CellMap {
  cells: CellBlock[];
  /** Members per cell, as last reported by the cell owners plus the joins sent there since. */
  load: number[];
}

/** A local broadcaster of a split stream: the units it is a member of, and each unit's neighbour list. */
interface LocalCaster {
  units: Set<string>;
  lists: Map<string, { n: NeighbourInfo[]; r: string[] }>;
  /** Each unit's last swarm summary: the broadcaster learns the holders of every cell from their union. */
  swarms: Map<string, SwarmEvent>;
}
type SwarmEvent = Extract<RoomEvent, { type: 'swarm' }>;

interface Owner {
  token: string;
  node: string;
  epoch: number;
}

interface Owned {
  /** The unit: the stream id, or `<streamId>#k` for cell k. */
  unit: string;
  stream: string;
  cell: number;
  room: Room;
  token: string;
  epoch: number;
  /** Wall-clock time (Unix ms) this node became the owner: /health reports it, so a takeover's time is the owner's own, not the time a busy node took to answer. */
  sinceUnixMs: number;
  /** Member → the node it is connected to. */
  members: Map<string, string>;
  info: Map<string, JoinInfo>;
  dirty: Set<string>;
  removed: Set<string>;
  metaWritten: string;
  /** The broadcaster's id while it is a member. */
  bc: string | null;
  /** Cell 0 of a stream that may split: its cells. */
  cells: CellMap | null;
  /** Cross-cell links of members. */
  xl: Map<string, Map<string, XLink>>;
  /** Members with a cross-cell link request out (cleared every renewal). */
  xlAsked: Set<string>;
  /** The last write of the cell map: placements are told after it. */
  cellWrite?: Promise<void>;
}

type Msg =
  | { t: 'join'; s: string; id: string; n: string; i: JoinInfo; r?: 1; h?: number }
  | { t: 'leave'; s: string; id: string; n: string; end?: 1; h?: number }
  | { t: 'hb'; s: string; id: string; n: string; st: PeerStats; h?: number }
  | { t: 'failed'; s: string; id: string; n: string; p: string; h?: number }
  | { t: 'complaint'; s: string; id: string; n: string; p: string; h?: number; k?: number }
  | { t: 'ev'; s: string; o: string; e: number; v: Array<[NodeEvent, string[]?]> }
  | { t: 'sig'; s: string; f: string; to: string; d: unknown }
  // Cross-cell links between owners: s is the receiving unit, id its member, p the other cell's member on pn in unit pu.
  | { t: 'xl'; s: string; id: string; n: string; p: string; pn: string; pu: string; op: 'req' | 'ok' | 'no' | 'del'; h?: number };
type Control = Extract<Msg, { t: 'join' | 'leave' | 'hb' | 'failed' | 'complaint' | 'xl' }>;

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
  private leasing = false;
  /** A takeover check (probeOrphans) is under way. */
  private probing = false;
  private closed = false;
  private readonly cellSize: number;
  private readonly maxCells: number;
  private readonly cellGroups: number;
  private readonly cellKeys: number;
  private readonly crossLinks: number;
  /** Owned rooms → their unit. */
  private readonly unitByRoom = new WeakMap<Room, string>();
  /** Local peers in a cell ≥ 1 → that unit. */
  private readonly peerUnit = new Map<string, string>();
  /** Local broadcasters → the units they are members of. */
  private readonly casters = new Map<string, LocalCaster>();
  /** Live nodes (from the registry, read at each renewal while cells are on). */
  private liveNodes: string[] = [];

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
    this.cellSize = Math.max(0, Math.floor(options.cellSize ?? 0));
    this.cellGroups = options.cellGroups ?? 8;
    this.cellKeys = options.cellKeys ?? 11;
    this.crossLinks = options.crossLinks ?? 2;
    if (!Number.isInteger(this.cellGroups) || this.cellGroups < 1 || this.cellGroups > 32 || !Number.isInteger(this.cellKeys) || this.cellKeys < 8 || this.cellKeys > 256 || !Number.isInteger(this.crossLinks) || this.crossLinks < 0 || this.crossLinks > 8) {
      throw new P2PError('BAD_CONFIG', 'cellGroups must be 1…32, cellKeys 8…256 and crossLinks 0…8');
    }
    const ceiling = Math.min(Math.floor(256 / this.cellKeys), Math.floor(32 / this.cellGroups));
    this.maxCells = Math.min(ceiling, Math.max(1, Math.floor(options.maxCells ?? ceiling)));
    if (this.cellSize > 0 && this.maxCells < 2) throw new P2PError('BAD_CONFIG', `a stream cannot split with ${this.cellKeys} keys and ${this.cellGroups} groups per cell, or maxCells ${options.maxCells}`);
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

  // A unit's keys: cell k ≥ 1 adds '#k' after the braces, so a stream's cells share its slot.
  private unitKey = (kind: string, u: string) => {
    const k = cellOf(u);
    return `${this.prefix}${kind}:{${streamOf(u)}}${k ? `#${k}` : ''}`;
  };
  private ownerKey = (u: string) => this.unitKey('owner', u);
  private epochKey = (u: string) => this.unitKey('epoch', u);
  private snapKey = (u: string) => this.unitKey('snap', u);
  private cellsKey = (s: string) => `${this.prefix}cells:{${s}}`;
  private loadKey = (s: string) => `${this.prefix}load:{${s}}`;
  private xdirKey = (s: string) => `${this.prefix}xdir:{${s}}`;
  private nodesKey = () => `${this.prefix}nodes`;
  private aliveKey = (node: string) => `${this.prefix}alive:${node}`;
  private channel = (node: string) => `${this.prefix}node:${node}`;

  /** Subscribes to this node's channel and claims the node id; rejects with BAD_CONFIG when another live node uses it. */
  async start(): Promise<void> {
    const alive = await this.backend.store.acquireLease(this.aliveKey(this.nodeId), this.token, this.leaseMs);
    if (!alive) throw new P2PError('BAD_CONFIG', `another tracker node runs with the node id ${this.nodeId}`);
    await this.backend.broker.subscribe(this.channel(this.nodeId), (m) => this.onNodeMessage(m));
    if (this.cellSize > 0) await this.backend.store.writeHash(this.nodesKey(), { [this.nodeId]: this.token }, []);
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
    if (this.cellSize > 0) await s.writeHash(this.nodesKey(), {}, [this.nodeId]).catch(() => {});
    await this.backend.broker.unsubscribe(this.channel(this.nodeId)).catch(() => {});
  }

  /** Stops without any cleanup, as if the process died (tests). */
  halt(): void {
    this.closed = true;
    if (this.timer !== null) this.clock.clearInterval(this.timer);
    if (this.keepTimer !== null) this.clock.clearInterval(this.keepTimer);
    this.outbox.clear();
  }

  /** Live nodes as last read from the registry (cells on). */
  knownNodes(): string[] {
    return [...this.liveNodes];
  }

  /** Owned units: stream ids, and `<streamId>#k` for cells k ≥ 1. */
  ownedStreams(): string[] {
    return [...this.owned.keys()];
  }

  ownerOf(streamId: string): { node: string; epoch: number; sinceUnixMs?: number } | null {
    const o = this.owned.get(streamId);
    if (o) return { node: this.nodeId, epoch: o.epoch, sinceUnixMs: o.sinceUnixMs };
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

  // Peers of a split stream: a viewer's messages go to its cell; a broadcaster's to every cell it
  // is a member of (a report about a neighbour to the cell that neighbour came from).

  /** A new join of a local peer: to the stream's owner, which places it in a cell. */
  join(s: string, id: string, info: JoinInfo): void {
    this.peerUnit.delete(id);
    this.casters.delete(id);
    if (info.broadcaster && this.cellSize > 0) this.casters.set(id, { units: new Set([s]), lists: new Map(), swarms: new Map() });
    this.joinUnit(s, id, info, false);
  }
  private joinUnit(u: string, id: string, info: JoinInfo, rejoin: boolean): void {
    this.control({ t: 'join', s: u, id, n: this.nodeId, i: info, ...(rejoin ? { r: 1 as const } : {}) });
  }
  /** The units a local peer is a member of. */
  private unitsOf(s: string, id: string): Iterable<string> {
    const c = this.casters.get(id);
    if (c) return c.units;
    return [this.peerUnit.get(id) ?? s];
  }
  leave(s: string, id: string, ended: boolean): void {
    const units = [...this.unitsOf(s, id)];
    this.peerUnit.delete(id);
    this.casters.delete(id);
    for (const u of units) this.control({ t: 'leave', s: u, id, n: this.nodeId, ...(ended ? { end: 1 as const } : {}) });
  }
  heartbeat(s: string, id: string, st: PeerStats): void {
    for (const u of this.unitsOf(s, id)) this.control({ t: 'hb', s: u, id, n: this.nodeId, st });
  }
  failed(s: string, id: string, p: string): void {
    this.control({ t: 'failed', s: this.unitOfNeighbour(s, id, p), id, n: this.nodeId, p });
  }
  complaint(s: string, id: string, p: string, key?: number): void {
    this.control({ t: 'complaint', s: this.unitOfNeighbour(s, id, p), id, n: this.nodeId, p, ...(key !== undefined ? { k: key } : {}) });
  }
  /** The unit whose neighbour list gave local peer `id` its neighbour `p`. */
  private unitOfNeighbour(s: string, id: string, p: string): string {
    const c = this.casters.get(id);
    if (c) {
      for (const [u, l] of c.lists) if (l.n.some((x) => x.peerId === p)) return u;
      return s;
    }
    return this.peerUnit.get(id) ?? s;
  }
  /** Whether local peer `id` belongs to unit `u`. */
  private inUnit(u: string, id: string): boolean {
    const c = this.casters.get(id);
    if (c) return c.units.has(u);
    return (this.peerUnit.get(id) ?? streamOf(u)) === u;
  }
  /** This node's peers of unit `u`. */
  private localMembersOf(u: string): LocalMember[] {
    return this.host.localMembers(streamOf(u)).filter((lm) => this.inUnit(u, lm.id));
  }

  /** A signal from a local peer to a peer on `node`. */
  relay(node: string, s: string, from: string, to: string, data: unknown): void {
    this.metrics.crossNode('out', 'sig');
    this.send(node, { t: 'sig', s, f: from, to, d: data });
  }

  /** The owner's side of dispatch: every event of an owned room goes to its peer's node. */
  dispatch(room: Room): void {
    const u = this.unitByRoom.get(room);
    const o = u === undefined ? undefined : this.owned.get(u);
    if (!o || o.room !== room || u === undefined) {
      room.pollEvents(); // a room this node no longer owns says nothing
      return;
    }
    const batches = new Map<string, Array<[WireEvent, string[]?]>>();
    for (const ev of room.pollEvents()) this.route(u, o, ev, batches);
    this.sendEvents(u, o, batches);
    if (room.size === 0) void this.drop(u, o, true);
  }

  // ---- owner side ----------------------------------------------------------------------------

  private route(u: string, o: Owned, ev: WireEvent, batches: Map<string, Array<[WireEvent, string[]?]>>, node?: string): void {
    node ??= o.members.get(ev.to) ?? this.nodeId;
    if (ev.type === 'roles') o.dirty.add(ev.to);
    let routes: string[] | undefined;
    if (ev.type === 'neighbours') {
      // A member's cross-cell links ride with its neighbour list (the cell-k side makes the offer).
      const x = o.xl.get(ev.to);
      if (x?.size) ev = { ...ev, neighbours: ev.neighbours.concat([...x].map(([peerId, l]) => ({ peerId, reasons: ['swarm' as const], initiator: l.init }))) };
      routes = ev.neighbours.map((n) => o.members.get(n.peerId) ?? x?.get(n.peerId)?.node ?? '');
    }
    if (ev.type === 'close') this.forget(o, ev.to);
    if (node === this.nodeId) {
      this.deliverLocal(u, ev, routes);
      return;
    }
    let b = batches.get(node);
    if (!b) batches.set(node, (b = []));
    b.push(routes ? [ev, routes] : [ev]);
  }

  private sendEvents(u: string, o: Owned, batches: Map<string, Array<[WireEvent, string[]?]>>): void {
    for (const [node, v] of batches) {
      this.metrics.crossNode('out', 'ev', v.length);
      for (let i = 0; i < v.length; i += MAX_BATCH) this.send(node, { t: 'ev', s: u, o: o.token, e: o.epoch, v: v.slice(i, i + MAX_BATCH) as Array<[NodeEvent, string[]?]> });
    }
  }

  private forget(o: Owned, id: string): void {
    o.members.delete(id);
    o.info.delete(id);
    o.dirty.delete(id);
    o.removed.add(id);
    if (o.bc === id) o.bc = null;
    const x = o.xl.get(id);
    if (x) {
      o.xl.delete(id);
      for (const [p, l] of x) this.control({ t: 'xl', s: l.unit, id: p, n: this.nodeId, p: id, pn: '', pu: o.unit, op: 'del' });
    }
  }

  /** A new (not yet placed) peer of a stream that may split: the cell it goes to (0: this room). */
  private place(o: Owned, m: Extract<Control, { t: 'join' }>): number {
    if (this.cellSize <= 0 || o.cell !== 0 || m.i.broadcaster || m.r) return 0;
    const cm = (o.cells ??= { cells: [this.blockOf(0, this.nodeId)], load: [0] });
    cm.load[0] = o.room.size;
    if (cm.cells.length === 1 && o.room.size < this.cellSize) return 0;
    let best = -1;
    for (let k = 1; k < cm.cells.length; k++) if (cm.load[k] < this.cellSize && (best < 0 || cm.load[k] < cm.load[best])) best = k;
    if (best < 0 && cm.cells.length < this.maxCells) best = this.openCell(o, cm);
    if (best < 0) {
      // Every cell is full: the least loaded takes it (its room's maxPeers still bounds it).
      best = 0;
      for (let k = 1; k < cm.cells.length; k++) if (cm.load[k] < cm.load[best]) best = k;
    }
    if (best > 0) cm.load[best]++;
    return best;
  }

  /** The block of cell k: keys k·n1 … and groups k·g …, disjoint from every other cell's. */
  private blockOf(k: number, node: string): CellBlock {
    return {
      keys: Array.from({ length: this.cellKeys }, (_, i) => k * this.cellKeys + i),
      groups: Array.from({ length: this.cellGroups }, (_, i) => k * this.cellGroups + i),
      node,
    };
  }

  /** Opens the next cell: its block and preferred node go into the cell map (fenced by the stream's lease). */
  private openCell(o: Owned, cm: CellMap): number {
    const k = cm.cells.length;
    const block = this.blockOf(k, this.nodeId);
    cm.cells.push(block);
    cm.load.push(0);
    this.metrics.cellsOpened++;
    const st = this.backend.store;
    o.cellWrite = (o.cellWrite ?? Promise.resolve())
      .then(async () => {
        // The live node holding the fewest cells of this stream (this node holds cell 0).
        await this.refreshNodes().catch(() => {});
        const held = new Map<string, number>();
        for (const c of cm.cells) if (c !== block) held.set(c.node, (held.get(c.node) ?? 0) + 1);
        // Ties go to the node owning the fewest units this node knows of (streams and cells of any stream).
        const known = new Map<string, number>([[this.nodeId, this.owned.size]]);
        for (const w of this.owners.values()) if (w.token) known.set(w.node, (known.get(w.node) ?? 0) + 1);
        const cost = (n: string) => (held.get(n) ?? 0) * 1e6 + (known.get(n) ?? 0);
        for (const n of this.liveNodes) if (cost(n) < cost(block.node)) block.node = n;
        await st.writeHash(this.cellsKey(o.stream), { [`c:${k}`]: JSON.stringify(block) }, [], { key: this.ownerKey(o.unit), value: o.token });
        this.host.log(`tracker: cluster: ${o.stream.slice(0, 12)}… splits: cell ${k} (keys ${block.keys[0]}…${block.keys[block.keys.length - 1]}, groups ${block.groups[0]}…${block.groups[block.groups.length - 1]}) goes to ${block.node}`);
      })
      .catch(() => {});
    // The broadcaster joins every cell.
    if (o.bc) this.tellCell(o, o.bc, o.members.get(o.bc) ?? this.nodeId, k);
    return k;
  }

  /** Tells the node of `id` that its peer goes to (or, a broadcaster, also joins) cell k, once the cell map is written. */
  private tellCell(o: Owned, id: string, node: string, k: number): void {
    void (o.cellWrite ?? Promise.resolve()).then(() => {
      if (this.owned.get(o.unit) !== o) return;
      const ev: CellEvent = { type: 'cell', to: id, cell: k, node: o.cells?.cells[k]?.node ?? this.nodeId };
      const batches = new Map<string, Array<[WireEvent, string[]?]>>();
      this.route(o.unit, o, ev, batches, node);
      this.sendEvents(o.unit, o, batches);
    });
  }

  /** Sends a member's neighbour list again (its cross-cell links changed). */
  private resendNeighbours(o: Owned, id: string): void {
    if (!o.members.has(id)) return;
    const batches = new Map<string, Array<[WireEvent, string[]?]>>();
    this.route(o.unit, o, { type: 'neighbours', to: id, neighbours: o.room.neighboursOf(id) }, batches);
    this.sendEvents(o.unit, o, batches);
  }

  /** Cross-cell links between the owners of two cells. */
  private onXl(o: Owned, m: Extract<Control, { t: 'xl' }>): void {
    const mine = o.xl.get(m.id);
    if (m.op === 'req') {
      const ok = o.members.has(m.id) && m.id !== o.bc && (mine?.size ?? 0) < 2 * this.crossLinks && !mine?.has(m.p);
      if (ok) {
        let x = mine;
        if (!x) o.xl.set(m.id, (x = new Map()));
        x.set(m.p, { node: m.pn, unit: m.pu, init: false });
        this.resendNeighbours(o, m.id);
      }
      this.control({ t: 'xl', s: m.pu, id: m.p, n: this.nodeId, p: m.id, pn: o.members.get(m.id) ?? '', pu: o.unit, op: ok ? 'ok' : 'no' });
    } else if (m.op === 'ok') {
      o.xlAsked.delete(m.id);
      if (o.members.has(m.id) && (mine?.size ?? 0) < this.crossLinks && !mine?.has(m.p) && m.pn) {
        let x = mine;
        if (!x) o.xl.set(m.id, (x = new Map()));
        x.set(m.p, { node: m.pn, unit: m.pu, init: true });
        this.resendNeighbours(o, m.id);
      } else this.control({ t: 'xl', s: m.pu, id: m.p, n: this.nodeId, p: m.id, pn: '', pu: o.unit, op: 'del' });
    } else if (m.op === 'no') o.xlAsked.delete(m.id);
    else if (mine?.delete(m.p)) {
      if (!mine.size) o.xl.delete(m.id);
      this.resendNeighbours(o, m.id);
    }
  }

  /** Runs a control message on an owned unit. */
  private onControl(o: Owned, m: Control): void {
    if (m.t === 'xl') return this.onXl(o, m);
    const room = o.room;
    const u = o.unit;
    const now = this.clock.now();
    const batches = new Map<string, Array<[WireEvent, string[]?]>>();
    const at = o.members.get(m.id);
    if (m.t === 'join') {
      if (at !== undefined) {
        // Already a member through this node (restored from the snapshot, or joined twice while
        // the owner changed): admitted as it is.
        if (at === m.n) {
          this.route(u, o, { type: 'admit', to: m.id, ok: true, quiet: !!m.r }, batches);
          this.sendEvents(u, o, batches);
          return;
        }
        // The same peer connected again (elsewhere, or its old socket is half-open): the new one wins.
        room.leave(m.id, now);
        this.route(u, o, { type: 'close', to: m.id, reason: 'replaced' }, batches);
      }
      const k = this.place(o, m);
      if (k > 0) {
        // A split stream: the peer's node sends the join to its cell.
        for (const ev of room.pollEvents()) this.route(u, o, ev, batches);
        this.sendEvents(u, o, batches);
        this.tellCell(o, m.id, m.n, k);
        return;
      }
      try {
        room.join(m.id, m.i, now);
      } catch (e) {
        this.route(u, o, { type: 'admit', to: m.id, ok: false, code: isP2PError(e) ? e.code : 'JOIN_FAILED', message: String((e as Error).message) }, batches, m.n);
        // Events of the leave above (if any) still go out.
        for (const ev of room.pollEvents()) this.route(u, o, ev, batches);
        this.sendEvents(u, o, batches);
        if (room.size === 0) void this.drop(u, o, true);
        return;
      }
      o.members.set(m.id, m.n);
      o.removed.delete(m.id);
      const { announce: _a, ...info } = m.i;
      o.info.set(m.id, info);
      o.dirty.add(m.id);
      if (m.i.broadcaster) {
        o.bc = m.id;
        // The broadcaster of a split stream joins every cell.
        for (let k2 = 1; k2 < (o.cells?.cells.length ?? 0); k2++) this.tellCell(o, m.id, m.n, k2);
      }
      this.route(u, o, { type: 'admit', to: m.id, ok: true, quiet: !!m.r }, batches);
    } else {
      // Only the node a peer is connected to speaks for it.
      if (at !== m.n) return;
      if (m.t === 'leave') {
        room.leave(m.id, now, !!m.end);
        this.forget(o, m.id);
      } else if (m.t === 'hb') room.heartbeat(m.id, m.st, now);
      else if (m.t === 'failed') {
        const x = o.xl.get(m.id);
        if (x?.has(m.p)) {
          // A cross-cell link failed: both sides drop it (new ones are made at the next renewals).
          const l = x.get(m.p) as XLink;
          this.onXl(o, { t: 'xl', s: u, id: m.id, n: this.nodeId, p: m.p, pn: '', pu: l.unit, op: 'del' });
          this.control({ t: 'xl', s: l.unit, id: m.p, n: this.nodeId, p: m.id, pn: '', pu: u, op: 'del' });
          return;
        }
        if (room.areNeighbours(m.id, m.p)) room.reportFailedPair(m.id, m.p, now);
      } else room.complain(m.id, m.p, now, { key: typeof m.k === 'number' ? m.k : undefined });
    }
    for (const ev of room.pollEvents()) this.route(u, o, ev, batches);
    this.sendEvents(u, o, batches);
    if (room.size === 0) void this.drop(u, o, true);
  }

  /** Gives up an owned unit: released when empty, or taken from us (lost) by another owner. */
  private async drop(u: string, o: Owned, release: boolean): Promise<void> {
    if (this.owned.get(u) !== o) return;
    this.owned.delete(u);
    if (this.host.rooms.get(u) === o.room) this.host.rooms.delete(u);
    this.owners.delete(u);
    for (const id of [...o.xl.keys()]) this.forget(o, id);
    if (!release) return;
    const fence = { key: this.ownerKey(u), value: o.token };
    const st = this.backend.store;
    try {
      await st.delete([this.snapKey(u)], fence);
      if (o.cell > 0) {
        await st.writeHash(this.loadKey(o.stream), {}, [`c:${o.cell}`], fence);
        await st.writeHash(this.xdirKey(o.stream), {}, [`c:${o.cell}`], fence);
      } else if (o.cells && o.cells.load.every((n, k) => k === 0 || n <= 0)) {
        // No cell has members left (as last reported): the stream's cell state goes with it.
        await st.delete([this.cellsKey(o.stream), this.loadKey(o.stream), this.xdirKey(o.stream)], fence);
      }
      await st.releaseLease(this.ownerKey(u), o.token);
    } catch {
      // The lease expires on its own.
    }
  }

  /** Takes the unit's ownership lease if it is free and builds the room from the snapshot. */
  private async tryOwn(u: string): Promise<boolean> {
    const st = this.backend.store;
    if (!(await st.acquireLease(this.ownerKey(u), this.token, this.leaseMs))) return false;
    try {
      // The epoch only grows: above the stored one and above any this node has seen.
      const known = this.owners.get(u)?.epoch ?? 0;
      let epoch = 0;
      for (let i = 0; i < 5 && epoch === 0; i++) {
        const cur = await st.get(this.epochKey(u));
        const next = Math.max(Number(cur ?? 0) || 0, known) + 1;
        if (await st.compareAndSet(this.epochKey(u), cur, String(next))) epoch = next;
      }
      if (epoch === 0) throw new Error('epoch contention');
      // A split stream: cell k takes its block from the cell map the stream's owner wrote; cell 0
      // gets its cells back.
      let cells: CellMap | null = null;
      let block: CellBlock | null = null;
      if (this.cellSize > 0) {
        const map = await st.readHash(this.cellsKey(streamOf(u)));
        const k = cellOf(u);
        if (k > 0) {
          block = parseBlock(map[`c:${k}`]);
          if (!block) throw new Error(`cell ${k} is not in the stream's cell map`);
        } else {
          cells = { cells: [this.blockOf(0, this.nodeId)], load: [0] };
          for (let j = 1; j < this.maxCells; j++) {
            const b = parseBlock(map[`c:${j}`]);
            if (!b) break;
            cells.cells.push(b);
            cells.load.push(0);
          }
          const load = await st.readHash(this.loadKey(u));
          for (let j = 1; j < cells.cells.length; j++) cells.load[j] = Number(load[`c:${j}`] ?? 0) || 0;
        }
      }
      const snap = await st.readHash(this.snapKey(u));
      if (this.closed || this.owned.has(u)) return true;
      this.adopt(u, epoch, snap, await this.aliveNodes(snap), cells, block);
      return true;
    } catch (e) {
      await st.releaseLease(this.ownerKey(u), this.token).catch(() => {});
      this.host.log(`tracker: cluster: could not take over ${u.slice(0, 12)}…${cellOf(u) ? `#${cellOf(u)}` : ''}: ${(e as Error).message}`);
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

  /** Becomes the unit's owner at `epoch`: room from the snapshot's members on live nodes, then this node's own peers. */
  private adopt(u: string, epoch: number, snap: Record<string, string>, alive: Set<string>, cells: CellMap | null, block: CellBlock | null): void {
    const s = streamOf(u);
    const k = cellOf(u);
    let room: Room;
    try {
      const b = block ?? (this.cellSize > 0 ? this.blockOf(0, this.nodeId) : null);
      room = this.host.makeRoom(s, true, b ? { key: u, room: { segmentKeys: b.keys, firstProducerGroup: b.groups[0], producerGroups: b.groups.length, maxProducers: Math.max(b.groups.length, 96) } } : undefined);
    } catch (e) {
      this.host.log(`tracker: cluster: cannot hold ${s.slice(0, 12)}…: ${(e as Error).message}`);
      void this.backend.store.releaseLease(this.ownerKey(u), this.token).catch(() => {});
      // This node's peers waiting for the stream get the refusal instead of waiting forever.
      const q = this.pending.get(u);
      this.pending.delete(u);
      for (const m of q ?? []) {
        if (m.t === 'join' && m.n === this.nodeId) this.deliverLocal(u, { type: 'admit', to: m.id, ok: false, code: isP2PError(e) ? e.code : 'JOIN_FAILED', message: String((e as Error).message) }, undefined);
      }
      return;
    }
    const o: Owned = { unit: u, stream: s, cell: k, room, token: this.token, epoch, sinceUnixMs: Date.now(), members: new Map(), info: new Map(), dirty: new Set(), removed: new Set(), metaWritten: '', bc: null, cells, xl: new Map(), xlAsked: new Set() };
    this.unitByRoom.set(room, u);
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
        if (m.i.broadcaster) o.bc = m.id;
      } catch {
        // Full room or duplicate: that peer joins again through its node.
      }
    }
    this.owned.set(u, o);
    this.host.rooms.set(u, room);
    this.owners.set(u, { token: this.token, node: this.nodeId, epoch });
    this.metrics.ownership('acquired');
    this.host.log(`tracker: cluster: ${this.nodeId} owns ${s.slice(0, 12)}…${k ? ` cell ${k}` : ''} at epoch ${epoch} (${o.members.size} peers from the snapshot)`);
    // This node's own peers of the unit, then what waited for an owner.
    for (const lm of this.localMembersOf(u)) {
      if (!o.members.has(lm.id)) this.onControl(o, { t: 'join', s: u, id: lm.id, n: this.nodeId, i: withAnnounce(lm), ...(lm.admitted ? { r: 1 as const } : {}) });
    }
    // What waited for an owner runs before the room can be found empty and given up.
    const q = this.pending.get(u);
    this.pending.delete(u);
    for (const m of q ?? []) {
      if (this.owned.get(u) === o) this.onControl(o, m);
      else this.control(m);
    }
    if (this.owned.get(u) !== o) return;
    this.dispatch(room);
    void this.writeSnapshot(u, o);
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
    // A placeholder (the node the stream's owner named for a new cell) is no owner change.
    if (old && old.token !== token && old.token !== '') {
      this.metrics.ownership('moved');
      this.rejoinLocal(s);
    }
  }

  /** The stream has a new owner: this node's peers join it again with what they hold. */
  private rejoinLocal(u: string): void {
    for (const lm of this.localMembersOf(u)) this.joinUnit(u, lm.id, withAnnounce(lm), lm.admitted);
  }

  /** An owner's event for a local peer: a cell placement is acted on here; a broadcaster's neighbour lists of its cells are merged. */
  private deliverLocal(u: string, ev: WireEvent, routes: string[] | undefined): boolean {
    const s = streamOf(u);
    if (ev.type === 'cell') return this.onCell(s, ev);
    const c = this.casters.get(ev.to);
    if (c) {
      if (!c.units.has(u)) return true; // a cell it has left meanwhile
      if (ev.type === 'close' && u === s) this.casters.delete(ev.to);
      if (ev.type === 'neighbours') {
        c.lists.set(u, { n: ev.neighbours, r: routes ?? ev.neighbours.map(() => '') });
        if (c.lists.size > 1) {
          const n: NeighbourInfo[] = [];
          const r: string[] = [];
          for (const l of c.lists.values()) {
            n.push(...l.n);
            r.push(...l.r);
          }
          return this.host.deliver(s, { ...ev, neighbours: n }, r);
        }
      } else if (ev.type === 'swarm') {
        // One summary over the cells: cell 0's mode, every cell's viewers, holders and producers.
        c.swarms.set(u, ev);
        const first = c.swarms.get(s);
        if (c.swarms.size > 1 && first) {
          const all = [...c.swarms.values()];
          return this.host.deliver(s, { ...first, viewers: all.reduce((n, x) => n + x.viewers, 0), holders: all.flatMap((x) => x.holders), producers: all.flatMap((x) => x.producers) }, undefined);
        }
        if (u !== s) return true;
      } else if (u !== s) {
        // Cell 0 speaks for the stream (its state, mode and the admission); a cell that closes
        // the broadcaster only loses it.
        if (ev.type === 'close') {
          c.units.delete(u);
          c.lists.delete(u);
          c.swarms.delete(u);
        }
        return true;
      }
    } else if ((ev.type === 'close' || (ev.type === 'admit' && !ev.ok)) && this.peerUnit.get(ev.to) === u) this.peerUnit.delete(ev.to);
    return this.host.deliver(s, ev, routes);
  }

  /** The stream's owner placed a local peer in cell k (a broadcaster: it joins cell k too). */
  private onCell(s: string, ev: CellEvent): boolean {
    if (!Number.isInteger(ev.cell) || ev.cell < 1 || ev.cell >= this.maxCells || typeof ev.node !== 'string') return false;
    const lm = this.host.localMember(s, ev.to);
    if (!lm) return false;
    const u = unitOf(s, ev.cell);
    const c = this.casters.get(ev.to);
    if (c) {
      if (c.units.has(u)) return true;
      c.units.add(u);
    } else if (lm.info.broadcaster) this.casters.set(ev.to, { units: new Set([s, u]), lists: new Map(), swarms: new Map() });
    else this.peerUnit.set(ev.to, u);
    if (!this.owned.has(u) && !this.owners.has(u) && ev.node) this.owners.set(u, { token: '', node: ev.node, epoch: 0 });
    // What a viewer announced counts only where it fits the cell's block.
    this.joinUnit(u, ev.to, lm.info.broadcaster ? lm.info : withAnnounce(lm), lm.admitted);
    return true;
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
    // A unit is a stream id, or `<streamId>#k` for a cell 1 ≤ k < maxCells.
    if (m.s.includes('#') && (!/^[^#]{1,64}#[1-9][0-9]?$/.test(m.s) || cellOf(m.s) >= this.maxCells)) throw new Error('bad unit');
    if (m.t === 'sig') {
      this.metrics.crossNode('in', 'sig');
      if (typeof m.f === 'string' && typeof m.to === 'string') this.host.relayIn(m.s, m.f, m.to, m.d);
      return;
    }
    if (m.t === 'ev') return this.onEvents(m);
    if (m.t === 'xl') {
      if (typeof m.id !== 'string' || typeof m.p !== 'string' || typeof m.pn !== 'string' || typeof m.pu !== 'string' || m.id.length > 64 || m.p.length > 64 || m.pn.length > 64 || m.pu.length > 80 || !['req', 'ok', 'no', 'del'].includes(m.op)) throw new Error('malformed xl');
      this.metrics.crossNode('in', 'xl');
      const o = this.owned.get(m.s);
      if (o) return this.onControl(o, m);
      if ((m.h ?? 0) >= 3) return;
      this.owners.delete(m.s);
      return this.control({ ...m, h: (m.h ?? 0) + 1 });
    }
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
    for (const [ev, routes] of m.v as Array<[WireEvent, string[]?]>) {
      if (!this.deliverLocal(m.s, ev, routes) && ev.type !== 'close' && ev.type !== 'admit' && ev.type !== 'cell') (gone ??= new Set()).add(ev.to);
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
    if (this.closed) return;
    if (this.renewing) {
      // The previous round is still under way (a loaded machine, a slow engine): the leases are
      // renewed anyway, so a slow round never lets them expire.
      if (this.leasing || this.backend.state !== 'up') return;
      this.leasing = true;
      const st = this.backend.store;
      void Promise.allSettled([
        st.renewLease(this.aliveKey(this.nodeId), this.token, this.leaseMs),
        ...[...this.owned].map(([u, o]) => st.renewLease(this.ownerKey(u), o.token, this.leaseMs)),
      ]).finally(() => (this.leasing = false));
      void this.probeOrphans();
      return;
    }
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
    // The owned leases first: an owner reasserts them before anything else (after an engine
    // restart it must win over nodes that find the lease free).
    const leases = new Map<Owned, Promise<boolean | null>>();
    for (const [s, o] of this.owned) leases.set(o, this.holdLease(s, o).catch(() => null));
    // Nodes hosting members of owned streams: a node that died takes its peers with it at once
    // (they reconnect elsewhere), instead of after the peer timeout. Cross-cell partners too.
    const nodes = new Set<string>();
    for (const o of this.owned.values()) {
      for (const n of o.members.values()) if (n !== this.nodeId) nodes.add(n);
      for (const x of o.xl.values()) for (const l of x.values()) if (l.node !== this.nodeId) nodes.add(l.node);
    }
    const dead = new Set<string>();
    try {
      await Promise.all([...nodes].map(async (n) => {
        if ((await st.get(this.aliveKey(n))) === null) dead.add(n);
      }));
    } catch {
      await Promise.all(leases.values());
      return;
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
        for (const [id, x] of [...o.xl]) {
          let cut = false;
          for (const [p, l] of [...x]) if (dead.has(l.node)) cut = x.delete(p);
          if (!x.size) o.xl.delete(id);
          if (cut) this.resendNeighbours(o, id);
        }
        if (gone) this.dispatch(o.room);
      }
    }
    // Each owned lease's outcome first (a lost one is dropped at once), then the snapshot writes,
    // which may be slow (many members, a loaded engine) and must not hold up the takeover checks
    // below: those run beside them.
    const kept: Owned[] = [];
    await Promise.all([...leases].map(async ([o, lease]) => {
      const s = o.unit;
      try {
        const held = await lease;
        if (held === null || this.owned.get(s) !== o) return; // engine down, or given up meanwhile
        if (!held) {
          this.metrics.ownership('lost');
          const token = await st.get(this.ownerKey(s));
          await this.drop(s, o, false);
          if (token) this.owners.set(s, { token, node: tokenNode(token), epoch: o.epoch });
          this.rejoinLocal(s);
          return;
        }
        kept.push(o);
      } catch {
        // Engine down: keep the room, try again next time.
      }
    }));
    const writes = Promise.all(kept.map(async (o) => {
      try {
        if (this.owned.get(o.unit) !== o) return;
        await this.writeSnapshot(o.unit, o);
        await this.cellWork(o);
      } catch {
        // Engine down: written again next time.
      }
    }));
    try {
      if (this.cellSize > 0) {
        try {
          await this.readNodes();
        } catch {
          return;
        }
      }
      await this.probeOrphans();
    } finally {
      await writes;
    }
  }

  /**
   * Units (streams, cells) this node serves but does not own: is their owner still there? One whose
   * lease is free is taken over. Runs in every renewal round, and on its own when a round is still
   * busy (a loaded node writing many snapshots), so a dead owner's streams are taken over as soon as
   * their leases expire.
   */
  private async probeOrphans(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      const st = this.backend.store;
      const hosted = this.hostedUnits();
      const check = [...hosted].filter((s) => !this.owned.has(s) && !this.resolving.has(s));
      let tokens: Array<string | null>;
      try {
        tokens = await Promise.all(check.map((s) => st.get(this.ownerKey(s))));
      } catch {
        return;
      }
      for (let i = 0; i < check.length; i++) {
        const s = check[i];
        const token = tokens[i];
        if (this.owned.has(s) || this.resolving.has(s)) continue;
        try {
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
    } finally {
      this.probing = false;
    }
  }

  /** Renews an owned lease; one lost (expired while cut off, or the engine restarted empty) is taken again if free, at a higher epoch. */
  private async holdLease(s: string, o: Owned): Promise<boolean> {
    const st = this.backend.store;
    if (await st.renewLease(this.ownerKey(s), o.token, this.leaseMs)) return true;
    if (!(await st.acquireLease(this.ownerKey(s), o.token, this.leaseMs))) return false;
    const cur = await st.get(this.epochKey(s));
    const next = Math.max(Number(cur ?? 0) || 0, o.epoch) + 1;
    if (await st.compareAndSet(this.epochKey(s), cur, String(next))) o.epoch = next;
    for (const id of o.members.keys()) o.dirty.add(id);
    o.metaWritten = '';
    if (this.owned.get(s) === o) this.owners.set(s, { token: o.token, node: this.nodeId, epoch: o.epoch });
    this.metrics.ownership('reacquired');
    return true;
  }

  /** Units with local peers: streams (cell 0) and cells. */
  private hostedUnits(): Set<string> {
    const out = new Set<string>();
    const split = new Set<string>();
    for (const u of this.peerUnit.values()) {
      out.add(u);
      split.add(streamOf(u));
    }
    for (const c of this.casters.values()) for (const u of c.units) out.add(u);
    for (const s of this.host.hostedStreams()) {
      // A stream whose local peers are all in other cells is not hosted as cell 0.
      if (!split.has(s) || out.has(s) || this.host.localMembers(s).some((lm) => this.inUnit(s, lm.id))) out.add(s);
    }
    return out;
  }

  /** The live nodes, from the registry (a node that is gone is taken out of it). */
  private async readNodes(): Promise<void> {
    const st = this.backend.store;
    await st.writeHash(this.nodesKey(), { [this.nodeId]: this.token }, []); // again after an engine restart
    let owner = false;
    for (const o of this.owned.values()) if (o.cell === 0) owner = true;
    if (owner) await this.refreshNodes();
  }

  private async refreshNodes(): Promise<void> {
    const st = this.backend.store;
    const live: string[] = [];
    const entries = Object.entries(await st.readHash(this.nodesKey())).slice(0, MAX_NODES);
    const alive = await Promise.all(entries.map(([n]) => (n === this.nodeId ? Promise.resolve(this.token) : st.get(this.aliveKey(n)))));
    const gone: string[] = [];
    entries.forEach(([n, token], i) => {
      if (n === this.nodeId || alive[i] === token) live.push(n);
      else if (alive[i] === null) gone.push(n);
    });
    if (gone.length) await st.writeHash(this.nodesKey(), {}, gone);
    this.liveNodes = live;
  }

  /**
   * The cells of a split stream, every renewal: a cell owner reports its size; cell 0's owner reads
   * them; every cell lists members with spare cross-cell degree, and the owner of cell k ≥ 1 asks
   * the owner of cell k − 1 for links to those listed there.
   */
  private async cellWork(o: Owned): Promise<void> {
    if (this.cellSize <= 0 || (o.cell === 0 && (o.cells?.cells.length ?? 0) < 2)) return;
    const st = this.backend.store;
    const fence = { key: this.ownerKey(o.unit), value: o.token };
    if (o.cell > 0) await st.writeHash(this.loadKey(o.stream), { [`c:${o.cell}`]: String(o.room.size) }, [], fence);
    else if (o.cells) {
      const load = await st.readHash(this.loadKey(o.stream));
      for (let k = 1; k < o.cells.cells.length; k++) {
        const v = load[`c:${k}`];
        if (v !== undefined) o.cells.load[k] = Number(v) || 0;
      }
    }
    const dir: Array<[string, string]> = [];
    for (const [id, n] of o.members) {
      if (dir.length >= XDIR_MAX) break;
      if (id !== o.bc && (o.xl.get(id)?.size ?? 0) < 2 * this.crossLinks) dir.push([id, n]);
    }
    await st.writeHash(this.xdirKey(o.stream), { [`c:${o.cell}`]: JSON.stringify(dir) }, [], fence);
    if (o.cell === 0 || this.crossLinks === 0) return;
    const other = parseDir((await st.readHash(this.xdirKey(o.stream)))[`c:${o.cell - 1}`]);
    o.xlAsked.clear();
    if (!other.length || this.owned.get(o.unit) !== o) return;
    const to = unitOf(o.stream, o.cell - 1);
    let j = 0;
    for (const [id, n] of o.members) {
      if (o.xlAsked.size >= XREQ_MAX) break;
      const have = o.xl.get(id);
      if (id === o.bc || (have?.size ?? 0) >= this.crossLinks) continue;
      for (let t = 0; t < other.length; t++) {
        const [p] = other[j++ % other.length];
        if (have?.has(p)) continue;
        o.xlAsked.add(id);
        this.control({ t: 'xl', s: to, id: p, n: this.nodeId, p: id, pn: n, pu: o.unit, op: 'req' });
        break;
      }
    }
  }
}

function parseBlock(v: string | undefined): CellBlock | null {
  if (!v) return null;
  try {
    const b = JSON.parse(v) as CellBlock;
    const ok = (a: unknown, max: number) => Array.isArray(a) && a.length > 0 && a.length <= max && a.every((x) => Number.isInteger(x) && x >= 0 && x < max);
    if (!ok(b.keys, 256) || !ok(b.groups, 32) || typeof b.node !== 'string') return null;
    return b;
  } catch {
    return null;
  }
}

function parseDir(v: string | undefined): Array<[string, string]> {
  if (!v) return [];
  try {
    const d = JSON.parse(v) as unknown;
    if (!Array.isArray(d)) return [];
    return d.slice(0, XDIR_MAX).filter((e): e is [string, string] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string' && e[0].length <= 64 && e[1].length <= 64);
  } catch {
    return [];
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
