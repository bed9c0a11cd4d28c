// Discrete-event swarm simulator: runs one BroadcasterCore and N PeerCores, unchanged, over a
// seeded link model (per-pair RTT, jitter, loss, per-peer upload/download limits, churn) with a
// tracker room deciding neighbours, roles and mode. Virtual time only; same seed, same run.
// Used by the CLI (`npm run sim`) and by the protocol's swarm tests.
//
// Time moves in lookahead windows. No message reaches another peer sooner than the lowest one-way
// delay (half the lowest RTT), so within a window [T, T + that delay) what a peer does depends only
// on its own events: the window runs each peer's events in turn, all of one peer before the next,
// which keeps its state in the CPU's caches. Events that touch several peers or the room (joins,
// leaves, the room's tick) end a window and run between windows, in time order.
//
// The same windows let worker threads share the peers (`workers` > 1, identity runs): each part
// runs the cores of its peers and keeps a copy of everything else (room, links, joins and
// leaves, all decided by the same seeded draws in every part); what a peer sends to another
// part's peer is handed over at the window's end, when it cannot be due yet.

import { generateStreamKey } from '../crypto/stream-key.ts';
import { P2PError } from '../errors.ts';
import { BroadcasterCore } from '../protocol/broadcaster-core.ts';
import { CapacityMeter } from '../protocol/capacity-meter.ts';
import type { CoreOutput, FrameCodec } from '../protocol/core-types.ts';
import { createCryptoRunner, type CryptoJob, type CryptoResult } from '../protocol/crypto-jobs.ts';
import { onRequestsChannel } from '../protocol/message-channels.ts';
import { PeerCore } from '../protocol/peer-core.ts';
import { BROADCAST_ID_BYTES, encodedLength, encodeMessage, FLAG_INIT_SEGMENT, FLAG_KEY_FRAME, parseMessage, type Manifest, type WireMessage } from '../protocol/wire.ts';
import type { RoomEvent } from '../tracker/room-config.ts';
import { Room } from '../tracker/room.ts';
import { SeededRng } from '../rng.ts';
import { EventQueue, TimedHeap } from './event-queue.ts';
import { COMPLAINT_SPACING_MS } from '../tracker-client/tracker-client.ts';
import { Adversary, attackOf, isAttackerSlot, summarizeAttack, type AttackerRecord, type AttackKind, type AttackReport, type ComplaintRecord } from './adversary.ts';
import { createIdentityCodec, zeroView } from './identity-codec.ts';
import { withTaint } from './tainted-codec.ts';
import { CryptoOracle, FrameSource, type SourceFrame } from './sim-source.ts';
import {
  COMPLAIN, CONNECT, CRYPTO, DELIVER, EventPool, FAIL_PAIR, isPeerEvent, JOIN, LEAVE, LEAVE_MANY, LINK_DOWN, PUBLISH, TIMER, TRACKER, WRITABLE, type SimEvent,
} from './sim-event.ts';
import { pairHash, resolveSimOptions, type SimOptions } from './sim-options.ts';
import type { SimPeer, SimRoom } from './sim-peer.ts';
import { buildReport, type PublishedFrame, type SimReport, type ViewerRecord } from './sim-report.ts';
import { CrossingWriter, NO_FIGURE, readCrossings, REPORT_TO, ROOM_CALL_TO, roomCallOf, type RoomCall } from './sim-exchange.ts';
import { Wire } from './sim-wire.ts';
import { FrameTimeline } from './frame-timeline.ts';
import { listMisses, probesOf, snapshotFrame, summarizeMisses, type FrameSnapshot } from './miss-causes.ts';
import { SimpleRoom } from './simple-room.ts';
import { burstLoss, drawProfile, pairKind, queueLoss, type WorldModel } from './sim-world.ts';

/** What a viewer's heartbeat carries, from its capacity meter (the fields a session sends; none before its first figure). */
type SimUploadReport = { measuredUploadBps: number; uploadLimitedShare: number } | Record<string, never>;

export type { SimPeer, SimRoom } from './sim-peer.ts';

export interface FrameSink {
  (peerId: string, manifest: Manifest, frame: Uint8Array, nowMs: number): void;
}

/** This simulator's share of a parallel run: it runs the peers whose number ≡ index (mod count). */
export interface SimPart {
  index: number;
  count: number;
  /**
   * Hands each other part the messages for its peers (`out[j]` for part j; `out[index]` is empty)
   * and returns what the other parts sent this one, by part index. Called once per window by
   * every part, so it is also the barrier between windows.
   */
  exchange(out: ArrayBuffer[]): Promise<ArrayBuffer[]>;
}

/** What one part of a parallel run measured (its own peers), for the report. */
export interface PartResult {
  viewers: ViewerRecord[];
  frames: PublishedFrame[];
  broadcasterBytesUp: number;
  events: number;
  mode: string;
  /** Swarm mode changes (time, mode), from the first tracker tick. */
  modes: Array<{ atMs: number; mode: string }>;
}

/** Events that wait for a busy event loop: messages, timers, wake-ups and crypto results. */
function waitsForCpu(k: number): boolean {
  return k === DELIVER || k === TIMER || k === WRITABLE || k === CRYPTO;
}

export class Simulator {
  readonly o: SimOptions;
  readonly rng: SeededRng;
  /** Events between windows (kinds that are not `isPeerEvent`); peers' own events are in `SimPeer.events`. */
  private readonly q = new EventQueue<SimEvent>();
  /** The lowest one-way delay: how far a window reaches. */
  private readonly lookaheadMs: number;
  /** End of the window being run: no message sent in it may arrive before. */
  private windowEnd = 0;
  /** Events waiting in the peers' own queues. */
  private peerEvents = 0;
  private readonly pool = new EventPool();
  readonly peers = new Map<string, SimPeer>();
  /** Records of the viewers that left (their cores are dropped). */
  readonly gone: ViewerRecord[] = [];
  readonly room: SimRoom;
  readonly frames: PublishedFrame[] = [];
  readonly sourceFrames = new Map<number, Uint8Array>();
  readonly bans: Array<{ by: string; peerId: string; atMs: number; reason?: string }> = [];
  /** Producers' complaints the room heard. */
  readonly complaints: ComplaintRecord[] = [];
  /** Direct-feed slots the broadcaster moved on its viewers' MISSING reports: whose, when. */
  readonly slotMoves: Array<{ peerId: string; atMs: number }> = [];
  /**
   * Calls on the room this window's peer events made (and, in a parallel run, the other parts'
   * peers): they become room events at the window's end, in one order every part agrees on.
   */
  private roomCalls: RoomCall[] = [];
  private readonly lastComplaintAt = new Map<string, number>();
  readonly modes: Array<{ atMs: number; mode: string }> = [];
  /** Meter figures (peer number → bits per second) the next heartbeats carry. */
  private reports = new Map<number, SimUploadReport>();
  /** The heartbeat period a joining peer is given (the room's welcome), ms. */
  private readonly welcomeHeartbeatMs: number;
  private readonly world: WorldModel | undefined;
  /** Pairs (`num>id`) whose failure report is on its way to the tracker. */
  private readonly failing = new Set<string>();
  private broadcaster!: SimPeer;
  private now = 0;
  private nextNum = 0;
  private events = 0;
  private globalEvents = 0;
  private readonly part: SimPart | undefined;
  /** Peers by number (undefined once gone). */
  private readonly byNum: Array<SimPeer | undefined> = [];
  /** Messages for each other part's peers, sent in this window. */
  private readonly outbox: CrossingWriter[] = [];
  private runner?: (job: CryptoJob) => Promise<CryptoResult>;
  private readonly oracle = new CryptoOracle();
  private readonly source: FrameSource;
  /** The codec every core uses: the given one (real bytes) or the identity codec, pollution-aware. */
  private readonly codec: FrameCodec;
  /** The current broadcast's id (the tracker would announce it) and an earlier one's (replay attacks). */
  private readonly broadcastId: Uint8Array;
  private readonly oldBroadcastId: Uint8Array;
  /** Viewers that joined through JOIN events or churn, in order (who is an attacker). */
  private joins = 0;
  private attackersMade = 0;
  /** Every attacker of the run (ids that left included), with what it cost honest peers. */
  private readonly attackers: Array<{ p: SimPeer; rec: AttackerRecord }> = [];
  private readonly attackerOf = new Map<string, AttackerRecord>();
  /** Peer id → its address key (a rejoining attacker keeps its address). */
  private readonly hostOf = new Map<string, string>();
  /** Honest peer id → address keys of the attackers it banned. */
  private readonly bannedHosts = new Map<string, Set<string>>();
  /** `honest>attacker` pairs of bans. */
  private readonly bannedPairs = new Set<string>();
  private rejoins = 0;
  private reintroduced = 0;
  /** Where frames' time goes (`timeline` option); the broadcaster is peer 0. */
  private readonly timeline: FrameTimeline | undefined;
  /** The last message's departure from its sender's uplink and its serialization time (for the timeline). */
  private lastDepart = 0;
  private lastSer = 0;
  onFrame?: FrameSink;
  /**
   * Control messages of the harsh world: how many were sent, their wait in the sender's uplink
   * queue (summed), how many were lost and retransmitted (extra time summed), how many were held
   * behind an earlier one still being retransmitted (the reliable channel's order; time summed).
   */
  readonly control = { sent: 0, queueMs: 0, retransmitted: 0, retransmitMs: 0, heldBehind: 0, heldBehindMs: 0 };
  /** `whyMissed` second pass: what each late frame's viewer held at its deadline (`viewer:seq`), and how far each viewer's probes got. */
  readonly missSnapshots = new Map<string, FrameSnapshot>();
  private readonly probed = new Map<string, number>();

  constructor(options: Partial<SimOptions>, part?: SimPart) {
    this.o = resolveSimOptions(options);
    this.part = part;
    if (this.o.workers > 1 && !part) throw new P2PError('BAD_CONFIG', 'a run over several workers goes through simulateParallel (parallel.ts)');
    if (part) for (let j = 0; j < part.count; j++) this.outbox.push(new CrossingWriter());
    this.rng = new SeededRng(this.o.seed);
    this.source = new FrameSource(this.o);
    this.lookaheadMs = this.o.rttMinMs / 2;
    this.world = this.o.world;
    this.codec = this.o.codec ?? withTaint(createIdentityCodec());
    this.broadcastId = new Uint8Array(BROADCAST_ID_BYTES);
    new DataView(this.broadcastId.buffer).setUint32(0, this.o.seed >>> 0, true);
    this.broadcastId[7] = 1;
    this.oldBroadcastId = this.broadcastId.slice();
    this.oldBroadcastId[7] = 0;
    // Peers report what their capacity meters measured; the room's minimum-upload rule stands.
    this.room = this.o.tracker === 'room'
      ? new Room('simulated-stream', { seed: this.o.seed, ...this.o.room })
      : new SimpleRoom({ seed: this.o.seed, ...this.o.room });
    this.welcomeHeartbeatMs = this.room instanceof Room ? this.room.config.heartbeatMs : 1000;
    this.timeline = this.o.timeline ? new FrameTimeline(0) : undefined;
  }

  /** Runs the whole stream; returns the report. */
  async run(): Promise<SimReport> {
    const wall = performance.now();
    const r = await this.runPart();
    return buildReport({
      peers: this.o.peers, seconds: this.o.seconds, mode: r.mode, modes: r.modes, broadcasterBytesUp: r.broadcasterBytesUp,
      frames: r.frames, viewers: r.viewers, deadlineMs: this.o.deadlineMs, warmupMs: this.o.warmupMs, endMs: this.o.seconds * 1000,
      wallSeconds: (performance.now() - wall) / 1000, events: r.events,
      ...(this.o.adversaries > 0 || this.o.polluters > 0 ? { attack: this.attackReport() } : {}),
    });
  }

  /** What the attackers did and cost (the report's attack lines). */
  attackReport(): AttackReport {
    const frames = [...this.frames].sort((a, b) => a.publishMs - b.publishMs);
    const streamBytes = (from: number, to: number) => {
      let n = 0;
      for (const f of frames) if (f.publishMs >= from && f.publishMs < to) n += f.length;
      return n;
    };
    for (const a of this.attackers) a.rec.leftMs = a.p.rec.leftMs;
    return summarizeAttack({
      attack: this.o.adversaries > 0 ? this.o.attack : 'pollute',
      attackers: this.attackers.map((a) => a.rec),
      bans: this.bans,
      streamBytes,
      endMs: this.o.seconds * 1000,
      banWithinMs: 2000,
      rejoins: this.rejoins,
      reintroduced: this.reintroduced,
      complaints: this.complaints,
      slotMoves: this.slotMoves,
    });
  }

  /** Runs the whole stream (this part's peers, in a parallel run); returns what it measured. */
  async runPart(): Promise<PartResult> {
    if (this.o.bytes) {
      const key = await generateStreamKey();
      this.runner = createCryptoRunner({ publicKeyBytes: key.publicKeyBytes, streamId: key.streamId, key });
    }
    const codec = this.codec;
    const bcore = this.owns(this.nextNum) ? new BroadcasterCore({ codec, config: this.o.broadcasterConfig, broadcastId: this.broadcastId }) : undefined;
    this.broadcaster = this.addPeer(bcore, true, this.o.broadcasterUpBps);
    this.room.join(this.broadcaster.id, { broadcaster: true, bitrateBps: this.o.bitrateBps }, 0);
    for (let i = 0; i < this.o.peers; i++) this.push(this.pool.get((this.o.joinSpreadMs * i) / Math.max(1, this.o.peers), JOIN));
    for (const s of this.o.schedule) {
      for (let i = 0; i < (s.join ?? 0); i++) this.push(this.pool.get(s.atMs + i * 10, JOIN));
      if (s.leave) {
        const e = this.pool.get(s.atMs, LEAVE_MANY);
        e.count = s.leave;
        e.role = s.role;
        this.push(e);
      }
    }
    this.push(this.pool.get(0, PUBLISH, this.broadcaster));
    this.push(this.pool.get(0, TRACKER));
    const endMs = this.o.seconds * 1000;
    this.pumpRoom();
    for (let t0 = 0; t0 <= endMs; ) {
      // (Parts of a parallel run go window by window together: no part skips ahead alone.)
      if (!this.part && this.peerEvents === 0 && this.q.size === 0) break;
      const g = this.q.peek();
      const gt = g === undefined ? Infinity : g.t;
      if (!this.part && this.peerEvents === 0) t0 = Math.max(t0, gt);
      const end = Math.min(t0 + this.lookaheadMs, gt);
      const last = Math.min(end, endMs + 1e-9);
      this.windowEnd = end;
      // The window: each peer's events before `end`, one peer after another.
      for (const p of this.peers.values()) {
        const h = p.events;
        const probes = this.o.missProbes?.get(p.id);
        while (h.nextT < last) {
          if (probes) this.lookAt(p, probes, h.nextT);
          const e = h.pop() as SimEvent;
          if (p.cpuFree > e.t && waitsForCpu(e.k)) {
            // Its event loop is busy: the event waits (a timer notes how late it ran). A link
            // coming up or going down does not: both sides must change state when the other part
            // of a parallel run believes they do.
            if (Number.isNaN(e.due)) e.due = e.t;
            if (e.k === TIMER && p.timerAt === e.t) p.timerAt = p.cpuFree;
            e.t = p.cpuFree;
            h.push(e);
            continue;
          }
          this.peerEvents--;
          const w = this.run1(e);
          if (w) await w;
        }
        if (probes) this.lookAt(p, probes, last);
      }
      if (this.part) await this.swap(this.part);
      this.queueRoomCalls();
      // Then the events at `end` that touch several peers (and whatever they start at that time).
      for (let e = this.q.peek(); e !== undefined && e.t <= end && e.t <= endMs; e = this.q.peek()) {
        this.q.pop();
        this.windowEnd = e.t;
        this.globalEvents++;
        const w = this.run1(e);
        if (w) await w;
      }
      t0 = end;
    }
    const mine = (p: SimPeer) => p.own && !p.isBroadcaster;
    const first = !this.part || this.part.index === 0;
    return {
      viewers: [...this.gone, ...[...this.peers.values()].filter(mine).map((p) => p.rec)],
      frames: this.frames,
      broadcasterBytesUp: this.broadcaster.own ? this.broadcaster.rec.bytesUp : 0,
      // Every part runs the events between windows; they count once.
      events: this.events - (first ? 0 : this.globalEvents),
      mode: this.room.swarmMode,
      modes: this.modes,
    };
  }

  /** Looks at p's frames whose deadline (`whyMissed` second pass) falls before `t`: nothing of p changes before its next event. */
  private lookAt(p: SimPeer, probes: ReadonlyArray<{ atMs: number; seq: number }>, t: number): void {
    let i = this.probed.get(p.id) ?? 0;
    for (; i < probes.length && probes[i].atMs < t; i++) {
      if (!(p.core instanceof PeerCore)) continue;
      // (The broadcaster's record of the frame's direct feed: diagnostics reach into its state.)
      const sent = (this.broadcaster.core as unknown as { frames: Map<number, { order: string[]; keys: number }> }).frames.get(probes[i].seq);
      const slow = (id: string) => (this.peers.get(id)?.upBps ?? Infinity) < this.o.bitrateBps;
      this.missSnapshots.set(`${p.id}:${probes[i].seq}`, snapshotFrame(p, probes[i].seq, probes[i].atMs, sent, slow));
    }
    this.probed.set(p.id, i);
  }

  /** Hands the window's messages for other parts over and takes theirs into this part's peers. */
  private async swap(part: SimPart): Promise<void> {
    const out = this.outbox.map((w) => w.take());
    const got = await part.exchange(out);
    for (let j = 0; j < got.length; j++) {
      if (j === part.index) continue;
      for (const c of readCrossings(got[j])) {
        if (c.to === REPORT_TO) {
          this.reports.set(c.from, c.size === NO_FIGURE ? {} : { measuredUploadBps: c.size, uploadLimitedShare: c.at });
          continue;
        }
        if (c.to === ROOM_CALL_TO) {
          this.roomCalls.push(roomCallOf(c));
          continue;
        }
        const to = this.byNum[c.to];
        const from = this.byNum[c.from];
        // Its sender's side of the link is in the other part; this side says the same (up or not).
        const wire = from && to?.wires.get(from.id);
        if (!to?.alive || !from || !wire) continue;
        const e = this.pool.get(c.at, DELIVER, to, from);
        e.wire = wire;
        e.msg = c.msg;
        e.size = c.size;
        e.control = c.control;
        this.push(e);
      }
    }
  }

  /**
   * A call p makes on the room, heard at `call.at` (at least one lookahead window ahead, so after
   * this window): kept for the window's end and handed to the other parts, whose rooms must hear
   * it too.
   */
  private callRoom(call: RoomCall): void {
    this.roomCalls.push(call);
    if (this.part) for (let j = 0; j < this.outbox.length; j++) if (j !== this.part.index) this.outbox[j].addRoomCall(call);
  }

  /** The window's room calls become room events, ordered by time, caller, kind and callee alike in every part. */
  private queueRoomCalls(): void {
    if (this.roomCalls.length === 0) return;
    const calls = this.roomCalls.sort((a, b) => a.at - b.at || a.from - b.from || a.kind - b.kind || (a.other < b.other ? -1 : a.other > b.other ? 1 : 0));
    this.roomCalls = [];
    for (const c of calls) {
      const p = this.byNum[c.from];
      if (!p) continue;
      const e = this.pool.get(c.at, c.kind, p);
      e.other = c.other;
      if (c.kind === COMPLAIN) {
        e.count = c.key as number;
        e.role = c.reason;
      }
      this.push(e);
    }
  }

  private owns(num: number): boolean {
    return !this.part || num % this.part.count === this.part.index;
  }

  /** Runs one event at its time; a promise only for a real crypto job (`--bytes`). */
  private run1(e: SimEvent): Promise<void> | undefined {
    this.now = e.t;
    this.events++;
    e.held = false;
    if (e.k === CRYPTO && this.runner) return this.realCrypto(e);
    const p = e.p;
    if (p?.cpuFactor && isPeerEvent(e.k)) {
      if (e.k === TIMER && p.timerAt === e.t) p.meter.lagged(Number.isNaN(e.due) ? 0 : e.t - e.due);
      this.cpu(p, e.k === TIMER ? (this.world as WorldModel).timerMs : 0);
    }
    this.step(e);
    if (!e.held) this.pool.put(e);
    return undefined;
  }

  private async realCrypto(e: SimEvent): Promise<void> {
    const p = e.p as SimPeer;
    if (p.alive && p.core) {
      p.core.handleCryptoResult(await (this.runner as (job: CryptoJob) => Promise<CryptoResult>)(e.job as CryptoJob), this.now);
      this.drain(p);
    }
    this.pool.put(e);
  }

  private push(e: SimEvent): void {
    if (!isPeerEvent(e.k)) {
      this.q.push(e);
      return;
    }
    const p = e.p as SimPeer;
    if (!p.alive || !p.own) {
      this.pool.put(e);
      return;
    }
    p.events.push(e);
    this.peerEvents++;
  }

  private addPeer(core: PeerCore | BroadcasterCore | undefined, isBroadcaster: boolean, upBps: number, profile?: ReturnType<typeof drawProfile>): SimPeer {
    const num = this.nextNum++;
    const id = isBroadcaster ? 'broadcaster' : `p${num}`;
    const p: SimPeer = {
      id, num, core, own: this.owns(num), rng: new SeededRng(pairHash(num, num, this.o.seed) * 4294967296), isBroadcaster, upBps, downBps: profile?.downBps ?? this.o.downBps, upFree: 0, downFree: 0, alive: true, polluter: false,
      queueBytes: profile?.queueBytes ?? 0, cpuFactor: profile?.cpuFactor ?? 0, cpuFree: 0, meter: new CapacityMeter(), crashes: profile?.crashes ?? false,
      beat: { periodMs: this.welcomeHeartbeatMs, dueMs: this.now + this.welcomeHeartbeatMs, lastMs: -Infinity, sent: null },
      timerAt: Infinity, connected: new Set(), pending: new Set(), listed: new Set(), wires: new Map(),
      rec: { id, joinMs: this.now, leftMs: Infinity, bytesUp: 0, bytesDown: 0, controlDown: 0, controlMsgsUp: 0, haveMsgsUp: 0, delivered: new Map(), startupMs: -1, role: '', upBps, reportedBps: NaN, crashed: false, firstLinkMs: NaN, firstFromBroadcasterMs: NaN, firstFrameMs: NaN, initMs: NaN },
      initDelivered: false, events: new TimedHeap<SimEvent>(),
    };
    this.peers.set(id, p);
    this.byNum[num] = p;
    return p;
  }

  private step(e: SimEvent): void {
    const p = e.p as SimPeer;
    // Peer events reach only peers this part runs, which have cores; the others have none.
    const core = p?.core as PeerCore | BroadcasterCore;
    switch (e.k) {
      case DELIVER: return this.deliver(e);
      case TIMER:
        if (!p.alive || p.timerAt !== e.t) return;
        p.timerAt = Infinity;
        core.handleTimeout(e.t);
        if (p.adv) this.attack(p, p.adv);
        return this.drain(p);
      case WRITABLE: {
        const dst = e.q as SimPeer;
        const w = p.wires.get(dst.id);
        if (!p.alive || !w?.up) return;
        core.handleBufferedAmount(dst.id, w.buffered(this.now), e.t);
        return this.drain(p);
      }
      case CRYPTO: {
        if (!p.alive) return;
        core.handleCryptoResult(this.oracle.run(e.job as CryptoJob), this.now);
        return this.drain(p);
      }
      case LINK_DOWN: {
        const other = e.q as SimPeer;
        if (!p.alive || !p.connected.has(other)) return;
        this.unlinkSide(p, other);
        if (!other.alive) p.wires.delete(other.id);
        core.handlePeerDisconnected(other.id, e.t);
        return this.drain(p);
      }
      case PUBLISH: return this.publish();
      case CONNECT: return this.connect(p, e.q as SimPeer);
      case JOIN: return this.join();
      case LEAVE:
        if (p.alive) {
          if (p.crashes) this.crash(p);
          else this.leave(p);
          // A banned `rejoin` attacker comes back at once under a new id from the same address.
          this.join(p.adv?.leaving ? p : undefined);
        }
        return;
      case FAIL_PAIR: {
        const other = e.other as string;
        this.failing.delete(`${p.num}>${other}`);
        const o = this.peers.get(other);
        if (o) {
          p.pending.delete(o);
          o.pending.delete(p);
        }
        if (p.alive) this.room.reportFailedPair?.(p.id, other, this.now);
        this.pumpRoom();
        return;
      }
      case COMPLAIN: {
        // The producer's complaint reaches the room (as the session's tracker client sends it).
        const other = e.other as string;
        if (p.alive && this.room.complain) {
          const had = this.room.rolesOf?.(other).holderKeys.length ?? 0;
          if (this.room.complain(p.id, other, this.now, { key: e.count })) {
            this.complaints.push({ by: p.id, peerId: other, reason: e.role ?? '', atMs: this.now, moved: had > 0 && (this.room.rolesOf?.(other).holderKeys.length ?? 0) === 0 });
          }
          this.pumpRoom();
        }
        return;
      }
      case LEAVE_MANY: {
        const victims = [...this.peers.values()].filter((v) => !v.isBroadcaster && (!e.role || v.rec.role === e.role)).reverse().slice(0, e.count);
        for (const v of victims) this.leave(v);
        return;
      }
      case TRACKER:
        this.heartbeats();
        this.room.tick(this.now);
        if (this.modes.length === 0 || this.modes[this.modes.length - 1].mode !== this.room.swarmMode) this.modes.push({ atMs: this.now, mode: this.room.swarmMode });
        this.pumpRoom();
        this.push(this.pool.get(this.now + 1000, TRACKER));
        return;
    }
  }

  /**
   * Viewers' heartbeats, checked every second: each carries what its capacity meter reported (the
   * measured upload and how limited it was, as a session's does, never a claim), and goes when its
   * tracker client would send it (beats()). The room hears it at the next check, a second later,
   * as a heartbeat in flight: only the part that runs a peer feeds its meter and decides, and the
   * heartbeat reaches the other parts' copies of the room with the next window's hand-over, so
   * every part applies the same heartbeats at the same moment.
   */
  private heartbeats(): void {
    const room = this.room;
    if (room.heartbeat) {
      for (const v of this.peers.values()) {
        const r = this.reports.get(v.num);
        if (r && !v.isBroadcaster) room.heartbeat(v.id, r, this.now);
      }
    }
    this.reports = new Map();
    for (const v of this.peers.values()) {
      if (v.isBroadcaster || !v.own) continue;
      v.meter.buffered(this.backlog(v), this.now);
      const r = v.meter.report(this.now);
      // An attacker claiming roles reports a made-up figure: the tracker hears only what peers say.
      const bps = v.adv?.claimBps ?? r.uploadBps;
      // Rounded as the session rounds it, so a figure crossing to another part is the same there.
      const figure = bps === undefined ? null : { measuredUploadBps: Math.min(0xfffffffe, Math.round(bps)), uploadLimitedShare: v.adv?.claimBps !== undefined ? 0 : Math.round(r.limitedShare * 1000) / 1000 };
      if (figure) v.rec.reportedBps = figure.measuredUploadBps;
      if (!this.beats(v, figure)) continue;
      const report = figure ?? {};
      this.reports.set(v.num, report);
      for (let j = 0; j < this.outbox.length; j++) if (this.part && j !== this.part.index) this.outbox[j].addReport(v.num, figure?.measuredUploadBps ?? NaN, figure?.uploadLimitedShare ?? 0);
    }
  }

  /**
   * Whether its tracker client sends a heartbeat now (TrackerClient.setStats and its timer): when
   * the period the room asked for is up, or at once when the figure is its first or moved by 1.5 ×
   * or across the limited line (0.25), at most once a second. Updates its heartbeat state.
   */
  private beats(v: SimPeer, figure: { measuredUploadBps: number; uploadLimitedShare: number } | null): boolean {
    const b = v.beat;
    const was = b.sent;
    const moved = figure !== null && this.now - b.lastMs >= 1000 && (!was || figure.measuredUploadBps > was.measuredUploadBps * 1.5 || figure.measuredUploadBps < was.measuredUploadBps / 1.5 || (was.uploadLimitedShare > 0.25) !== (figure.uploadLimitedShare > 0.25));
    if (!moved && this.now < b.dueMs) return false;
    b.lastMs = this.now;
    b.dueMs = this.now + b.periodMs;
    if (figure) b.sent = figure;
    return true;
  }

  /** Bytes its uplink has not serialized yet: what its channels' bufferedAmount add up to. */
  private backlog(p: SimPeer): number {
    return Math.max(0, p.upFree - this.now) * p.upBps / 8000;
  }

  /** Its event loop spends `ms` (a desktop's time) now. */
  private cpu(p: SimPeer, ms: number): void {
    if (p.cpuFactor) p.cpuFree = Math.max(p.cpuFree, this.now) + ms * p.cpuFactor;
  }

  /** A viewer joins (`prev`: a banned attacker coming back under a new id from its address). */
  private join(prev?: SimPeer): void {
    const codec = this.codec;
    // Identity runs make packets for free: caching them would only cost memory (10 000 peers);
    // nobody reads their frame histories.
    const lean = this.o.bytes ? {} : { cacheEncodedPackets: 0, keepFrameMs: 3000, frameHistory: 0 };
    const config = { seed: this.o.seed + this.nextNum, ...lean, ...this.o.peerConfig };
    const core = this.owns(this.nextNum) ? new PeerCore({ peerId: `p${this.nextNum}`, codec, config }) : undefined;
    // The tracker announces the current broadcast; manifests of any other are refused.
    core?.handleBroadcast(this.broadcastId, this.now);
    const profile = this.world ? drawProfile(this.world, this.o.bitrateBps, this.rng) : undefined;
    const p = this.addPeer(core, false, profile?.upBps ?? this.rng.uniform(this.o.upMinBps, this.o.upMaxBps), profile);
    const index = prev ? -1 : this.joins++;
    let kind: AttackKind | undefined = prev?.adv?.kind;
    if (!prev && index < this.o.peers) {
      if (index < this.o.polluters) kind = 'pollute';
      else if (this.o.adversaries > 0 && isAttackerSlot(this.o.adversaries, index)) kind = attackOf(this.o.attack, this.attackersMade++, !this.o.bytes);
    }
    const host = prev ? (this.hostOf.get(prev.id) as string) : `h${p.num}`;
    this.hostOf.set(p.id, host);
    if (kind) this.makeAttacker(p, kind, prev !== undefined);
    // Attackers stay (a rejoin attacker leaves once banned, and comes back).
    else if (this.o.churnPerMin > 0) this.push(this.pool.get(this.now + this.rng.exp(60_000 / this.o.churnPerMin), LEAVE, p));
    // A new peer has measured nothing: it reports no upload until its meter has.
    this.room.join(p.id, { hostKey: host }, this.now);
    this.pumpRoom();
  }

  private makeAttacker(p: SimPeer, kind: AttackKind, rejoined: boolean): void {
    const forge = this.o.bytes ? undefined : (m: Manifest) => this.forgeOld(m);
    p.adv = new Adversary(kind, forge, this.o.bitrateBps);
    p.polluter = kind === 'pollute' || kind === 'rejoin';
    p.crashes = false;
    p.rec.adversary = kind;
    if (rejoined) this.rejoins++;
    const rec: AttackerRecord = { id: p.id, kind, joinMs: this.now, leftMs: Infinity, counts: p.adv.counts, touched: p.adv.touched, paidBytes: 0, paidByBroadcaster: 0 };
    this.attackers.push({ p, rec });
    this.attackerOf.set(p.id, rec);
  }

  /** The manifest of an earlier broadcast for the same frame, signed with the same key (what a replay attacker recorded). */
  private forgeOld(m: Manifest): Manifest {
    const r = this.oracle.run({ kind: 'sign-manifest', id: 0, seq: m.seq, frame: zeroView(m.length), captureTimeMs: m.captureTimeMs, flags: m.flags, broadcastId: this.oldBroadcastId });
    return (r as Extract<CryptoResult, { kind: 'sign-manifest' }>).manifest;
  }

  /** An attacker's timer ticked: what it adds on its own goes out to its neighbours. */
  private attack(p: SimPeer, adv: Adversary): void {
    const view = [...p.connected].map((o) => ({ id: o.id, broadcaster: o.isBroadcaster }));
    for (const m of adv.tick(this.now, view)) this.transmit(p, m.to, m.control, m.message);
  }

  private leave(p: SimPeer): void {
    p.alive = false;
    p.rec.leftMs = this.now;
    this.peers.delete(p.id);
    this.byNum[p.num] = undefined;
    if (p.own) this.gone.push(p.rec);
    for (const o of [...p.connected]) {
      this.unlink(p, o);
      if (o.alive) o.core?.handlePeerDisconnected(p.id, this.now);
      this.drain(o);
    }
    // Nobody links to it again (a new viewer gets a new id): its wires go on both sides.
    for (const w of p.wires.values()) w.to?.wires.delete(p.id);
    p.wires.clear();
    p.pending.clear();
    this.peerEvents -= p.events.size;
    p.events.clear();
    p.core?.destroy();
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
          // A peer the room still lists after it crashed: the link never comes up.
          if (!o && this.world) this.failLater(p, n.peerId);
          if (!o || p.connected.has(o) || p.pending.has(o)) continue;
          p.pending.add(o);
          o.pending.add(p);
          if (pairKind(this.world, this.pairU(p, o)) === 'blocked') {
            this.failLater(p, o.id);
            continue;
          }
          // Each side comes up at the same time, as an event of its own.
          const at = this.now + 1.5 * this.rtt(p, o) + 20;
          this.push(this.pool.get(at, CONNECT, p, o));
          this.push(this.pool.get(at, CONNECT, o, p));
        }
        for (const o of [...p.connected]) if (!p.listed.has(o.id) && !o.listed.has(p.id)) this.disconnect(p, o);
        if (p.core instanceof PeerCore) p.core.handleNeighbours(ev.neighbours, this.now);
      } else if (ev.type === 'roles') {
        if (p.core instanceof PeerCore) p.core.handleRoles(ev, this.now);
        // Its tracker client heartbeats at the period the room asks for, from now.
        if (ev.heartbeatMs && ev.heartbeatMs !== p.beat.periodMs) {
          p.beat.periodMs = ev.heartbeatMs;
          p.beat.dueMs = this.now + ev.heartbeatMs;
        }
        p.rec.role = ev.holderKeys.length ? 'holder' : ev.producerGroups.length ? 'producer' : '';
      } else if (ev.type === 'swarm' && p.core instanceof BroadcasterCore) {
        p.core.handleSwarm({ mode: ev.mode, holders: ev.holders }, this.now);
      }
      this.drain(p);
    }
  }

  /**
   * a's side of its link to b comes up (b's side comes up at the same time in b's own event). Both
   * sides decide alike: whether the two are alive and listed changes only between windows.
   */
  private connect(a: SimPeer, b: SimPeer): void {
    a.pending.delete(b);
    // b in another part: its side here is bookkeeping only (its part brings its core up).
    if (!b.own) b.pending.delete(a);
    if (!a.alive || !b.alive || a.connected.has(b)) return;
    if (!a.listed.has(b.id) && !b.listed.has(a.id)) return;
    a.connected.add(b);
    this.wire(a, b).up = true;
    if (Number.isNaN(a.rec.firstLinkMs)) a.rec.firstLinkMs = this.now;
    // A new id of an address a banned (the banned id itself linking again is no reintroduction).
    if (b.adv && !a.adv && this.bannedHosts.get(a.id)?.has(this.hostOf.get(b.id) as string) && !this.bannedPairs.has(`${a.id}>${b.id}`)) this.reintroduced++;
    if (!b.own) {
      b.connected.add(a);
      this.wire(b, a).up = true;
    }
    a.core?.handlePeerConnected(b.id, this.now);
    this.drain(a);
  }

  private disconnect(a: SimPeer, b: SimPeer): void {
    this.unlink(a, b);
    if (a.alive) a.core?.handlePeerDisconnected(b.id, this.now);
    if (b.alive) b.core?.handlePeerDisconnected(a.id, this.now);
    this.drain(a);
    this.drain(b);
  }

  private rtt(a: SimPeer, b: SimPeer): number {
    const base = this.o.rttMinMs + (this.o.rttMaxMs - this.o.rttMinMs) * pairHash(a.num, b.num, this.o.seed);
    const w = this.world;
    if (!w || pairKind(w, this.pairU(a, b)) !== 'relayed') return base;
    return base + w.relayExtraRttMs[0] + (w.relayExtraRttMs[1] - w.relayExtraRttMs[0]) * pairHash(a.num, b.num, this.o.seed ^ 0x7e1a);
  }

  /** A fixed value in [0, 1) per pair: whether it connects directly, through TURN or not at all. */
  private pairU(a: SimPeer, b: SimPeer): number {
    return pairHash(a.num, b.num, this.o.seed ^ 0x3a7b);
  }

  /** How a pair connects in this run's world: directly, through TURN, or not at all. */
  pairKindOf(a: SimPeer, b: SimPeer): 'blocked' | 'relayed' | 'direct' {
    return pairKind(this.world, this.pairU(a, b));
  }

  /** p's side of its link to dst (made when they connect; it outlives a disconnect, as a channel's queue would). */
  private wire(p: SimPeer, dst: SimPeer): Wire {
    let w = p.wires.get(dst.id);
    if (!w) {
      p.wires.set(dst.id, (w = new Wire(dst, this.rtt(p, dst))));
      if (this.world && pairKind(this.world, this.pairU(p, dst)) === 'relayed') w.capBps = this.world.relayCapBps;
    }
    return w;
  }

  /** p's link to peer `other` will not come up: p tells the tracker after the transport's connect timeout. */
  private failLater(p: SimPeer, other: string): void {
    const key = `${p.num}>${other}`;
    if (this.failing.has(key)) return;
    this.failing.add(key);
    const e = this.pool.get(this.now + (this.world as WorldModel).connectTimeoutMs, FAIL_PAIR, p);
    e.other = other;
    this.push(e);
  }

  /**
   * p crashes: no goodbye. Its neighbours find its links down after an ICE-like timeout, the tracker
   * after its heartbeat timeout (its leases lapse sooner); meanwhile the room may list it to others.
   */
  private crash(p: SimPeer): void {
    p.alive = false;
    p.rec.leftMs = this.now;
    p.rec.crashed = true;
    this.peers.delete(p.id);
    this.byNum[p.num] = undefined;
    if (p.own) this.gone.push(p.rec);
    const w = this.world as WorldModel;
    for (const o of p.connected) {
      const after = w.linkDeadMs[0] + (w.linkDeadMs[1] - w.linkDeadMs[0]) * pairHash(p.num, o.num, this.o.seed ^ 0x1d1e);
      this.push(this.pool.get(this.now + after, LINK_DOWN, o, p));
    }
    this.peerEvents -= p.events.size;
    p.events.clear();
    p.core?.destroy();
  }

  private unlink(a: SimPeer, b: SimPeer): void {
    this.unlinkSide(a, b);
    this.unlinkSide(b, a);
  }

  /** a's side of the link to b goes down (the other side follows with b's own events). */
  private unlinkSide(a: SimPeer, b: SimPeer): void {
    a.connected.delete(b);
    const ab = a.wires.get(b.id);
    if (ab) ab.up = false;
  }

  private publish(): void {
    const b = this.broadcaster.core as BroadcasterCore;
    for (const f of this.source.close(this.now)) this.emitFrame(b, f, this.now);
    this.push(this.pool.get(this.now + this.o.frameMs, PUBLISH, this.broadcaster));
  }

  private emitFrame(b: BroadcasterCore, f: SourceFrame, t: number): void {
    const seq = b.publishFrame(f.bytes, f.flags, f.captureMs, t);
    this.timeline?.published(seq, t);
    this.frames.push({ seq, captureMs: f.captureMs, publishMs: t, length: f.bytes.length, fragment: f.fragment, mediaStartMs: f.mediaStartMs, mediaEndMs: f.mediaEndMs });
    if (this.o.bytes) this.sourceFrames.set(seq, f.bytes);
    this.drain(this.broadcaster);
  }

  // ---- moving messages ------------------------------------------------------------------------

  private drain(p: SimPeer): void {
    const core = p.core;
    if (!p.alive || !core) return;
    for (let o: CoreOutput | undefined; (o = core.pollOutput()); ) {
      switch (o.type) {
        case 'send': this.send(p, o.peerId, o.channel === 'control', o.message); break;
        case 'crypto': {
          const e = this.pool.get(this.now + 0.2, CRYPTO, p);
          e.job = o.job;
          this.push(e);
          break;
        }
        case 'frame': this.onDelivered(p, o.manifest, o.frame); break;
        case 'bad-peer': {
          if (!o.banned) {
            if (p.isBroadcaster && o.reason.startsWith('direct-feed slot')) this.slotMoves.push({ peerId: o.peerId, atMs: this.now });
            break;
          }
          this.bans.push({ by: p.id, peerId: o.peerId, atMs: this.now, reason: o.reason });
          // p closes the link now; the banned peer notices one one-way delay later.
          const other = this.peers.get(o.peerId);
          if (other) this.onBan(p, other);
          if (other && p.connected.has(other)) {
            this.unlinkSide(p, other);
            this.push(this.pool.get(this.now + this.lookaheadMs, LINK_DOWN, other, p));
          }
          break;
        }
        case 'complaint': {
          // The tracker client sends at most one complaint per COMPLAINT_SPACING_MS.
          const at = Math.max(this.now + Math.max(50, this.lookaheadMs), (this.lastComplaintAt.get(p.id) ?? -Infinity) + COMPLAINT_SPACING_MS);
          this.lastComplaintAt.set(p.id, at);
          this.callRoom({ at, from: p.num, kind: COMPLAIN, other: o.peerId, key: o.evidence.key, reason: o.reason });
          break;
        }
        case 'want-writable': {
          const dst = this.peers.get(o.peerId);
          if (dst) this.push(this.pool.get(p.wires.get(dst.id)?.writableAt(this.now, core.cfg.mediaBudgetBytes / 2) ?? this.now, WRITABLE, p, dst));
          break;
        }
      }
    }
    const nt = core.nextTimeout();
    if (nt !== undefined) {
      const at = Math.max(nt, this.now);
      if (at < p.timerAt) {
        p.timerAt = at;
        this.push(this.pool.get(at, TIMER, p));
      }
    }
  }

  /**
   * p banned `other`: as a session does, p tells the tracker (a failed pair, so the room does not
   * introduce the two again, nor other ids of the same address; every part's room hears it). A banned `rejoin` attacker
   * leaves and comes back under a new id.
   */
  private onBan(p: SimPeer, other: SimPeer): void {
    this.callRoom({ at: this.now + Math.max(50, this.lookaheadMs), from: p.num, kind: FAIL_PAIR, other: other.id });
    if (!other.adv || p.adv) return;
    const host = this.hostOf.get(other.id) as string;
    let hosts = this.bannedHosts.get(p.id);
    if (!hosts) this.bannedHosts.set(p.id, (hosts = new Set()));
    hosts.add(host);
    this.bannedPairs.add(`${p.id}>${other.id}`);
    if (other.adv.kind === 'rejoin' && !other.adv.leaving) {
      other.adv.leaving = true;
      this.push(this.pool.get(this.now + 500, LEAVE, other));
    }
  }

  private onDelivered(p: SimPeer, m: Manifest, frame: Uint8Array): void {
    if (p.rec.delivered.has(m.seq)) return;
    // Decoding, checking and appending it costs its event loop (verified frames are appended at once).
    if (p.cpuFactor) this.cpu(p, (this.world as WorldModel).frameMs + (this.world as WorldModel).perKiBMs * (frame.length / 1024));
    p.rec.delivered.set(m.seq, this.now);
    const trace = this.timeline && !(m.flags & FLAG_INIT_SEGMENT) ? this.timeline.trace(p.num, m.seq, this.now) : undefined;
    if (trace) (p.rec.timeline ??= new Map()).set(m.seq, trace);
    if (m.flags & FLAG_INIT_SEGMENT) {
      p.initDelivered = true;
      if (Number.isNaN(p.rec.initMs)) p.rec.initMs = this.now;
    } else {
      if (Number.isNaN(p.rec.firstFrameMs)) p.rec.firstFrameMs = this.now;
      if (p.rec.startupMs < 0 && p.initDelivered && m.flags & FLAG_KEY_FRAME) p.rec.startupMs = this.now - p.rec.joinMs;
    }
    this.onFrame?.(p.id, m, frame, this.now);
  }

  /** What a core sends; an attacker's passes through its adversary first. */
  private send(p: SimPeer, to: string, control: boolean, message: WireMessage): void {
    if (!p.adv) return this.transmit(p, to, control, message);
    if (!p.wires.get(to)?.up) return;
    const m = p.adv.outgoing(to, message, this.now);
    if (m) this.transmit(p, to, control, m);
  }

  private transmit(p: SimPeer, to: string, control: boolean, message: WireMessage): void {
    const w = p.wires.get(to);
    if (!w?.up) return;
    const dst = w.to as SimPeer;
    if (control) {
      p.rec.controlMsgsUp = (p.rec.controlMsgsUp ?? 0) + 1;
      if (message.type === 'have') p.rec.haveMsgsUp = (p.rec.haveMsgsUp ?? 0) + 1;
    }
    let msg: WireMessage | Uint8Array = message;
    const size = encodedLength(message);
    // REQUESTs ride the reliable unordered requests channel, as the session routes them (the
    // few milliseconds after a connection opens, when they go on control, are not modelled).
    const ordered = !!this.o.orderedRequests || !onRequestsChannel(message.type);
    if (this.o.bytes) msg = encodeMessage(msg as WireMessage);
    const world = this.world;
    let at: number;
    if (world) {
      const r = this.harshSend(p, w, world, size, control, ordered);
      if (r < 0) return;
      at = r;
    } else {
      p.rec.bytesUp += size;
      if (dst.adv && !p.adv) this.paid(p, dst, size);
      p.meter.sent(size, this.now);
      const depart = Math.max(this.now, p.upFree) + (size * 8000) / p.upBps;
      p.upFree = depart;
      p.meter.buffered(this.backlog(p), this.now);
      if (!control) w.add(depart, size);
      const lost = this.o.loss > 0 && p.rng.next() < this.o.loss;
      if (lost && !control) return;
      at = depart + w.rttMs / 2 + p.rng.next() * this.o.jitterMs;
      this.lastDepart = depart;
      this.lastSer = (size * 8000) / p.upBps;
      if (control) {
        if (lost) at += w.rttMs + 20;
        at = w.controlArrival(at, ordered);
      }
    }
    if (at < this.windowEnd) throw new Error(`simulator: a message would arrive inside its lookahead window (${at} < ${this.windowEnd})`);
    if (!dst.own) {
      this.outbox[dst.num % this.outbox.length].add(at, p.num, dst.num, size, control, msg as WireMessage);
      return;
    }
    const e = this.pool.get(at, DELIVER, dst, p);
    e.wire = w;
    e.msg = msg;
    e.size = size;
    e.control = control;
    if (this.timeline) e.sent = this.timeline.sent(p.num, dst.num, message, this.now, this.lastDepart, this.lastSer, at, (seq, g) => this.madeAt(p, seq, g));
    this.push(e);
  }

  /**
   * One message through the harsh world: drop-tail at the sender's bounded queue (media only; the
   * reliable channel keeps control), the TURN relay's rate cap, bursty loss plus loss from queue fill,
   * and for control a retransmission after each loss (RTO doubling). Returns the arrival time, or -1
   * when the message is lost.
   */
  private harshSend(p: SimPeer, w: Wire, world: WorldModel, size: number, control: boolean, ordered: boolean): number {
    const now = this.now;
    const queued = this.backlog(p);
    if (!control && p.queueBytes > 0 && queued + size > p.queueBytes) {
      p.meter.droppedBytes(size, now);
      return -1;
    }
    this.cpu(p, world.sendMs + world.perKiBMs * (size / 1024));
    p.rec.bytesUp += size;
    const dst = w.to as SimPeer;
    if (dst.adv && !p.adv) this.paid(p, dst, size);
    p.meter.sent(size, now);
    let depart = Math.max(now, p.upFree) + (size * 8000) / p.upBps;
    p.upFree = depart;
    if (w.capBps > 0) {
      depart = Math.max(depart, w.relayFree + (size * 8000) / w.capBps);
      w.relayFree = depart;
    }
    p.meter.buffered(this.backlog(p), now);
    if (!control) w.add(depart, size);
    this.lastDepart = depart;
    this.lastSer = (size * 8000) / p.upBps;
    const fill = p.queueBytes > 0 ? queued / p.queueBytes : 0;
    const lossAt = (t: number) => burstLoss(world, this.o.loss, w, t, p.rng) + queueLoss(world, fill);
    let lost = p.rng.next() < lossAt(depart);
    if (lost && !control) return -1;
    let at = depart + w.rttMs / 2 + p.rng.next() * this.o.jitterMs;
    if (control) {
      const first = at;
      let rto = Math.max(world.rtoMinMs, 2 * w.rttMs);
      for (let tries = 0; lost && tries < 8; tries++) {
        at += rto;
        rto *= 2;
        lost = p.rng.next() < lossAt(at - w.rttMs / 2);
      }
      const own = at;
      at = w.controlArrival(at, ordered);
      const c = this.control;
      c.sent++;
      c.queueMs += depart - (size * 8000) / p.upBps - now;
      if (own > first) {
        c.retransmitted++;
        c.retransmitMs += own - first;
      }
      if (at > own) {
        c.heldBehind++;
        c.heldBehindMs += at - own;
      }
    }
    return at;
  }

  /** When producer p made group g's feed packets of frame seq (NaN: not known). */
  private madeAt(p: SimPeer, seq: number, g: number): number {
    const made = p.core instanceof PeerCore ? p.core.framesBySeq.get(seq)?.seeds?.get(g)?.madeMs : undefined;
    return made === undefined || made < 0 ? NaN : made;
  }

  /** An honest peer sent an attacker `size` bytes (upload paid to attackers). */
  private paid(p: SimPeer, dst: SimPeer, size: number): void {
    const r = this.attackerOf.get(dst.id);
    if (!r) return;
    r.paidBytes += size;
    if (p.isBroadcaster) r.paidByBroadcaster += size;
  }

  private deliver(e: SimEvent): void {
    const to = e.p as SimPeer;
    const from = e.q as SimPeer;
    if (!(e.wire as Wire).up) return; // a peer left or the link went down on the way
    if (!e.queued) {
      const start = Math.max(e.t, to.downFree);
      to.downFree = start + (e.size * 8000) / to.downBps;
      if (start > e.t + 0.05) {
        // The download link is busy: the message arrives once it has been received.
        e.queued = true;
        e.t = to.downFree;
        e.held = true;
        this.push(e);
        return;
      }
    }
    to.rec.bytesDown += e.size;
    if (from.isBroadcaster && !e.control && Number.isNaN(to.rec.firstFromBroadcasterMs)) to.rec.firstFromBroadcasterMs = this.now;
    if (e.control) to.rec.controlDown += e.size;
    if (to.cpuFactor) this.cpu(to, (this.world as WorldModel).receiveMs + (this.world as WorldModel).perKiBMs * (e.size / 1024));
    const core = to.core as PeerCore | BroadcasterCore;
    if (to.adv) {
      const r = e.msg instanceof Uint8Array ? parseMessage(e.msg) : { ok: true as const, message: e.msg as WireMessage };
      if (r.ok) to.adv.observe(r.message);
    }
    if (e.sent && !(e.msg instanceof Uint8Array)) (this.timeline as FrameTimeline).received(to.num, e.msg as WireMessage, e.sent, this.now, Number.isNaN(e.due) ? 0 : this.now - e.due);
    if (e.msg instanceof Uint8Array) core.handleMessage(from.id, e.msg, this.now);
    else core.handleParsed(from.id, e.msg as WireMessage, this.now);
    this.drain(to);
  }
}

export async function simulate(options: Partial<SimOptions>, onFrame?: FrameSink): Promise<{ report: SimReport; sim: Simulator }> {
  if (options.whyMissed) return simulateWhyMissed(options, onFrame);
  const sim = new Simulator(options);
  sim.onFrame = onFrame;
  const report = await sim.run();
  return { report, sim };
}

/**
 * `whyMissed`: the run once for its delivery times (hence the playout and when the player needed
 * each fragment it lacked), then the same seeded run again looking at each late frame's state at
 * that moment. The second run must repeat the first exactly; the report says so.
 */
async function simulateWhyMissed(options: Partial<SimOptions>, onFrame?: FrameSink): Promise<{ report: SimReport; sim: Simulator }> {
  const first = new Simulator({ ...options, whyMissed: false });
  const r1 = await first.run();
  const o = first.o;
  const viewers = [...first.gone, ...[...first.peers.values()].filter((p) => !p.isBroadcaster).map((p) => p.rec)];
  const { misses, due } = listMisses({ frames: first.frames, viewers, deadlineMs: o.deadlineMs, warmupMs: o.warmupMs, endMs: o.seconds * 1000 });
  const sim = new Simulator({ ...options, whyMissed: false, missProbes: probesOf(misses) });
  sim.onFrame = onFrame;
  const report = await sim.run();
  const same = report.framesOnTimePct === r1.framesOnTimePct && report.events === r1.events;
  const shares = viewers.filter((v) => due.has(v.id)).map((v) => ({ id: v.id, upRatio: v.upBps / o.bitrateBps, due: due.get(v.id) ?? 0 }));
  report.misses = { ...summarizeMisses(misses, sim.missSnapshots, shares), repeated: same, control: { ...sim.control } };
  return { report, sim };
}
