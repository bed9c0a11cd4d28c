// Discrete-event swarm simulator: runs one BroadcasterCore and N PeerCores, unchanged, over a
// seeded link model (per-pair RTT, jitter, loss, per-peer upload/download limits, churn) with a
// tracker room deciding neighbours, roles and mode. Virtual time only; same seed, same run.
// Used by the CLI (`npm run sim`) and by the protocol's swarm tests.

import { generateStreamKey } from '../crypto/stream-key.ts';
import { BroadcasterCore } from '../protocol/broadcaster-core.ts';
import type { CoreOutput } from '../protocol/core-types.ts';
import { createCryptoRunner, type CryptoJob, type CryptoResult } from '../protocol/crypto-jobs.ts';
import { PeerCore } from '../protocol/peer-core.ts';
import { encodedLength, encodeMessage, FLAG_INIT_SEGMENT, FLAG_KEY_FRAME, type Manifest, type WireMessage } from '../protocol/wire.ts';
import type { JoinInfo, PeerStats, RoomEvent } from '../tracker/room-config.ts';
import { Room } from '../tracker/room.ts';
import { EventQueue } from './event-queue.ts';
import { createIdentityCodec, fingerprint } from './identity-codec.ts';
import { pairHash, resolveSimOptions, type SimOptions } from './sim-options.ts';
import { SeededRng } from '../rng.ts';
import { buildReport, type PublishedFrame, type SimReport, type ViewerRecord } from './sim-report.ts';
import { SimpleRoom } from './simple-room.ts';

type Ev =
  | { t: number; n?: number; k: 'deliver'; to: SimPeer; from: SimPeer; msg: WireMessage | Uint8Array; size: number; control: boolean; queued?: boolean }
  | { t: number; n?: number; k: 'timer'; p: SimPeer }
  | { t: number; n?: number; k: 'writable'; p: SimPeer; dst: SimPeer }
  | { t: number; n?: number; k: 'crypto'; p: SimPeer; job: CryptoJob }
  | { t: number; n?: number; k: 'publish' }
  | { t: number; n?: number; k: 'connect'; a: SimPeer; b: SimPeer }
  | { t: number; n?: number; k: 'join' }
  | { t: number; n?: number; k: 'leave'; p: SimPeer }
  | { t: number; n?: number; k: 'leave-many'; count: number; role?: string }
  | { t: number; n?: number; k: 'tracker' };

interface Outq {
  times: number[];
  sizes: number[];
  head: number;
  sum: number;
}

export interface SimPeer {
  id: string;
  num: number;
  core: PeerCore | BroadcasterCore;
  isBroadcaster: boolean;
  upBps: number;
  downBps: number;
  upFree: number;
  downFree: number;
  alive: boolean;
  polluter: boolean;
  timerAt: number;
  connected: Set<SimPeer>;
  pending: Set<SimPeer>;
  listed: Set<string>;
  outq: Map<SimPeer, Outq>;
  ctlLast: Map<SimPeer, number>;
  rec: ViewerRecord;
  initDelivered: boolean;
}

/** The tracker room the simulator drives: the tracker's own `Room`, or the `SimpleRoom` stand-in. */
export interface SimRoom {
  join(peerId: string, info: JoinInfo, nowMs: number): void;
  leave(peerId: string, nowMs: number): void;
  tick(nowMs: number): void;
  heartbeat?(peerId: string, stats: PeerStats, nowMs: number): void;
  pollEvent(): RoomEvent | undefined;
  readonly swarmMode: string;
}

export interface FrameSink {
  (peerId: string, manifest: Manifest, frame: Uint8Array, nowMs: number): void;
}

export class Simulator {
  readonly o: SimOptions;
  readonly rng: SeededRng;
  private readonly q = new EventQueue<Ev>();
  readonly peers = new Map<string, SimPeer>();
  readonly gone: SimPeer[] = [];
  readonly room: SimRoom;
  readonly frames: PublishedFrame[] = [];
  readonly sourceFrames = new Map<number, Uint8Array>();
  readonly bans: Array<{ by: string; peerId: string; atMs: number }> = [];
  private broadcaster!: SimPeer;
  private now = 0;
  private nextNum = 0;
  private events = 0;
  private carry = 0;
  private lastKeyMs = -Infinity;
  private lastInitMs = -Infinity;
  private runner?: (job: CryptoJob) => Promise<CryptoResult>;
  private readonly manifests = new Map<number, Manifest>();
  onFrame?: FrameSink;

  constructor(options: Partial<SimOptions>) {
    this.o = resolveSimOptions(options);
    this.rng = new SeededRng(this.o.seed);
    this.room = this.o.tracker === 'room'
      ? new Room('simulated-stream', { seed: this.o.seed, minRoleUploadBps: 0, minRoleUploadRatio: 0, ...this.o.room })
      : new SimpleRoom({ seed: this.o.seed, ...this.o.room });
  }

  /** Runs the whole stream; returns the report. */
  async run(): Promise<SimReport> {
    const wall = performance.now();
    if (this.o.bytes) {
      const key = await generateStreamKey();
      this.runner = createCryptoRunner({ publicKeyBytes: key.publicKeyBytes, streamId: key.streamId, key });
    }
    const codec = this.o.codec ?? createIdentityCodec();
    this.broadcaster = this.addPeer(new BroadcasterCore({ codec, config: this.o.broadcasterConfig }), true, this.o.broadcasterUpBps);
    this.room.join(this.broadcaster.id, { broadcaster: true, bitrateBps: this.o.bitrateBps }, 0);
    for (let i = 0; i < this.o.peers; i++) this.q.push({ t: (this.o.joinSpreadMs * i) / Math.max(1, this.o.peers), k: 'join' });
    for (const s of this.o.schedule) {
      for (let i = 0; i < (s.join ?? 0); i++) this.q.push({ t: s.atMs + i * 10, k: 'join' });
      if (s.leave) this.q.push({ t: s.atMs, k: 'leave-many', count: s.leave, role: s.role });
    }
    this.q.push({ t: 0, k: 'publish' });
    this.q.push({ t: 0, k: 'tracker' });
    const endMs = this.o.seconds * 1000;
    this.pumpRoom();
    while (this.q.size > 0) {
      const e = this.q.pop() as Ev;
      if (e.t > endMs) break;
      this.now = e.t;
      this.events++;
      if (e.k === 'crypto' && this.runner) {
        if (!e.p.alive) continue;
        e.p.core.handleCryptoResult(await this.runner(e.job), this.now);
        this.drain(e.p);
      } else this.step(e);
    }
    const viewers = [...this.gone, ...this.peers.values()].filter((p) => !p.isBroadcaster).map((p) => p.rec);
    return buildReport({
      peers: this.o.peers, seconds: this.o.seconds, mode: this.room.swarmMode, broadcasterBytesUp: this.broadcaster.rec.bytesUp,
      frames: this.frames, viewers, deadlineMs: this.o.deadlineMs, warmupMs: this.o.warmupMs, endMs,
      wallSeconds: (performance.now() - wall) / 1000, events: this.events,
    });
  }

  private addPeer(core: PeerCore | BroadcasterCore, isBroadcaster: boolean, upBps: number): SimPeer {
    const num = this.nextNum++;
    const id = isBroadcaster ? 'broadcaster' : `p${num}`;
    const p: SimPeer = {
      id, num, core, isBroadcaster, upBps, downBps: this.o.downBps, upFree: 0, downFree: 0, alive: true, polluter: false,
      timerAt: Infinity, connected: new Set(), pending: new Set(), listed: new Set(), outq: new Map(), ctlLast: new Map(),
      rec: { id, joinMs: this.now, leftMs: Infinity, bytesUp: 0, bytesDown: 0, controlDown: 0, delivered: new Map(), startupMs: -1, role: '' },
      initDelivered: false,
    };
    this.peers.set(id, p);
    return p;
  }

  private step(e: Ev): void {
    switch (e.k) {
      case 'deliver': return this.deliver(e);
      case 'timer':
        if (!e.p.alive || e.p.timerAt !== e.t) return;
        e.p.timerAt = Infinity;
        e.p.core.handleTimeout(e.t);
        return this.drain(e.p);
      case 'writable': {
        if (!e.p.alive || !e.p.connected.has(e.dst)) return;
        e.p.core.handleBufferedAmount(e.dst.id, this.buffered(e.p, e.dst), e.t);
        return this.drain(e.p);
      }
      case 'crypto': {
        if (!e.p.alive) return;
        e.p.core.handleCryptoResult(this.oracle(e.job), this.now);
        return this.drain(e.p);
      }
      case 'publish': return this.publish();
      case 'connect': return this.connect(e.a, e.b);
      case 'join': return this.join();
      case 'leave':
        if (e.p.alive) {
          this.leave(e.p);
          this.join();
        }
        return;
      case 'leave-many': {
        const victims = [...this.peers.values()].filter((p) => !p.isBroadcaster && (!e.role || p.rec.role === e.role)).reverse().slice(0, e.count);
        for (const v of victims) this.leave(v);
        return;
      }
      case 'tracker':
        if (this.room.heartbeat) for (const p of this.peers.values()) this.room.heartbeat(p.id, { uploadBps: p.upBps }, this.now);
        this.room.tick(this.now);
        this.pumpRoom();
        this.q.push({ t: this.now + 1000, k: 'tracker' });
        return;
    }
  }

  private join(): void {
    const codec = this.o.codec ?? createIdentityCodec();
    // Identity runs make packets for free: caching them would only cost memory (10 000 peers).
    const lean = this.o.bytes ? {} : { cacheEncodedPackets: 0, keepFrameMs: 3000 };
    const core = new PeerCore({ peerId: `p${this.nextNum}`, codec, config: { seed: this.o.seed + this.nextNum, ...lean, ...this.o.peerConfig } });
    const p = this.addPeer(core, false, this.rng.uniform(this.o.upMinBps, this.o.upMaxBps));
    const viewers = this.peers.size - 1;
    p.polluter = viewers <= this.o.polluters;
    if (this.o.churnPerMin > 0) this.q.push({ t: this.now + this.rng.exp(60_000 / this.o.churnPerMin), k: 'leave', p });
    this.room.join(p.id, { uploadBps: p.upBps }, this.now);
    this.pumpRoom();
  }

  private leave(p: SimPeer): void {
    p.alive = false;
    p.rec.leftMs = this.now;
    this.peers.delete(p.id);
    this.gone.push(p);
    for (const o of p.connected) {
      o.connected.delete(p);
      o.core.handlePeerDisconnected(p.id, this.now);
      this.drain(o);
    }
    p.connected.clear();
    p.outq.clear();
    p.ctlLast.clear();
    p.core.destroy();
    this.room.leave(p.id, this.now);
    this.pumpRoom();
  }

  private pumpRoom(): void {
    for (let ev: RoomEvent | undefined; (ev = this.room.pollEvent()); ) {
      const p = this.peers.get(ev.to);
      if (!p) continue;
      if (ev.type === 'neighbours') {
        p.listed = new Set(ev.neighbours.map((n) => n.peerId));
        for (const n of ev.neighbours) {
          const o = this.peers.get(n.peerId);
          if (!o || p.connected.has(o) || p.pending.has(o)) continue;
          p.pending.add(o);
          o.pending.add(p);
          this.q.push({ t: this.now + 1.5 * this.rtt(p, o) + 20, k: 'connect', a: p, b: o });
        }
        for (const o of [...p.connected]) if (!p.listed.has(o.id) && !o.listed.has(p.id)) this.disconnect(p, o);
        if (p.core instanceof PeerCore) p.core.handleNeighbours(ev.neighbours, this.now);
      } else if (ev.type === 'roles' && p.core instanceof PeerCore) {
        p.core.handleRoles(ev, this.now);
        p.rec.role = ev.holderKeys.length ? 'holder' : ev.producerGroups.length ? 'producer' : '';
      } else if (ev.type === 'swarm' && p.core instanceof BroadcasterCore) {
        p.core.handleSwarm({ mode: ev.mode, holders: ev.holders }, this.now);
      }
      this.drain(p);
    }
  }

  private connect(a: SimPeer, b: SimPeer): void {
    a.pending.delete(b);
    b.pending.delete(a);
    if (!a.alive || !b.alive || a.connected.has(b)) return;
    if (!a.listed.has(b.id) && !b.listed.has(a.id)) return;
    a.connected.add(b);
    b.connected.add(a);
    a.core.handlePeerConnected(b.id, this.now);
    b.core.handlePeerConnected(a.id, this.now);
    this.drain(a);
    this.drain(b);
  }

  private disconnect(a: SimPeer, b: SimPeer): void {
    a.connected.delete(b);
    b.connected.delete(a);
    a.core.handlePeerDisconnected(b.id, this.now);
    b.core.handlePeerDisconnected(a.id, this.now);
    this.drain(a);
    this.drain(b);
  }

  private rtt(a: SimPeer, b: SimPeer): number {
    return this.o.rttMinMs + (this.o.rttMaxMs - this.o.rttMinMs) * pairHash(a.num, b.num, this.o.seed);
  }

  private publish(): void {
    const t = this.now;
    const b = this.broadcaster.core as BroadcasterCore;
    if (t - this.lastInitMs >= this.o.initEveryMs) {
      this.lastInitMs = t;
      this.emitFrame(b, this.makeBytes(600, this.frames.length), FLAG_INIT_SEGMENT, t);
    }
    this.carry += (this.o.bitrateBps * this.o.frameMs) / 8000;
    let L = Math.min(65536, Math.floor(this.carry / 8192) * 8192);
    if (L === 0 && this.carry >= 1 && this.o.bitrateBps * this.o.frameMs < 8192 * 8000) L = Math.floor(this.carry);
    if (L > 0) {
      this.carry -= L;
      let flags = 0;
      if (t - this.lastKeyMs >= this.o.keyFrameMs) {
        this.lastKeyMs = t;
        flags |= FLAG_KEY_FRAME | 4;
      }
      this.emitFrame(b, this.makeBytes(L, this.frames.length), flags, t);
    }
    this.q.push({ t: t + this.o.frameMs, k: 'publish' });
  }

  private emitFrame(b: BroadcasterCore, bytes: Uint8Array, flags: number, t: number): void {
    const seq = b.publishFrame(bytes, flags, t, t);
    this.frames.push({ seq, captureMs: t, length: bytes.length });
    if (this.o.bytes) this.sourceFrames.set(seq, bytes);
    this.drain(this.broadcaster);
  }

  private makeBytes(n: number, salt: number): Uint8Array {
    if (!this.o.bytes) return new Uint8Array(n);
    const out = new Uint8Array(n);
    let x = (salt * 2654435761 + this.o.seed) >>> 0;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  }

  private oracle(job: CryptoJob): CryptoResult {
    switch (job.kind) {
      case 'sign-manifest': {
        const m: Manifest = { seq: job.seq, length: job.frame.length, captureTimeMs: job.captureTimeMs, flags: job.flags, digest: fingerprint(job.frame), signature: new Uint8Array(64) };
        this.manifests.set(job.seq, m);
        return { kind: job.kind, id: job.id, manifest: m };
      }
      case 'verify-manifest': {
        const m = this.manifests.get(job.manifest.seq);
        const valid = !!m && m.length === job.manifest.length && m.flags === job.manifest.flags && m.captureTimeMs === job.manifest.captureTimeMs && m.digest.every((v, i) => v === job.manifest.digest[i]);
        return { kind: job.kind, id: job.id, valid };
      }
      case 'digest':
        return { kind: job.kind, id: job.id, digest: fingerprint(job.data) };
    }
  }

  // ---- moving messages ------------------------------------------------------------------------

  private drain(p: SimPeer): void {
    if (!p.alive) return;
    for (let o: CoreOutput | undefined; (o = p.core.pollOutput()); ) {
      switch (o.type) {
        case 'send': this.send(p, o.peerId, o.channel === 'control', o.message); break;
        case 'crypto': this.q.push({ t: this.now + 0.2, k: 'crypto', p, job: o.job }); break;
        case 'frame': this.onDelivered(p, o.manifest, o.frame); break;
        case 'bad-peer': {
          if (!o.banned) break;
          this.bans.push({ by: p.id, peerId: o.peerId, atMs: this.now });
          const other = this.peers.get(o.peerId);
          if (other && p.connected.has(other)) {
            p.connected.delete(other);
            other.connected.delete(p);
            other.core.handlePeerDisconnected(p.id, this.now);
          }
          break;
        }
        case 'want-writable': {
          const dst = this.peers.get(o.peerId);
          if (dst) this.q.push({ t: this.writableAt(p, dst, p.core.cfg.mediaBudgetBytes / 2), k: 'writable', p, dst });
          break;
        }
      }
    }
    const nt = p.core.nextTimeout();
    if (nt !== undefined) {
      const at = Math.max(nt, this.now);
      if (at < p.timerAt) {
        p.timerAt = at;
        this.q.push({ t: at, k: 'timer', p });
      }
    }
  }

  private onDelivered(p: SimPeer, m: Manifest, frame: Uint8Array): void {
    if (p.rec.delivered.has(m.seq)) return;
    p.rec.delivered.set(m.seq, this.now);
    if (m.flags & FLAG_INIT_SEGMENT) p.initDelivered = true;
    else if (p.rec.startupMs < 0 && p.initDelivered && m.flags & FLAG_KEY_FRAME) p.rec.startupMs = this.now - p.rec.joinMs;
    this.onFrame?.(p.id, m, frame, this.now);
  }

  private send(p: SimPeer, to: string, control: boolean, message: WireMessage): void {
    const dst = this.peers.get(to);
    if (!dst || !p.connected.has(dst)) return;
    let msg: WireMessage | Uint8Array = message;
    if (p.polluter && message.type === 'feed') {
      const payload = message.payload.slice();
      payload[0] ^= 0x5a;
      msg = { ...message, payload };
    }
    const size = encodedLength(message);
    if (this.o.bytes) msg = encodeMessage(msg as WireMessage);
    p.rec.bytesUp += size;
    const depart = Math.max(this.now, p.upFree) + (size * 8000) / p.upBps;
    p.upFree = depart;
    if (!control) {
      let oq = p.outq.get(dst);
      if (!oq) p.outq.set(dst, (oq = { times: [], sizes: [], head: 0, sum: 0 }));
      oq.times.push(depart);
      oq.sizes.push(size);
      oq.sum += size;
      if (oq.times.length - oq.head > 64 || oq.head > 256) this.buffered(p, dst); // drop departed entries
    }
    const lost = this.o.loss > 0 && this.rng.next() < this.o.loss;
    if (lost && !control) return;
    let at = depart + this.rtt(p, dst) / 2 + this.rng.next() * this.o.jitterMs;
    if (control) {
      if (lost) at += this.rtt(p, dst) + 20;
      at = Math.max(at, p.ctlLast.get(dst) ?? 0);
      p.ctlLast.set(dst, at);
    }
    this.q.push({ t: at, k: 'deliver', to: dst, from: p, msg, size, control });
  }

  private deliver(e: Extract<Ev, { k: 'deliver' }>): void {
    const { to, from } = e;
    if (!to.alive || !to.connected.has(from)) return;
    if (!e.queued) {
      const start = Math.max(e.t, to.downFree);
      to.downFree = start + (e.size * 8000) / to.downBps;
      if (start > e.t + 0.05) {
        e.queued = true;
        e.t = to.downFree;
        this.q.push(e);
        return;
      }
    }
    to.rec.bytesDown += e.size;
    if (e.control) to.rec.controlDown += e.size;
    if (e.msg instanceof Uint8Array) to.core.handleMessage(from.id, e.msg, this.now);
    else to.core.handleParsed(from.id, e.msg, this.now);
    this.drain(to);
  }

  private buffered(p: SimPeer, dst: SimPeer): number {
    const q = p.outq.get(dst);
    if (!q) return 0;
    while (q.head < q.times.length && q.times[q.head] <= this.now) q.sum -= q.sizes[q.head++];
    if (q.head > 256) {
      q.times = q.times.slice(q.head);
      q.sizes = q.sizes.slice(q.head);
      q.head = 0;
    }
    return q.sum;
  }

  private writableAt(p: SimPeer, dst: SimPeer, threshold: number): number {
    let rest = this.buffered(p, dst);
    if (rest <= threshold) return this.now;
    const q = p.outq.get(dst) as Outq;
    for (let i = q.head; i < q.times.length; i++) {
      rest -= q.sizes[i];
      if (rest <= threshold) return q.times[i];
    }
    return this.now;
  }
}

export async function simulate(options: Partial<SimOptions>, onFrame?: FrameSink): Promise<{ report: SimReport; sim: Simulator }> {
  const sim = new Simulator(options);
  sim.onFrame = onFrame;
  const report = await sim.run();
  return { report, sim };
}
