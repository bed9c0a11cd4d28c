// The neighbour graph of one room: edges with their reasons (bits), swarm degrees, the viewer
// list for sampling, failed pairs, splitting and top-up rules. Pure (seeded RNG, no I/O); owned
// and driven only by room.ts, which keeps the peers map it reads.

import type { PeerId } from './room-config.ts';
import type { SeededRng } from '../rng.ts';

// Edge bits. An edge is stored once, shared by both endpoints; `a` < `b` by string order.
export const SWARM = 1; // viewer ↔ viewer mesh
export const FEED = 2; // broadcaster ↔ viewer, direct feed
export const SEGMENT = 4; // broadcaster ↔ holder
export const SEED_A = 8; // a produces from b's seeds
export const SEED_B = 16; // b produces from a's seeds

export interface Edge {
  a: PeerId;
  b: PeerId;
  bits: number;
  initiator: PeerId;
}

export interface GraphNode {
  id: PeerId;
  broadcaster: boolean;
  edges: Map<PeerId, Edge>;
  swarmDegree: number;
  /** Index in `viewers`, -1 for the broadcaster. */
  idx: number;
  /**
   * Peers this one must not be introduced to: ids of failed pairs, and `@` + the host key (address
   * or IPv6 /64) of each, so a peer reported failed cannot come back under a fresh id.
   */
  failed: Set<string> | null;
  /** Host key of the peer's address (see address-keys.ts), or null when unknown. */
  hostKey: string | null;
  /** Neighbours announced after a reconnect and not back yet; reserved until announceUntilMs. */
  announcedNeighbours: Set<PeerId> | null;
  announceUntilMs: number;
}

export interface GraphLimits {
  neighbourTarget: number;
  neighbourMax: number;
  maxFailedPairsPerPeer: number;
}

export class SwarmGraph<N extends GraphNode> {
  /** Viewers in join order with swap-removal, for O(1) random sampling. */
  readonly viewers: N[] = [];
  /** Nodes whose neighbour list changed since the room last flushed. */
  readonly dirty = new Set<N>();
  /** Viewers still short of swarm neighbours; tick() tops them up. */
  readonly needy = new Set<N>();
  edgeCount = 0;
  /** Peers still waiting for announced neighbours to reconnect. */
  private readonly pendingAnnounce = new Set<N>();

  constructor(
    private readonly nodes: Map<PeerId, N>,
    private readonly limits: GraphLimits,
    private readonly rng: SeededRng,
  ) {}

  addViewer(p: N): void {
    p.idx = this.viewers.length;
    this.viewers.push(p);
  }

  /** Unlinks every edge of `p` and drops it from the viewer list; returns its swarm neighbours. */
  detach(p: N): N[] {
    const neighbours: N[] = [];
    for (const e of [...p.edges.values()]) {
      const q = this.nodes.get(e.a === p.id ? e.b : e.a);
      if (q && q !== p && e.bits & SWARM) neighbours.push(q);
      this.removeEdge(e);
    }
    this.needy.delete(p);
    this.dirty.delete(p);
    this.pendingAnnounce.delete(p);
    if (!p.broadcaster && this.viewers[p.idx] === p) {
      const last = this.viewers.pop() as N;
      if (last !== p) {
        this.viewers[p.idx] = last;
        last.idx = p.idx;
      }
    }
    return neighbours;
  }

  /** Links the former neighbours of a leaver to each other in pairs, then tops each up. */
  heal(neighbours: N[]): void {
    this.rng.shuffle(neighbours);
    for (let i = 0; i + 1 < neighbours.length; i += 2) {
      const [x, y] = [neighbours[i], neighbours[i + 1]];
      if (this.canLink(x, y)) this.setBits(x, y, SWARM, true, x.id);
    }
    for (const q of neighbours) this.fillSwarm(q);
  }

  /** Records a failed pair on both sides (bounded, oldest forgotten); returns the bits the edge had. */
  markFailed(x: N, y: N): number {
    for (const [p, q] of [[x, y], [y, x]] as const) {
      const f = (p.failed ??= new Set());
      f.add(q.id);
      if (q.hostKey !== null && q.hostKey !== p.hostKey) f.add(`@${q.hostKey}`);
      while (f.size > this.limits.maxFailedPairsPerPeer) f.delete(f.values().next().value as string);
    }
    const e = x.edges.get(y.id);
    if (!e) return 0;
    const bits = e.bits;
    this.removeEdge(e);
    if (!x.broadcaster) this.needy.add(x);
    if (!y.broadcaster) this.needy.add(y);
    return bits;
  }

  bits(x: N, y: N): number {
    return x.edges.get(y.id)?.bits ?? 0;
  }

  setBits(x: N, y: N, bits: number, on: boolean, initiator: PeerId): void {
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
    this.dirty.add(x);
    this.dirty.add(y);
  }

  removeEdge(e: Edge): void {
    const pa = this.nodes.get(e.a);
    const pb = this.nodes.get(e.b);
    if (e.bits & SWARM) {
      if (pa) pa.swarmDegree--;
      if (pb) pb.swarmDegree--;
    }
    e.bits = 0;
    if (pa?.edges.delete(e.b)) this.dirty.add(pa);
    if (pb?.edges.delete(e.a)) this.dirty.add(pb);
    this.edgeCount--;
  }

  canLink(p: N, q: N): boolean {
    return this.free(p, q) && q.swarmDegree < this.limits.neighbourMax;
  }

  /**
   * Gives `p` swarm neighbours up to the target: peers with room first (lowest degree first in
   * small swarms, random in large ones); when a chosen peer q is full, the edge q–w to one of its
   * neighbours with spare degree is split into p–q and p–w, so degrees stay bounded and the graph
   * stays connected however many join.
   */
  fillSwarm(p: N): void {
    if (p.broadcaster || this.nodes.get(p.id) !== p) return;
    const c = this.limits;
    let need = c.neighbourTarget - p.swarmDegree - (p.announcedNeighbours?.size ?? 0);
    if (need <= 0) {
      this.needy.delete(p);
      return;
    }
    const n = this.viewers.length;
    const split = (q: N): boolean => {
      if (need < 2 || q.swarmDegree < c.neighbourMax || !this.free(p, q)) return false;
      for (const [wid, e] of q.edges) {
        const w = this.nodes.get(wid) as N;
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
  free(p: N, q: N): boolean {
    return q !== p && !q.broadcaster && !((p.edges.get(q.id)?.bits ?? 0) & SWARM) && !this.avoids(p, q) && p.swarmDegree < this.limits.neighbourMax;
  }

  /** True when p and q failed each other, or one of them failed a peer of the other's address. */
  avoids(p: N, q: N): boolean {
    const pf = p.failed;
    const qf = q.failed;
    if (pf && (pf.has(q.id) || (q.hostKey !== null && pf.has(`@${q.hostKey}`)))) return true;
    return !!qf && (qf.has(p.id) || (p.hostKey !== null && qf.has(`@${p.hostKey}`)));
  }

  topUpNeedy(limit: number): void {
    for (const p of [...this.needy].slice(0, limit)) {
      this.needy.delete(p);
      if (this.nodes.get(p.id) === p) this.fillSwarm(p);
    }
  }

  /**
   * After a tracker restart: links `p` to the announced neighbours that are back and announced it
   * too. The others stay reserved (they count towards p's target) until `untilMs`, so p is not
   * filled with strangers while its old neighbours reconnect; expireAnnounced() ends the wait.
   */
  restoreAnnounced(p: N, untilMs: number): void {
    const mine = p.announcedNeighbours;
    if (!mine) return;
    for (const id of [...mine]) {
      const q = this.nodes.get(id);
      if (!q) continue;
      mine.delete(id);
      const theirs = q.announcedNeighbours;
      if (q.broadcaster || !theirs?.has(p.id)) continue;
      theirs.delete(p.id);
      if (theirs.size === 0) this.dropAnnounced(q);
      if (this.canLink(p, q)) this.setBits(p, q, SWARM, true, p.id < q.id ? p.id : q.id);
    }
    if (mine.size === 0) this.dropAnnounced(p);
    else {
      p.announceUntilMs = untilMs;
      this.pendingAnnounce.add(p);
    }
  }

  /** Ends the wait for announced neighbours that did not come back in time. */
  expireAnnounced(nowMs: number): void {
    for (const p of this.pendingAnnounce) {
      if (p.announceUntilMs > nowMs) continue;
      this.dropAnnounced(p);
      if (this.nodes.get(p.id) === p && !p.broadcaster) this.needy.add(p);
    }
  }

  private dropAnnounced(p: N): void {
    p.announcedNeighbours = null;
    this.pendingAnnounce.delete(p);
  }
}
