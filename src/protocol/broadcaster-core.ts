// The I/O-free broadcaster core: numbers and signs frames (through crypto jobs), sends code
// segments CS(c) to the holders in holder mode or distinct feed packets spread over its direct
// viewers in direct feed, sends each manifest to a couple of neighbours only (peers relay it),
// and answers the bounded repairs of its own neighbours. Its upload never grows with viewers.
// No clock, timers or sockets. Called by the broadcaster session and the simulator.

import { P2PError } from '../errors.ts';
import type { CoreOutput, FrameCodec } from './core-types.ts';
import type { CryptoResult } from './crypto-jobs.ts';
import { directSlotKeys } from './frame-state.ts';
import { isImpliedKey } from './implied-keys.ts';
import { KeySet } from './key-set.ts';
import { DEFAULT_POLICY, NeighbourPolicy } from './neighbour-policy.ts';
import { SendQueue } from './send-queue.ts';
import { SlotLossMeter, spareKeysFor } from './spare-keys.ts';
import { countUpload, emptyUploadBreakdown, type MediaCause, type UploadBreakdown } from './upload-breakdown.ts';
import { DEFAULT_SLOT_JUDGE, SlotJudge, type SlotJudgeConfig } from './slot-judge.ts';
import {
  BROADCAST_ID_BYTES, CS_CHUNK_BYTES, FLAG_INIT_SEGMENT, FLAGS_DEFINED, MAX_FRAME_BYTES, packetSizeOf, parseMessage, type Manifest, type WireMessage,
} from './wire.ts';

export type SwarmMode = 'direct' | 'holder';

export interface BroadcasterConfig {
  /**
   * Feed keys sent per frame in direct feed beyond 64 (absorbs loss before any repair): at least
   * this many; more when the trusted direct viewers' measured loss calls for it (spare-keys.ts).
   */
  directSpareKeys: number;
  /**
   * The most spare keys the measured loss may raise it to (the larger of this and directSpareKeys):
   * bounds what viewers asking for repairs they do not need can cost, (64 + this) / 64 × the stream.
   */
  directSpareKeysMax: number;
  /**
   * Which trusted direct viewer's measured loss decides the spare: its quantile among them (1: the
   * worst, 0.5: the median). Loss on the broadcaster's own uplink shows at every viewer; one
   * viewer's own lossy downlink is met by its repairs.
   */
  spareLossQuantile: number;
  /**
   * Share (0…1) of the repair allowance a frame's slots earn (64 × repairShare keys) taken off the
   * spare's margin above the expected loss (spare-keys.ts). 0, the default: the spare covers the
   * margin by itself. 1 was tried in the lab and not made the default (docs/netlab.md, the
   * broadcaster's upload by cause): fewer spare keys, but frames short.
   */
  spareRepairCredit: number;
  /** The spare is worked out again at most this often (each change sends every direct viewer a DIRECT_SLOT). */
  spareRefreshMs: number;
  /** Neighbours each manifest is sent to; everyone else gets it from peers. */
  manifestFanout: number;
  /** After a mode switch, frames sent both ways so playback has no gap. */
  overlapFrames: number;
  /** Frames kept for repairs this long. */
  keepFrameMs: number;
  /** Repair requests (of any kind) answered per frame and neighbour: maxRepairsPerFrame × 4; beyond, counted as bad. */
  maxRepairsPerFrame: number;
  /**
   * Repairs stay within a share of what each neighbour is sent: the feed keys of a direct viewer's
   * slot add repairShare × their bytes to its repair allowance, the code segments of a holder add
   * segmentRepairShare × theirs (capped at repairBurstBytes), and a repair spends its bytes. The
   * allowance goes where the loss is: only a slotted viewer or a holder can ask for repairs, so one
   * share of the stream split over every neighbour gave each holder (sent 1/8 of each frame per key,
   * 11 keys: 1.375 × the stream in all) less than a 5 % loss took from it. Keeps the upload bound
   * whatever the neighbours ask: direct feed ≤ (1 + repairShare) × what it sends, holder mode
   * ≤ (1 + segmentRepairShare) × 1.375 with 11 keys.
   */
  repairShare: number;
  segmentRepairShare: number;
  repairBurstBytes: number;
  mediaBudgetBytes: number;
  mediaQueueMax: number;
  /** Media is dropped if it could not leave within this long. */
  mediaLifetimeMs: number;
  /**
   * Distinct neighbours whose live reports of a ban demote a viewer while they last: no direct-feed
   * slot and no manifests first-hand (it collects from its neighbours as in holder mode). A report
   * is a claim, not evidence: it expires, and it never bans.
   */
  reportsToDemote: number;
  /** A report counts this long after it came. */
  reportTtlMs: number;
  /**
   * Peers one reporter's live reports name at most: a newer report replaces its oldest. An honest
   * viewer reports the few neighbours it banned or found passing on bad packets (3 colluding
   * polluters among its 8 neighbours: 3; with 2 here the first-banned one was forgotten and kept its
   * slot, collusion.test.ts); a liar that names every neighbour it has (false REPORTs) weighs no
   * more than that, so colluding liars demote at most (liars × maxReportedPerReporter /
   * reportsToDemote) viewers at a time, not the swarm.
   */
  maxReportedPerReporter: number;
  /** Unparseable or out-of-protocol messages from a neighbour before the broadcaster drops it (its own evidence). */
  badMessagesToBan: number;
  /**
   * A holder given a key (or linked) later gets that key's code segments of the holder-mode frames
   * published this recently, when the frame's segments at connected holders cover fewer than
   * segmentBackfillBelow distinct keys (producers need 8, and use spares to check them): frames
   * under way when a holder left can still be made.
   */
  segmentBackfillMs: number;
  segmentBackfillBelow: number;
}

export const DEFAULT_BROADCASTER_CONFIG: Readonly<BroadcasterConfig> = Object.freeze({
  directSpareKeys: 1,
  directSpareKeysMax: 16,
  spareRefreshMs: 1000,
  spareLossQuantile: 0.5,
  spareRepairCredit: 0,
  manifestFanout: 2,
  overlapFrames: 6,
  keepFrameMs: 3000,
  maxRepairsPerFrame: 2,
  repairShare: 0.08,
  segmentRepairShare: 0.15,
  repairBurstBytes: 64 * 1024,
  mediaBudgetBytes: 16 * 1033,
  mediaQueueMax: 512,
  mediaLifetimeMs: 1000,
  reportsToDemote: 2,
  reportTtlMs: 10_000,
  maxReportedPerReporter: 4,
  badMessagesToBan: 50,
  segmentBackfillMs: 300,
  segmentBackfillBelow: 10,
});

interface Sent {
  seq: number;
  frame: Uint8Array;
  flags: number;
  captureTimeMs: number;
  publishedMs: number;
  manifest?: Manifest;
  /** Direct slots used for this frame (viewer → slot), the viewer of each slot, and their count. */
  slots: Map<string, number>;
  order: string[];
  slotCount: number;
  keys: number;
  repairs: Map<string, number>;
  /** Feed keys sent by repair, per neighbour (to count the ones sent it a second time). */
  repaired?: Map<string, KeySet>;
  /** Holder mode: the code segments sent for this frame, keys c by holder. */
  segments?: Map<string, Set<number>>;
}

interface Neighbour {
  peerId: string;
  /** Repair bytes it may still be sent (see repairShare, segmentRepairShare). */
  repairBytes: number;
  queue: SendQueue;
  slot: number;
  slotsSent: string;
}

export class BroadcasterCore {
  readonly cfg: BroadcasterConfig;
  private readonly codec: FrameCodec;
  private readonly neighbours = new Map<string, Neighbour>();
  private holders = new Map<string, number[]>();
  private mode: SwarmMode = 'direct';
  private overlapUntilSeq = -1;
  private nextSeq = 0;
  private readonly frames = new Map<number, Sent>();
  private readonly signing = new Map<number, number>();
  private jobId = 1;
  private readonly out: CoreOutput[] = [];
  private outHead = 0;
  private init: Sent | undefined;
  private lastGcMs = -Infinity;
  /** The latest time an input came with (scores decay with it). */
  private nowMs = 0;
  /** reported peer → reporter → when it reported (reports expire after reportTtlMs) */
  private readonly reports = new Map<string, Map<string, number>>();
  /** reporter → the peers its reports name, oldest first (at most maxReportedPerReporter) */
  private readonly reportedBy = new Map<string, string[]>();
  /** Neighbours dropped on the broadcaster's own evidence (bad messages to it). */
  private readonly banned = new Set<string>();
  /** Bad-message scores and serving budgets per neighbour (the one place that keeps them). */
  readonly policy: NeighbourPolicy;
  /** Judges direct-feed slot holders on their viewers' MISSING reports (withholding a slot's keys). */
  readonly slotJudge: SlotJudge;
  /** Per direct viewer, the share of its slot's keys it asked for again (the spare keys' measure). */
  readonly slotLoss = new SlotLossMeter();
  private spare: number;
  private spareAtMs = -Infinity;
  /**
   * repairsShort: feed keys asked for (within the request's count) left unserved because the
   * neighbour's repair allowance ran out; slotKeysAsked: keys of the asker's own slot named in
   * REQUESTs (what the spare keys' measure counts); extraKeysAsked: keys beyond the direct set named
   * in them (a viewer whose frame is short), up to each request's count; repairsRepeated: feed keys
   * sent by repair to a neighbour that had been sent the same key of the frame by repair before.
   */
  readonly stats = { framesPublished: 0, bytesPublished: 0, repairsServed: 0, repairsShort: 0, repairsRepeated: 0, slotKeysAsked: 0, extraKeysAsked: 0, badMessages: 0, segmentsBackfilled: 0, slotsMoved: 0 };
  /** What the core handed to the transport, by cause (upload-breakdown.ts). */
  readonly upload: UploadBreakdown = emptyUploadBreakdown();
  /** The cause each queued media message was sent for, and its frame's length (read when it leaves). */
  private readonly mediaTags = new WeakMap<WireMessage, { cause: MediaCause; length: number; init: boolean }>();

  /** The current broadcast (BROADCAST_ID_BYTES): signed into every manifest; the tracker announces it to viewers. */
  readonly broadcastId: Uint8Array;

  /**
   * `broadcastId`: 8 random bytes picked at go-live and sent to the tracker in the publish (all
   * zero when not given, for tools and tests that run one broadcast only).
   */
  constructor(opts: { codec: FrameCodec; config?: Partial<BroadcasterConfig>; firstSeq?: number; broadcastId?: Uint8Array; slotJudge?: Partial<SlotJudgeConfig> }) {
    this.cfg = { ...DEFAULT_BROADCASTER_CONFIG, ...opts.config };
    this.codec = opts.codec;
    this.nextSeq = opts.firstSeq ?? 0;
    if (opts.broadcastId !== undefined && opts.broadcastId.length !== BROADCAST_ID_BYTES) throw new P2PError('BAD_CONFIG', `broadcastId must be ${BROADCAST_ID_BYTES} bytes`);
    this.broadcastId = opts.broadcastId ? opts.broadcastId.slice() : new Uint8Array(BROADCAST_ID_BYTES);
    this.policy = new NeighbourPolicy({ ...DEFAULT_POLICY, badMessagesToBan: this.cfg.badMessagesToBan });
    this.slotJudge = new SlotJudge({ ...DEFAULT_SLOT_JUDGE, ...opts.slotJudge });
    if (!(this.cfg.repairShare >= 0 && this.cfg.repairShare <= 1)) throw new P2PError('BAD_CONFIG', 'repairShare must be in 0…1');
    if (!(this.cfg.segmentRepairShare >= 0 && this.cfg.segmentRepairShare <= 1)) throw new P2PError('BAD_CONFIG', 'segmentRepairShare must be in 0…1');
    if (this.cfg.directSpareKeys < 0 || this.cfg.directSpareKeys > 192) throw new P2PError('BAD_CONFIG', 'directSpareKeys must be in 0…192');
    if (!(this.cfg.directSpareKeysMax >= 0 && this.cfg.directSpareKeysMax <= 192)) throw new P2PError('BAD_CONFIG', 'directSpareKeysMax must be in 0…192');
    if (!(this.cfg.spareLossQuantile >= 0 && this.cfg.spareLossQuantile <= 1)) throw new P2PError('BAD_CONFIG', 'spareLossQuantile must be in 0…1');
    if (!(this.cfg.spareRepairCredit >= 0 && this.cfg.spareRepairCredit <= 1)) throw new P2PError('BAD_CONFIG', 'spareRepairCredit must be in 0…1');
    this.spare = this.cfg.directSpareKeys;
    if (!Number.isInteger(this.cfg.maxReportedPerReporter) || this.cfg.maxReportedPerReporter < 1) throw new P2PError('BAD_CONFIG', 'maxReportedPerReporter must be an integer ≥ 1');
  }

  /** Spare keys sent per direct-feed frame beyond 64 now (directSpareKeys…directSpareKeysMax). */
  get directSpare(): number {
    return this.spare;
  }

  get swarmMode(): SwarmMode {
    return this.mode;
  }

  handlePeerConnected(peerId: string, nowMs: number): void {
    if (this.neighbours.has(peerId) || this.banned.has(peerId)) return;
    this.neighbours.set(peerId, { peerId, repairBytes: this.cfg.repairBurstBytes / 4, queue: new SendQueue(this.cfg.mediaQueueMax), slot: -1, slotsSent: '' });
    this.send(peerId, 'control', { type: 'hello', initSeq: this.init ? this.init.seq : 0xffffffff, roles: 1 });
    if (this.holders.has(peerId)) this.backfillSegments(nowMs);
  }

  handlePeerDisconnected(peerId: string, _nowMs: number): void {
    this.neighbours.delete(peerId);
    this.reports.delete(peerId);
    this.reportedBy.delete(peerId);
    this.policy.forgetPeer(peerId);
    this.slotJudge.forgetPeer(peerId);
    this.slotLoss.forget(peerId);
  }

  /** The tracker's swarm summary: mode and the holders with their keys c. */
  handleSwarm(s: { mode: SwarmMode; holders: ReadonlyArray<{ peerId: string; keys: readonly number[] }> }, nowMs: number): void {
    this.holders = new Map(s.holders.map((h) => [h.peerId, [...h.keys]]));
    this.handleMode(s.mode, nowMs);
    this.backfillSegments(nowMs);
  }

  handleMode(mode: SwarmMode, _nowMs: number): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.overlapUntilSeq = this.nextSeq + this.cfg.overlapFrames;
  }

  /** Publishes one frame (1…65536 bytes); returns its sequence number. */
  publishFrame(frame: Uint8Array, flags: number, captureTimeMs: number, nowMs: number): number {
    if (!(frame instanceof Uint8Array) || frame.length < 1 || frame.length > MAX_FRAME_BYTES) {
      throw new P2PError('BAD_FRAME', `a frame must be 1…${MAX_FRAME_BYTES} bytes`);
    }
    if (!Number.isInteger(flags) || flags < 0 || flags & ~FLAGS_DEFINED) throw new P2PError('BAD_FRAME', `frame flags ${flags} use reserved bits`);
    if (!Number.isFinite(captureTimeMs) || captureTimeMs < 0) throw new P2PError('BAD_FRAME', 'capture time must be a finite number ≥ 0');
    const seq = this.nextSeq++;
    const s: Sent = { seq, frame, flags, captureTimeMs, publishedMs: nowMs, slots: new Map(), order: [], slotCount: 0, keys: 0, repairs: new Map() };
    this.frames.set(seq, s);
    this.stats.framesPublished++;
    this.stats.bytesPublished += frame.length;
    const id = this.jobId++;
    this.signing.set(id, seq);
    this.emit({ type: 'crypto', job: { kind: 'sign-manifest', id, seq, frame, captureTimeMs, flags, broadcastId: this.broadcastId } });
    const overlap = seq < this.overlapUntilSeq;
    if (this.mode === 'direct' || overlap) this.sendDirect(s, nowMs);
    // Viewers no longer fed directly are told so; else they keep asking the broadcaster for slot keys.
    for (const n of this.neighbours.values()) {
      if (n.slot < 0 || s.slots.has(n.peerId)) continue;
      n.slot = -1;
      n.slotsSent = '';
      this.send(n.peerId, 'control', { type: 'direct-slot', slot: 0, slots: 0, keys: 0 });
    }
    if (this.mode === 'holder' || overlap) this.sendSegments(s, nowMs);
    this.gc(nowMs);
    return seq;
  }

  handleCryptoResult(r: CryptoResult, nowMs: number): void {
    const seq = this.signing.get(r.id);
    if (seq === undefined || r.kind !== 'sign-manifest') return;
    this.signing.delete(r.id);
    const s = this.frames.get(seq);
    if (!s) return;
    s.manifest = r.manifest;
    if (s.flags & FLAG_INIT_SEGMENT) this.init = s;
    const targets = this.manifestTargets(s, nowMs);
    for (const p of targets) this.send(p, 'control', { type: 'manifest', manifest: r.manifest });
    this.gc(nowMs);
  }

  handleMessage(from: string, bytes: Uint8Array, nowMs: number): void {
    if (!this.neighbours.has(from)) return;
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    const r = parseMessage(bytes);
    if (!r.ok) {
      this.countBad(from, r.reason);
      return;
    }
    this.handleParsed(from, r.message, nowMs);
  }

  /** Bytes from a neighbour refused before parsing (see PeerCore.handleBadInput): a bad message. */
  handleBadInput(from: string, reason: string, nowMs: number): void {
    if (!this.neighbours.has(from)) return;
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    this.countBad(from, reason);
  }

  handleParsed(from: string, m: WireMessage, nowMs: number): void {
    const nb = this.neighbours.get(from);
    if (!nb) return;
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    switch (m.type) {
      case 'request': {
        const s = this.frames.get(m.seq);
        const slot = s?.slots.get(from);
        if (!s || slot === undefined || !this.repairAllowed(s, from)) return;
        const allowed = KeySet.fromBytes(m.allowed);
        let n = 0;
        let refused = 0;
        // Its own slot's keys (loss repair), or keys beyond the direct set (a viewer short of
        // clean keys after pollution); nothing else, each within the policy's key budget and the
        // neighbour's repair allowance, so upload stays bounded.
        // Implied zero keys of the slot were never sent and are never served: a viewer asks for them
        // only before the manifest tells it the length, and holds them once it does (not a loss).
        const slotKeys = directSlotKeys(s.seq, slot, s.slotCount, s.keys).filter((k) => !isImpliedKey(k, s.frame.length));
        const slotAsked = slotKeys.filter((k) => allowed.has(k));
        this.slotLoss.asked(s.seq, from, slotAsked);
        this.stats.slotKeysAsked += slotAsked.length;
        // (Any key beyond the direct set: each viewer asks its own range, so together they get
        // more distinct clean keys than polluting neighbours withhold; the allowance bounds it.)
        const extra = allowed.toArray().filter((x) => x >= s.keys);
        this.stats.extraKeysAsked += Math.min(extra.length, m.count);
        const P = packetSizeOf(s.frame.length);
        const wanted = [...slotKeys.filter((k) => allowed.has(k)), ...extra];
        for (let i = 0; i < wanted.length; i++) {
          const x = wanted[i];
          if (n >= m.count) break;
          if (nb.repairBytes < P) {
            // Keys it asked for that the allowance no longer covers (the upload breakdown's measure of the bound).
            this.stats.repairsShort += Math.min(m.count - n, wanted.length - i);
            break;
          }
          if (!this.policy.serveKey(from, s.seq, x, nowMs)) {
            refused++;
            continue;
          }
          nb.repairBytes -= P;
          s.repaired ??= new Map();
          let had = s.repaired.get(from);
          if (!had) s.repaired.set(from, (had = new KeySet()));
          if (had.has(x)) this.stats.repairsRepeated++;
          else had.add(x);
          this.media(from, { type: 'feed', seq: s.seq, x, payload: this.codec.feedPacket(s.frame, x) }, nowMs, 'repair', s.frame.length);
          n++;
        }
        this.stats.repairsServed += n;
        if (refused > 0) this.countBad(from, `repair beyond its budget (${refused} keys)`);
        return;
      }
      case 'cs-repair': {
        const s = this.frames.get(m.seq);
        if (!s || !this.holders.get(from)?.includes(m.c) || !this.repairAllowed(s, from)) return;
        const cs = this.codec.codeSegment(s.frame, m.c);
        const chunks = cs.length / CS_CHUNK_BYTES;
        for (let i = 0; i < chunks; i++) {
          if (!(m.mask & (1 << i)) || nb.repairBytes < CS_CHUNK_BYTES) continue;
          // Each chunk once by repair (after its first send). A chunk asked again is not served but
          // not held against the holder either: an honest holder asks a second time when the
          // repair was lost or is still on its way (a broadcaster's uplink busy with a frame's
          // segments holds it past the holder's second ask), and counting those banned honest
          // holders. Requests per frame stay bounded (repairAllowed), the excess counted as bad.
          if (!this.policy.serveTimes(from, 'cs', s.seq, m.c * 8 + i, 1, nowMs)) continue;
          nb.repairBytes -= CS_CHUNK_BYTES;
          this.media(from, { type: 'cs-chunk', seq: s.seq, c: m.c, chunk: i, chunks, payload: cs.subarray(i * CS_CHUNK_BYTES, (i + 1) * CS_CHUNK_BYTES) }, nowMs, 'segment-repair', s.frame.length);
          this.stats.repairsServed++;
        }
        return;
      }
      case 'manifest-request': {
        const s = this.frames.get(m.seq);
        if (!s?.manifest || !this.repairAllowed(s, from)) return;
        if (!this.policy.serveTimes(from, 'manifest', s.seq, 0, this.policy.cfg.serveManifestTimes, nowMs)) return this.countBad(from, 'manifest asked too often');
        this.send(from, 'control', { type: 'manifest', manifest: s.manifest }, 'answer');
        return;
      }
      case 'missing': {
        // A viewer's word that keys of these slots never reached it: evidence against their
        // holders once enough distinct viewers say so over several frames (slot-judge.ts). One
        // report per viewer and frame; a frame it does not know or sent by holders only is ignored.
        const s = this.frames.get(m.seq);
        if (!s || s.slotCount === 0) return;
        if (!this.policy.serveTimes(from, 'missing', s.seq, 0, 1, nowMs)) return this.countBad(from, 'missing keys reported twice');
        const holders = new Set<string>();
        for (const x of KeySet.fromBytes(m.keys).toArray()) {
          if (x >= s.keys) break;
          // An implied zero key was never sent: its slot's holder withheld nothing.
          if (isImpliedKey(x, s.frame.length)) continue;
          holders.add(s.order[(x + s.seq) % s.slotCount]);
        }
        holders.delete(from);
        const live = [...holders].filter((p) => this.neighbours.has(p));
        for (const p of this.slotJudge.report(from, live, this.directViewers(nowMs).length, nowMs)) {
          this.stats.slotsMoved++;
          this.emit({ type: 'bad-peer', peerId: p, reason: 'direct-feed slot withheld (its keys never reached other viewers)', strikes: 0, banned: false });
        }
        return;
      }
      case 'report': {
        // Bans stay local. A report is a neighbour's word, not the broadcaster's evidence: it only
        // demotes the viewer (no manifests first-hand) while it lasts; the feed keeps serving it.
        if (m.peerId === from || !this.neighbours.has(m.peerId)) return;
        let r = this.reports.get(m.peerId);
        if (!r) this.reports.set(m.peerId, (r = new Map()));
        if (r.size >= 64 && !r.has(from)) return;
        r.set(from, nowMs);
        // Each reporter weighs as much as an honest one can: its newest few reports count.
        let named = this.reportedBy.get(from);
        if (!named) this.reportedBy.set(from, (named = []));
        const i = named.indexOf(m.peerId);
        if (i >= 0) named.splice(i, 1);
        named.push(m.peerId);
        while (named.length > this.cfg.maxReportedPerReporter) {
          const old = named.shift() as string;
          const o = this.reports.get(old);
          o?.delete(from);
          if (o?.size === 0) this.reports.delete(old);
        }
        return;
      }
      case 'init-request':
        if (!this.init?.manifest || m.seq > this.init.seq) return;
        // One init segment per sequence and neighbour (the control channel is reliable).
        if (!this.policy.serveTimes(from, 'init', this.init.seq, 0, 1, nowMs)) return this.countBad(from, 'init segment asked again');
        this.send(from, 'control', { type: 'init-segment', manifest: this.init.manifest, frame: this.init.frame });
        return;
      case 'feed': case 'cs-chunk': case 'seed': case 'direct-slot': case 'init-segment':
        // Nothing the broadcaster asked for or any role sends it.
        return this.countBad(from, `${m.type} sent to the broadcaster`);
      default:
        return;
    }
  }

  handleBufferedAmount(peerId: string, bytes: number, nowMs: number): void {
    const n = this.neighbours.get(peerId);
    if (!n) return;
    n.queue.buffered = bytes;
    n.queue.waiting = false;
    this.pump(n, nowMs);
  }

  nextTimeout(): number | undefined {
    return this.frames.size > 0 ? this.lastGcMs + 500 : undefined;
  }

  handleTimeout(nowMs: number): void {
    this.gc(nowMs);
  }

  pollOutput(): CoreOutput | undefined {
    if (this.outHead >= this.out.length) {
      this.out.length = 0;
      this.outHead = 0;
      return undefined;
    }
    return this.out[this.outHead++];
  }

  destroy(): void {
    this.neighbours.clear();
    this.frames.clear();
    this.out.length = 0;
  }

  // ---- internals ------------------------------------------------------------------------------

  /**
   * Viewers given a direct-feed slot: not demoted by live reports (a banned polluter keeping its
   * slot would leave every neighbour short of those keys), unless all are.
   */
  private directViewers(nowMs: number): string[] {
    const all = [...this.neighbours.keys()].filter((p) => !this.holders.has(p) || this.mode === 'direct').sort();
    const trusted = all.filter((p) => !this.isDemoted(p, nowMs) && !this.slotJudge.isShunned(p, nowMs));
    return trusted.length > 0 ? trusted : all;
  }

  private sendDirect(s: Sent, nowMs: number): void {
    const viewers = this.directViewers(nowMs);
    if (viewers.length === 0) return;
    const slots = Math.min(viewers.length, 255);
    s.slotCount = slots;
    if (nowMs - this.spareAtMs >= this.cfg.spareRefreshMs) {
      this.spareAtMs = nowMs;
      // The trusted direct viewers' measured slot loss at spareLossQuantile decides (the median by
      // default, so a minority cannot move it); demoted or shunned viewers' word does not count, and
      // the ceiling bounds what any of them can raise it to.
      const trusted = viewers.filter((p) => !this.isDemoted(p, nowMs) && !this.slotJudge.isShunned(p, nowMs));
      this.spare = spareKeysFor(this.slotLoss.quantile(trusted, this.cfg.spareLossQuantile, nowMs), this.cfg.directSpareKeys, Math.max(this.cfg.directSpareKeys, this.cfg.directSpareKeysMax), 64 * this.cfg.repairShare * this.cfg.spareRepairCredit);
    }
    s.keys = Math.min(256, 64 + this.spare);
    const sig = `${slots}:${s.keys}`;
    viewers.slice(0, slots).forEach((p, i) => {
      s.slots.set(p, i);
      const n = this.neighbours.get(p) as Neighbour;
      if (n.slot !== i || n.slotsSent !== sig) {
        n.slot = i;
        n.slotsSent = sig;
        this.send(p, 'control', { type: 'direct-slot', slot: i, slots, keys: s.keys });
      }
    });
    const order = viewers.slice(0, slots);
    s.order = order;
    const perSlot = new Array<number>(slots).fill(0);
    for (let k = 0; k < s.keys; k++) {
      // The all-zero systematic keys past the frame's length are never sent: viewers hold them once
      // the signed manifest tells them the length (implied-keys.ts).
      if (isImpliedKey(k, s.frame.length)) continue;
      // Slot i gets the keys k with (k + seq) % slots === i (see directSlotKeys).
      const slot = (k + s.seq) % slots;
      perSlot[slot]++;
      this.media(order[slot], { type: 'feed', seq: s.seq, x: k, payload: this.codec.feedPacket(s.frame, k) }, nowMs, 'direct', s.frame.length, (s.flags & FLAG_INIT_SEGMENT) !== 0);
    }
    const P = packetSizeOf(s.frame.length);
    order.forEach((p, i) => {
      this.slotLoss.sent(s.seq, p, perSlot[i], nowMs);
      this.earnRepairs(p, perSlot[i] * P * this.cfg.repairShare);
    });
  }

  /** Code segments of recent holder-mode frames that a holder's keys now call for but it never got. */
  private backfillSegments(nowMs: number): void {
    for (const s of this.frames.values()) {
      // Frames also sent by direct feed (the overlap after a mode switch) need no backfill.
      if (!s.segments || s.slots.size > 0 || nowMs - s.publishedMs > this.cfg.segmentBackfillMs) continue;
      const live = new Set<number>();
      for (const [peerId, keys] of s.segments) if (this.neighbours.has(peerId)) for (const c of keys) live.add(c);
      if (live.size < this.cfg.segmentBackfillBelow) this.stats.segmentsBackfilled += this.sendSegments(s, nowMs);
    }
  }

  /** Sends each connected holder the segments of s its keys call for that it did not get yet; returns how many. */
  private sendSegments(s: Sent, nowMs: number): number {
    let n = 0;
    s.segments ??= new Map();
    for (const [peerId, keys] of this.holders) {
      if (!this.neighbours.has(peerId)) continue;
      let sent = s.segments.get(peerId);
      if (!sent) s.segments.set(peerId, (sent = new Set()));
      for (const c of keys) {
        if (sent.has(c)) continue;
        sent.add(c);
        n++;
        const cs = this.codec.codeSegment(s.frame, c);
        const chunks = cs.length / CS_CHUNK_BYTES;
        for (let i = 0; i < chunks; i++) {
          this.media(peerId, { type: 'cs-chunk', seq: s.seq, c, chunk: i, chunks, payload: cs.subarray(i * CS_CHUNK_BYTES, (i + 1) * CS_CHUNK_BYTES) }, nowMs, 'segment', s.frame.length);
        }
        this.earnRepairs(peerId, cs.length * this.cfg.segmentRepairShare);
      }
    }
    return n;
  }

  /** Adds to a neighbour's repair allowance for media just sent to it (capped at repairBurstBytes). */
  private earnRepairs(peerId: string, bytes: number): void {
    const n = this.neighbours.get(peerId);
    if (n) n.repairBytes = Math.min(this.cfg.repairBurstBytes, n.repairBytes + bytes);
  }

  /** True while reportsToDemote distinct neighbours have live reports against `peerId`. */
  isDemoted(peerId: string, nowMs: number): boolean {
    const r = this.reports.get(peerId);
    if (!r) return false;
    for (const [by, atMs] of r) if (nowMs - atMs > this.cfg.reportTtlMs || !this.neighbours.has(by)) r.delete(by);
    if (r.size === 0) this.reports.delete(peerId);
    return r.size >= this.cfg.reportsToDemote;
  }

  private manifestTargets(s: Sent, nowMs: number): string[] {
    const all = s.slots.size > 0 ? [...s.slots.keys()] : [...this.holders.keys()].filter((p) => this.neighbours.has(p)).sort();
    const trusted = all.filter((p) => !this.isDemoted(p, nowMs));
    const pool = trusted.length > 0 ? trusted : all;
    const list = pool.length > 0 ? pool : [...this.neighbours.keys()].sort();
    const out: string[] = [];
    for (let i = 0; i < Math.min(this.cfg.manifestFanout, list.length); i++) out.push(list[(s.seq + i) % list.length]);
    return out;
  }

  private repairAllowed(s: Sent, from: string): boolean {
    const n = s.repairs.get(from) ?? 0;
    if (n >= this.cfg.maxRepairsPerFrame * 4) {
      this.countBad(from, 'too many repair requests for one frame');
      return false;
    }
    s.repairs.set(from, n + 1);
    return true;
  }

  private gc(nowMs: number): void {
    if (nowMs - this.lastGcMs < 500) return;
    this.lastGcMs = nowMs;
    for (const [seq, s] of this.frames) {
      if (nowMs - s.publishedMs <= this.cfg.keepFrameMs || s === this.init) continue;
      this.frames.delete(seq);
      this.policy.forgetFrame(seq);
    }
  }

  /** A bad message from a neighbour: the broadcaster's own evidence; enough of them drop it. */
  private countBad(peerId: string, reason: string): void {
    this.stats.badMessages++;
    if (!this.neighbours.has(peerId) || this.policy.countBad(peerId, this.nowMs) !== 'ban') return;
    this.banned.add(peerId);
    this.emit({ type: 'bad-peer', peerId, reason: `too many bad messages (last: ${reason})`, strikes: 0, banned: true });
    this.handlePeerDisconnected(peerId, 0);
  }

  private emit(o: CoreOutput): void {
    this.out.push(o);
  }

  /** Hands a message to the transport and counts it by cause (`answer`: a control message asked for). */
  private send(peerId: string, channel: 'control' | 'media', message: WireMessage, cause?: 'answer'): void {
    const tag = channel === 'media' ? this.mediaTags.get(message) : undefined;
    countUpload(this.upload, message, tag ? tag.cause : cause, tag?.length, tag?.init);
    this.emit({ type: 'send', peerId, channel, message });
  }

  /** Queues media for a neighbour, tagged with why it is sent and its frame's length (for the upload breakdown). */
  private media(peerId: string, message: WireMessage, nowMs: number, cause: MediaCause, frameLength: number, initFrame = false): void {
    const n = this.neighbours.get(peerId);
    if (!n) return;
    this.mediaTags.set(message, { cause, length: frameLength, init: initFrame });
    n.queue.push(message, nowMs + this.cfg.mediaLifetimeMs);
    this.pump(n, nowMs);
  }

  private pump(n: Neighbour, nowMs: number): void {
    n.queue.pump(nowMs, this.cfg.mediaBudgetBytes, (m) => this.send(n.peerId, 'media', m));
    if (n.queue.length > 0 && !n.queue.waiting) {
      n.queue.waiting = true;
      this.emit({ type: 'want-writable', peerId: n.peerId });
    }
  }
}
