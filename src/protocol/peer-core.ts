// The I/O-free core of a viewer (and of a holder or producer, which are viewers with a role):
// collects 64 distinct feed keys per frame by deadline-aware pull from have-maps, decodes,
// verifies against the signed manifest, serves any key once verified, finds and bans polluters.
// No clock, timers, sockets or Math.random: inputs are calls with nowMs, outputs come from
// pollOutput(), wake-ups from nextTimeout(). Called by the session and by the simulator.

import {
  MAX_STREAM_SEQ, resolvePeerConfig, type CoreOutput, type FrameCodec, type NeighbourInput, type PeerCoreConfig, type RolesInput,
} from './core-types.ts';
import type { CryptoJob, CryptoResult } from './crypto-jobs.ts';
import { newFrameState, type CoreContext, type FrameState } from './frame-state.ts';
import { remember, summarizeFrame, type FrameSummary } from './frame-history.ts';
import { droppedNeighbours } from './neighbour-list.ts';
import { HolderRole } from './holder-role.ts';
import { dataParts } from './implied-keys.ts';
import { KeySet } from './key-set.ts';
import { ReplayWindow } from './manifest.ts';
import { NeighbourState } from './neighbour-state.ts';
import { NeighbourPolicy } from './neighbour-policy.ts';
import { FrameVerifier, sameBytes, type PendingJob } from './frame-verifier.ts';
import { ProducerRole } from './producer-role.ts';
import { PullScheduler } from './pull-scheduler.ts';
import { PushSubscriptions } from './push-subscriptions.ts';
import { InitExchange } from './init-exchange.ts';
import { servePullRequest, handleHave, flushHave, type ExchangeView } from './peer-exchange.ts';
import {
  BROADCAST_ID_BYTES, HAVE_COMPLETE, MAX_FRAME_BYTES, NO_SEQ, packetSizeOf, parseMessage, type HaveEntry, type Manifest, type WireMessage,
} from './wire.ts';

type Pending = PendingJob;

/**
 * A feed packet that arrives this long after its sender announced the frame complete was made from
 * the verified frame (an honest peer re-encodes what it still had queued when it verified, and
 * announces complete at its next tick), not relayed unverified: a bad one is proof of pollution.
 */
const VOUCH_AFTER_MS = 20;

/** A neighbour is reported to the broadcaster at most this often (its reports live 10 s there). */
const REPORT_INTERVAL_MS = 2000;
/**
 * A ban here is for good, so its report is renewed this often while it lasts (the broadcaster
 * forgets a report after 10 s): a peer banned by its neighbours stays demoted there, and gets no
 * direct-feed slot whose keys could reach none of them. Only the newest RENEWED_BANS bans are
 * renewed (the broadcaster weighs each reporter's four newest reports only).
 */
const RENEW_BAN_REPORT_MS = 4000;
const RENEWED_BANS = 4;

export interface PeerCoreStats {
  framesDelivered: number;
  framesMissed: number;
  /** Frames whose first decode failed its digest (a pollution search ran). */
  framesPolluted: number;
  duplicates: number;
  badMessages: number;
  strikes: number;
  bans: number;
  requestsSent: number;
  keysRequested: number;
  keysTimedOut: number;
  keysServed: number;
  staleDropped: number;
  lossEstimate: number;
  /** Frames obtained outside the swarm (handleOutsideFrame) that this peer checked and took. */
  outsideFrames: number;
  /** Frames obtained outside the swarm that were refused: bad shape, bad signature, digest mismatch, late or another broadcast's. */
  outsideRefused: number;
}

/** Frames from outside the swarm whose checks are under way at once; more are refused (memory bound). */
export const MAX_OUTSIDE_PENDING = 32;

export class PeerCore {
  readonly cfg: PeerCoreConfig;
  readonly peerId: string;
  readonly codec: FrameCodec;
  readonly neighbours = new Map<string, NeighbourState>();
  readonly framesBySeq = new Map<number, FrameState>();
  readonly holder: HolderRole;
  /** Connected neighbours the tracker's last list no longer names (see handleNeighbours). */
  readonly unlisted = new Set<string>();
  private listed = new Set<string>();
  /** How the last frames ended (diagnostics). */
  readonly recentFrames: FrameSummary[] = [];
  readonly producer: ProducerRole;
  readonly stats: PeerCoreStats = {
    framesDelivered: 0, framesMissed: 0, framesPolluted: 0, duplicates: 0, badMessages: 0, strikes: 0, bans: 0, requestsSent: 0,
    keysRequested: 0, keysTimedOut: 0, keysServed: 0, staleDropped: 0, lossEstimate: 0.03,
    outsideFrames: 0, outsideRefused: 0,
  };
  /** Outside frames whose checks are under way: job id → when it was asked (stale ones expire). */
  private readonly outsideJobs = new Map<number, number>();
  /** Scores, bans and serving budgets of the neighbours (the one place that keeps them). */
  readonly policy: NeighbourPolicy;
  private readonly out: CoreOutput[] = [];
  private outHead = 0;
  /** The latest time an input came with (scores decay with it). */
  private nowMs = 0;
  private readonly banned = new Set<string>();
  /** The newest bans (at most RENEWED_BANS, newest last), whose reports are renewed. */
  private readonly recentBans: string[] = [];
  private lastRenewMs = -Infinity;
  /** When each neighbour was last reported to the broadcaster. */
  private readonly reported = new Map<string, number>();
  private readonly replay: ReplayWindow;
  private readonly pending = new Map<number, Pending>();
  private jobId = 1;
  private floorSeq = 0;
  /**
   * Newest sequence whose manifest verified (-1: none yet). Frame state exists only up to
   * maxAheadFrames beyond it; before it is set, each neighbour may open joinBacklogFrames + 1 frames.
   */
  private anchor = -1;
  /** The neighbour whose message is being handled ('' for work of this peer's own). */
  private sender = '';
  /** A manifest asked for beyond the window (a neighbour announced it): its frame may be opened. */
  private probe: { seq: number; peerId: string; atMs: number } | undefined;
  /** A neighbour announced a frame beyond the window since the last probe pass (the core must wake for it). */
  private aheadHeard = false;
  private lastTickMs = -Infinity;
  private broadcasterId: string | undefined;
  private broadcastId: Uint8Array | undefined;
  private direct: { slot: number; slots: number; keys: number } | undefined;
  private readonly init: InitExchange;
  private readonly ctx: CoreContext;
  private readonly view: ExchangeView;
  /** Frames whose have-state changed since the last HAVE flush. */
  private readonly changed = new Set<number>();
  /** Neighbours that have not had a full HAVE flush yet. */
  private readonly fresh = new Set<string>();
  private readonly pull: PullScheduler;
  private readonly push: PushSubscriptions;
  private readonly verifier: FrameVerifier;
  private lastGcMs = -Infinity;
  private ticks = 0;

  constructor(opts: { peerId: string; codec: FrameCodec; config?: Partial<PeerCoreConfig> }) {
    this.cfg = resolvePeerConfig(opts.config);
    this.peerId = opts.peerId;
    this.codec = opts.codec;
    this.replay = new ReplayWindow(this.cfg.replayWindow);
    this.policy = new NeighbourPolicy(this.cfg);
    const self = this;
    this.ctx = {
      cfg: this.cfg,
      codec: this.codec,
      sendControl: (p, m) => this.sendControl(p, m),
      sendMedia: (p, m, e) => this.sendMedia(p, m, e),
      frameFor: (s, now) => this.frameFor(s, now),
      addOwnPackets: (f, ps, now) => {
        for (const [x, p] of ps) this.addPacket(f, x, p, '', now);
      },
      strike: (p, r) => this.strike(p, r),
      countBad: (p, r) => this.countBad(p, r),
      isConnected: (p) => this.neighbours.has(p) && !this.banned.has(p),
      isBroadcaster: (p) => p === self.broadcasterId,
      frames: () => this.framesBySeq.values(),
      complain: (peerId, reason, evidence) => this.emit({ type: 'complaint', peerId, reason, evidence }),
    };
    this.push = new PushSubscriptions({
      cfg: this.cfg,
      neighbours: this.neighbours,
      sendControl: (p, m) => this.sendControl(p, m),
      sendMedia: (p, m, e) => this.sendMedia(p, m, e),
      strikesOf: (p) => this.strikesOf(p),
      mayPush: (p, seq, x) => this.policy.serveKey(p, seq, x, this.nowMs),
      directlyFed: () => this.direct !== undefined,
    });
    this.pull = new PullScheduler({
      cfg: this.cfg,
      neighbours: this.neighbours,
      frames: this.framesBySeq,
      stats: this.stats,
      broadcaster: () => this.broadcasterId,
      direct: () => this.direct,
      unlisted: this.unlisted,
      sendControl: (p, m) => this.sendControl(p, m),
      push: this.push,
    });
    this.verifier = new FrameVerifier({
      codec: this.codec,
      frames: this.framesBySeq,
      neighbours: this.neighbours,
      stats: this.stats,
      secret: this.cfg.seed,
      frameFor: (seq, now) => this.frameFor(seq, now),
      job: (j, p) => this.job(j, p),
      emit: (o) => this.emit(o),
      strike: (p, r) => this.strike(p, r),
      countBad: (p, r) => this.countBad(p, r),
      strikesOf: (p) => this.strikesOf(p),
      isBroadcaster: (p) => p === this.broadcasterId,
      changed: (seq) => this.changed.add(seq),
      dirty: (seq) => this.pull.dirty.add(seq),
      releaseInflight: (f) => this.releaseInflight(f),
      finished: (f, now) => {
        this.summarize(f, now);
        if (f.state === 'done' && f.frame) this.reencodeQueued(f.seq, f.frame);
      },
      admit: (seq) => this.admit(seq),
      initSeq: () => (this.init.seq === NO_SEQ ? undefined : this.init.seq),
      setInit: (m, frame) => this.init.set(m, frame),
      askExtraKeys: (f, now) => this.pull.askExtraKeys(f, now),
      holdImplied: (f, now) => this.holdImplied(f, now),
      report: (p) => this.report(p),
    });
    this.view = {
      cfg: this.cfg,
      codec: this.codec,
      frames: this.framesBySeq,
      frameFor: (seq, now) => this.frameFor(seq, now),
      sendControl: (p, m) => this.sendControl(p, m),
      // What this view sends are answers to a neighbour's REQUEST.
      sendMedia: (p, m, e) => this.sendMedia(p, m, e, true),
      countBad: (p, r) => this.countBad(p, r),
      strikesOf: (p) => this.strikesOf(p),
      mayServe: (p, seq, x) => this.policy.serveAsked(p, seq, x, this.nowMs),
      markDirty: (seq) => this.pull.dirty.add(seq),
      offered: (f, x, from, now) => this.push.noteOffer(f, x, from, now),
    };
    this.init = new InitExchange({
      cfg: this.cfg,
      neighbours: this.neighbours,
      frames: this.framesBySeq,
      sendControl: (p, m) => this.sendControl(p, m),
      job: (j, p) => this.job(j, p),
      emit: (o) => this.emit(o),
      strike: (p, r) => this.strike(p, r),
      countBad: (p, r) => this.countBad(p, r),
      mayServe: (p, seq) => this.policy.serveTimes(p, 'init', seq, 0, 1, this.nowMs),
    });
    this.holder = new HolderRole(this.ctx);
    this.producer = new ProducerRole(this.ctx, () => this.holder.keys);
    this.holder.onSegment = (f, c, cs, now) => this.producer.onOwnSegment(f, c, cs, now);
  }

  // ---- inputs ------------------------------------------------------------------------------

  handlePeerConnected(peerId: string, nowMs: number): void {
    if (this.banned.has(peerId) || this.neighbours.has(peerId)) return;
    const n = new NeighbourState(peerId, this.cfg.mediaQueueMax);
    n.isBroadcaster = peerId === this.broadcasterId;
    this.neighbours.set(peerId, n);
    this.fresh.add(peerId);
    this.sendControl(peerId, { type: 'hello', initSeq: this.init.seq, roles: 0 });
    this.producer.refresh((p) => this.banned.has(p));
    this.lastTickMs = Math.min(this.lastTickMs, nowMs - this.cfg.tickMs);
  }

  handlePeerDisconnected(peerId: string, nowMs: number): void {
    const n = this.neighbours.get(peerId);
    if (!n) return;
    this.neighbours.delete(peerId);
    this.unlisted.delete(peerId);
    this.holder.onDisconnected(peerId);
    this.producer.onDisconnected(peerId);
    // Its direct-feed slot keys of the frames under way are gone with it (see the pull scheduler).
    if (!n.isBroadcaster) this.pull.neighbourLostMs = nowMs;
    this.pull.forget(peerId);
    this.init.onDisconnected(peerId);
    this.fresh.delete(peerId);
    this.policy.forgetPeer(peerId);
    this.producer.refresh((p) => this.banned.has(p));
  }

  /**
   * The tracker's neighbour list: who is the broadcaster (the only source of that: a neighbour's
   * HELLO cannot claim it), which neighbours hold which keys. A
   * connected neighbour that drops off the list has left (or was moved); its link lingers until the
   * transport notices or the session closes it, but its pending requests and pushes are asked of
   * others at once and it gets no new requests, so frames under way do not wait out timeouts. (Its
   * direct-feed slot still arrives while the link lasts: a dropped neighbour may only have moved.)
   */
  handleNeighbours(list: readonly NeighbourInput[], _nowMs: number): void {
    const holders = new Map<string, number[]>();
    const listed = new Set<string>();
    for (const n of list) {
      listed.add(n.peerId);
      this.unlisted.delete(n.peerId);
      if (n.reasons?.includes('broadcaster')) this.broadcasterId = n.peerId;
      if (n.holderKeys && n.holderKeys.length > 0) holders.set(n.peerId, [...n.holderKeys]);
    }
    for (const id of droppedNeighbours(this.listed, listed, (p) => this.neighbours.has(p))) {
      if (this.neighbours.get(id)?.isBroadcaster || id === this.broadcasterId) continue;
      this.unlisted.add(id);
      this.pull.forget(id);
    }
    this.listed = listed;
    for (const [id, n] of this.neighbours) n.isBroadcaster = id === this.broadcasterId;
    this.producer.setHolders(holders);
    this.producer.refresh((p) => this.banned.has(p));
  }

  /**
   * The current broadcast of the stream, as the tracker announces it (BROADCAST_ID_BYTES).
   * Manifests and init segments of any other broadcast are refused and counted against their
   * sender (a replay of an earlier broadcast signed with the same key). Until it is called, any
   * broadcast id is taken.
   */
  handleBroadcast(broadcastId: Uint8Array, _nowMs: number): void {
    if (broadcastId.length !== BROADCAST_ID_BYTES) return;
    this.broadcastId = broadcastId.slice();
  }

  /** This peer's role leases (tracker `roles` event). */
  handleRoles(roles: RolesInput, _nowMs: number): void {
    this.holder.setKeys(roles.holderKeys);
    this.producer.setGroups(roles.producerGroups);
    this.producer.refresh((p) => this.banned.has(p));
  }

  /** Bytes from a neighbour. Never throws; a bad message is dropped and counted against it. */
  handleMessage(from: string, bytes: Uint8Array, nowMs: number): void {
    if (!this.neighbours.has(from) || (this.banned.size > 0 && this.banned.has(from))) return;
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    const r = parseMessage(bytes);
    if (!r.ok) {
      this.countBad(from, r.reason);
      return;
    }
    this.handleParsed(from, r.message, nowMs);
  }

  /**
   * Bytes from a neighbour refused before parsing (out of protocol where they came: a message
   * other than a REQUEST on the requests channel). Counted against it as a bad message.
   */
  handleBadInput(from: string, reason: string, nowMs: number): void {
    if (!this.neighbours.has(from) || (this.banned.size > 0 && this.banned.has(from))) return;
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    this.countBad(from, reason);
  }

  /** A message already parsed (the simulator's identity mode skips the bytes). */
  handleParsed(from: string, m: WireMessage, nowMs: number): void {
    const n = this.neighbours.get(from);
    if (!n || (this.banned.size > 0 && this.banned.has(from))) return;
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    const seq = namedSeq(m);
    if (seq !== undefined && seq > this.ceiling() && !(m.type === 'manifest' && this.probe?.seq === seq)) {
      if (from === this.broadcasterId) {
        // The broadcaster the tracker names started over (a reloaded page numbers from far above,
        // by wall-clock time): its manifest is verified like a probe's and, if good, moves the
        // window. Its other messages wait for that; they are never counted against it.
        if (m.type === 'manifest' && (!this.probe || this.probe.peerId !== from || m.manifest.seq > this.probe.seq)) {
          this.probe = { seq: m.manifest.seq, peerId: from, atMs: nowMs };
        } else return;
      } else {
        // Far-future sequences never open frame state (it would move the floor past every real
        // frame). They are counted only above MAX_STREAM_SEQ: below it they may be a restarted
        // broadcaster's, relayed by honest neighbours before this peer heard of the restart.
        if (seq > MAX_STREAM_SEQ) this.countBad(from, `sequence ${seq} above any broadcaster's`);
        return;
      }
    }
    this.sender = from;
    try {
      this.dispatch(from, n, m, nowMs);
    } finally {
      this.sender = '';
    }
  }

  private dispatch(from: string, n: NeighbourState, m: WireMessage, nowMs: number): void {
    // Most frequent first: feed packets, then have-maps and requests.
    switch (m.type) {
      case 'feed': {
        const f = this.frameFor(m.seq, nowMs);
        if (!f) return;
        if (n.isBroadcaster && f.directRepairs === 0) f.directRepairAtMs = Math.max(f.directRepairAtMs, nowMs + this.cfg.directRepairDelayMs);
        this.addPacket(f, m.x, m.payload, from, nowMs);
        return;
      }
      case 'have': {
        const entries = this.haveInWindow(n, m.entries);
        handleHave(this.view, n, entries, nowMs);
        if (this.cfg.askOnHave > 0) this.askOnHave(entries, nowMs);
        return;
      }
      case 'request': {
        const allowed = KeySet.fromBytes(m.allowed);
        // No core asks one neighbour for more keys at once than its in-flight bound
        // (maxInflightPerNeighbour, 128; a pollution search included): a larger request is no
        // request of this protocol. Nothing of it is served, and it counts by its excess, one bad
        // message per 8 keys (as bad keys passed on do): an "every key" flood is banned at once.
        // (What it asks for is the smaller of its count and its key set: a count above the set is harmless.)
        const asked = Math.min(m.count, allowed.size);
        const over = asked - this.cfg.maxInflightPerNeighbour;
        if (over > 0) {
          for (let i = 0; i < over; i += 8) this.countBad(from, `request for ${asked} keys at once`);
          return;
        }
        const r = servePullRequest(this.view, n, m.seq, m.count, allowed, nowMs);
        this.stats.keysServed += r.served;
        if (r.refused > 0) this.countBad(from, `request beyond its budget (${r.refused} keys)`);
        return;
      }
      case 'hello':
        // Its roles bit is not trusted: who the broadcaster is comes from the tracker's list alone.
        n.initSeq = m.initSeq;
        this.init.maybeAsk(nowMs);
        return;
      case 'manifest-request': {
        const f = this.framesBySeq.get(m.seq);
        if (!f?.manifest || f.manifestPending) return;
        if (!this.policy.serveTimes(from, 'manifest', m.seq, 0, this.cfg.serveManifestTimes, nowMs)) return this.countBad(from, 'manifest asked too often');
        this.sendControl(from, { type: 'manifest', manifest: f.manifest });
        return;
      }
      case 'manifest':
        if (!this.ofThisBroadcast(m.manifest)) return this.countBad(from, 'manifest of another broadcast');
        this.verifier.onManifest(from, m.manifest, nowMs);
        return;
      case 'subscribe':
        this.holder.onSubscribe(from, m.g, m.on, m.fromSeq, nowMs);
        return;
      case 'seed-request':
        this.holder.onSeedRequest(from, m.seq, m.g, nowMs);
        return;
      case 'direct-slot':
        if (!n.isBroadcaster) return this.countBad(from, 'direct slot from a viewer');
        this.direct = m.slots > 0 ? { slot: m.slot, slots: m.slots, keys: m.keys } : undefined;
        return;
      case 'init-request':
        return this.init.onRequest(from, n, m.seq);
      case 'init-segment':
        if (!this.ofThisBroadcast(m.manifest)) return this.countBad(from, 'init segment of another broadcast');
        return this.init.onSegment(from, m.manifest, m.frame);
      case 'cs-chunk':
        this.holder.onChunk(from, m, nowMs);
        return;
      case 'seed':
        this.producer.onSeed(from, m, nowMs);
        return;
      case 'cs-repair':
        return this.countBad(from, 'code-segment repair sent to a viewer');
      case 'missing':
        return this.countBad(from, 'missing keys reported to a viewer');
      case 'push-keys':
        this.push.onPushKeys(n, m.keys);
        return;
      case 'report':
        // Reports go to the broadcaster alone (the tracker names it): one sent to a viewer is out
        // of protocol, and a peer that sends them about its neighbours to its neighbours is banned
        // for it like any other flood of out-of-role messages.
        return this.countBad(from, 'report sent to a viewer');
    }
  }

  /**
   * A frame and its manifest obtained outside the swarm (the HLS edge over HTTP). Nothing of it is
   * trusted: the manifest's broadcaster signature and the frame's SHA-256 are checked by crypto jobs
   * here, exactly as for a frame decoded from neighbours' packets; only then does the frame end as
   * verified: delivered (`frame` output), announced complete, and served to neighbours (any key is
   * re-encoded from it). A frame that fails a check is refused and counted (`outsideRefused`);
   * no neighbour is blamed. Returns false when refused at once (the checks are not started).
   */
  handleOutsideFrame(manifest: Manifest, frame: Uint8Array, nowMs: number): boolean {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    const refuse = (): false => {
      this.stats.outsideRefused++;
      return false;
    };
    const seq = manifest.seq;
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_STREAM_SEQ) return refuse();
    if (!(frame instanceof Uint8Array) || frame.length !== manifest.length || frame.length < 1 || frame.length > MAX_FRAME_BYTES) return refuse();
    if (!this.ofThisBroadcast(manifest) || this.outsideJobs.size >= MAX_OUTSIDE_PENDING) return refuse();
    const existed = this.framesBySeq.has(seq);
    const f = this.frameFor(seq, nowMs);
    if (!f || f.state === 'done' || f.state === 'missed') return refuse();
    const owned = { manifest, frame: frame.slice(), opened: !existed };
    this.outsideJobs.set(this.job({ kind: 'verify-manifest', id: 0, manifest }, { kind: 'outside-manifest', ...owned }), nowMs);
    return true;
  }

  handleCryptoResult(r: CryptoResult, nowMs: number): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (p.kind === 'outside-manifest' || p.kind === 'outside-digest') {
      this.outsideJobs.delete(r.id);
      return this.onOutsideResult(p, r, nowMs);
    }
    if (p.kind === 'manifest' && r.kind === 'verify-manifest') this.verifier.onManifestVerified(p, r.valid, nowMs);
    else if (p.kind === 'frame-digest' && r.kind === 'digest') this.verifier.onFrameDigest(p, r.digest, nowMs);
    else if ((p.kind === 'init-manifest' || p.kind === 'init-digest') && r.kind !== 'sign-manifest') this.init.onJobResult(p, r, nowMs);
  }

  /** The channel to `peerId` reports `bufferedAmount` bytes still unsent. */
  handleBufferedAmount(peerId: string, bytes: number, nowMs: number): void {
    const n = this.neighbours.get(peerId);
    if (!n) return;
    n.queue.buffered = bytes;
    n.queue.waiting = false;
    this.pump(n, nowMs);
  }

  nextTimeout(): number | undefined {
    // A neighbour that announced frames beyond the window wakes the core even with no frame open:
    // after a long silence (links cut, a long stay elsewhere) every frame here has expired, and
    // only the probe (at a tick) moves the window to the swarm's current frames.
    if (this.framesBySeq.size === 0 && !this.init.asking && this.outsideJobs.size === 0 && !this.probe && !this.aheadHeard) return undefined;
    const tick = this.lastTickMs + this.cfg.tickMs;
    return this.cfg.produceOnGrace > 0 ? Math.min(tick, this.producer.dueMs) : tick;
  }

  handleTimeout(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    if (nowMs < this.lastTickMs + this.cfg.tickMs) {
      if (this.cfg.produceOnGrace > 0) this.producer.produceDue(nowMs);
      return;
    }
    this.lastTickMs = nowMs;
    this.expireAndCollect(nowMs);
    if (this.outsideJobs.size > 0) this.expireOutside(nowMs);
    this.holder.tick(nowMs, this.broadcasterId && this.neighbours.has(this.broadcasterId) ? this.broadcasterId : undefined);
    // (produceDue first: it also clears a wake-up time the tick makes stale.)
    if (this.cfg.produceOnGrace > 0) this.producer.produceDue(nowMs);
    this.producer.tick(nowMs);
    this.push.tick(nowMs);
    this.pull.schedule(nowMs);
    // Key lists go out every other tick (every tick with haveEveryTick); first announcements,
    // manifests and "complete" every tick.
    const full = (this.ticks++ & 1) === 0 || this.cfg.haveEveryTick > 0;
    const changed: FrameState[] = [];
    for (const seq of this.changed) {
      const f = this.framesBySeq.get(seq);
      if (f) changed.push(f);
    }
    if (full) this.changed.clear();
    for (const n of this.neighbours.values()) {
      if (this.fresh.has(n.peerId)) flushHave(this.view, n, this.framesBySeq.values());
      else if (changed.length > 0) flushHave(this.view, n, changed, full);
    }
    this.fresh.clear();
    this.init.maybeAsk(nowMs);
    this.probeAhead(nowMs);
    if (this.recentBans.length > 0 && nowMs - this.lastRenewMs >= RENEW_BAN_REPORT_MS) {
      this.lastRenewMs = nowMs;
      for (const p of this.recentBans) this.report(p);
    }
  }

  pollOutput(): CoreOutput | undefined {
    if (this.outHead >= this.out.length) {
      if (this.out.length > 0) {
        this.out.length = 0;
        this.outHead = 0;
      }
      return undefined;
    }
    return this.out[this.outHead++];
  }

  isBanned(peerId: string): boolean {
    return this.banned.has(peerId);
  }

  destroy(): void {
    this.neighbours.clear();
    this.framesBySeq.clear();
    this.pending.clear();
    this.out.length = 0;
    this.outHead = 0;
  }

  // ---- frames -------------------------------------------------------------------------------

  /** An outside frame's signature check, then its digest; it is taken only when both hold. */
  private onOutsideResult(p: Extract<Pending, { kind: 'outside-manifest' | 'outside-digest' }>, r: CryptoResult, nowMs: number): void {
    const f = this.framesBySeq.get(p.manifest.seq);
    const refuse = (): void => {
      this.stats.outsideRefused++;
      // A frame this call opened and nothing else verified goes again (made-up sequences hold nothing).
      if (f && p.opened && f.manifestOkMs < 0 && f.have.size === 0) this.dropFrame(f);
    };
    if (p.kind === 'outside-manifest') {
      if (r.kind !== 'verify-manifest' || !r.valid) return refuse();
      // The signed manifest is the broadcaster's whatever the frame bytes turn out to be: a frame
      // without one takes it (its packets from neighbours may decode against it).
      if (f && f.state === 'collecting' && f.manifestOkMs < 0) {
        if (!f.manifest) {
          f.manifest = p.manifest;
          f.manifestMs = nowMs;
          this.verifier.onManifestVerified({ kind: 'manifest', seq: f.seq, from: '', manifest: p.manifest }, true, nowMs);
        } else this.admit(f.seq);
      }
      this.outsideJobs.set(this.job({ kind: 'digest', id: 0, data: p.frame }, { kind: 'outside-digest', manifest: p.manifest, frame: p.frame, opened: p.opened }), nowMs);
      return;
    }
    if (r.kind !== 'digest' || !sameBytes(r.digest, p.manifest.digest) || !f) return refuse();
    if (!this.verifier.acceptOutside(f, p.manifest, p.frame, nowMs)) return refuse();
    this.stats.outsideFrames++;
  }

  /** Checks of outside frames not answered within a frame's lifetime (no stream key yet) are given up. */
  private expireOutside(nowMs: number): void {
    for (const [id, atMs] of this.outsideJobs) {
      if (nowMs - atMs <= this.cfg.frameLifetimeMs) continue;
      this.outsideJobs.delete(id);
      this.pending.delete(id);
      this.stats.outsideRefused++;
    }
  }

  private ofThisBroadcast(m: Manifest): boolean {
    return this.broadcastId === undefined || sameBytes(m.broadcastId, this.broadcastId);
  }

  /** Highest sequence that may have frame state: unbounded before the first verified manifest. */
  private ceiling(): number {
    return this.anchor < 0 ? Infinity : this.anchor + this.cfg.maxAheadFrames;
  }

  /**
   * A HAVE's entries inside the window (newest first before the first verified manifest, so the
   * join quota goes to the newest frames). An entry beyond it with a manifest is remembered: the
   * newest such is asked for (a probe), since this peer's window may be the stale one.
   */
  private haveInWindow(n: NeighbourState, entries: readonly HaveEntry[]): readonly HaveEntry[] {
    const top = this.ceiling();
    let far = false;
    let out: HaveEntry[] | undefined;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.seq <= top) continue;
      out ??= entries.slice(0, i);
      if (e.flags !== 0 && e.seq > n.aheadSeq) {
        n.aheadSeq = e.seq;
        this.aheadHeard = true;
      }
      if (e.seq > MAX_STREAM_SEQ) far = true;
    }
    if (far) this.countBad(n.peerId, 'have-map names a sequence far ahead');
    const kept = out ? entries.filter((e) => e.seq <= top) : entries;
    return this.anchor < 0 ? [...kept].sort((a, b) => b.seq - a.seq) : kept;
  }

  /** Asks for the newest manifest a neighbour announced beyond the window; an unanswered ask counts against it. */
  private probeAhead(nowMs: number): void {
    const p = this.probe;
    if (p) {
      if (p.seq <= this.ceiling() || !this.neighbours.has(p.peerId)) this.probe = undefined;
      else if (nowMs - p.atMs < this.cfg.retryMs) return;
      else {
        this.probe = undefined;
        const f = this.framesBySeq.get(p.seq);
        if (!f?.manifest) this.countBad(p.peerId, 'announced a manifest it did not send');
        const n = this.neighbours.get(p.peerId);
        if (n) n.aheadSeq = -1;
        if (f && f.manifestOkMs < 0) this.dropFrame(f);
      }
    }
    let best: NeighbourState | undefined;
    for (const n of this.neighbours.values()) if (n.aheadSeq > this.ceiling() && (!best || n.aheadSeq > best.aheadSeq)) best = n;
    this.aheadHeard = false;
    if (!best) return;
    this.probe = { seq: best.aheadSeq, peerId: best.peerId, atMs: nowMs };
    best.aheadSeq = -1;
    this.sendControl(best.peerId, { type: 'manifest-request', seq: this.probe.seq });
  }

  /** The manifest of seq verified: the replay window takes it, the window moves up, the first one sets the floor. */
  private admit(seq: number): void {
    this.replay.admit(seq);
    const first = this.anchor < 0;
    if (seq > this.anchor) this.anchor = seq;
    if (this.probe && this.probe.seq <= this.ceiling()) this.probe = undefined;
    if (!first) return;
    this.floorSeq = Math.max(this.floorSeq, seq - this.cfg.joinBacklogFrames);
    const top = this.ceiling();
    for (const f of [...this.framesBySeq.values()]) if (f.seq < this.floorSeq || f.seq > top) this.dropFrame(f);
  }

  /** Forgets a frame without moving the floor (frames opened by unverified claims). */
  private dropFrame(f: FrameState): void {
    this.releaseInflight(f);
    this.framesBySeq.delete(f.seq);
    this.policy.forgetFrame(f.seq);
    for (const n of this.neighbours.values()) n.forget(f.seq);
  }

  private frameFor(seq: number, nowMs: number): FrameState | undefined {
    const f = this.framesBySeq.get(seq);
    if (f) return f;
    if (seq < this.floorSeq || !this.replay.fresh(seq) || this.framesBySeq.size >= this.cfg.maxFrames) return undefined;
    if (seq > this.ceiling() && this.probe?.seq !== seq) return undefined;
    const opener = this.sender === this.broadcasterId ? '' : this.sender;
    if (opener !== '') {
      // Each neighbour may hold open only a few frames whose manifest has not verified: made-up
      // sequences cannot fill the frame table (more before the first manifest: the join backlog).
      const quota = this.anchor < 0 ? this.cfg.joinBacklogFrames + 1 : this.cfg.unverifiedFramesPerNeighbour;
      let open = 0;
      for (const g of this.framesBySeq.values()) if (g.openedBy === opener && g.manifestOkMs < 0 && ++open >= quota) return undefined;
    }
    const nf = newFrameState(seq, nowMs, this.cfg.directRepairDelayMs);
    nf.openedBy = opener;
    this.framesBySeq.set(seq, nf);
    this.pull.dirty.add(seq);
    return nf;
  }

  private addPacket(f: FrameState, x: number, payload: Uint8Array, from: string, nowMs: number): void {
    if (f.state === 'done' || f.state === 'missed') {
      if (from) this.stats.duplicates++;
      return;
    }
    if (f.P === 0) f.P = payload.length;
    if (payload.length !== f.P) {
      // Only a verified manifest proves the size: before it, the first packet's may be a neighbour's
      // lie, and a sender of the right size is not at fault (the manifest's check drops and counts
      // the packets it disproves, frame-verifier.ts).
      if (from && f.manifestOkMs >= 0) this.countBad(from, 'feed packet of the wrong size');
      return;
    }
    const asked = f.inflight.peerOf(x);
    if (asked !== undefined) {
      const sentMs = f.inflight.sentMs(x);
      f.inflight.delete(x);
      const n = this.neighbours.get(asked);
      if (n) {
        if (n.inflight >= this.cfg.maxInflightPerNeighbour) this.pull.budgetFreed = true;
        n.delivered(asked === from, nowMs - sentMs, nowMs, nowMs - f.firstSeenMs);
      }
    }
    if (f.have.has(x)) {
      this.stats.duplicates++;
      return;
    }
    f.have.add(x);
    if (f.keysMs < 0 && f.have.size >= 64) f.keysMs = nowMs;
    f.log.push(x);
    this.changed.add(f.seq);
    f.packets.set(x, payload);
    f.from.set(x, from);
    // Sent well after its sender announced the frame complete: made from a frame it claims
    // verified (a packet it queued before then may still arrive just after the announcement).
    const nf = from !== '' ? this.neighbours.get(from)?.frames.get(f.seq) : undefined;
    if (nf?.complete && nowMs - nf.completeMs >= VOUCH_AFTER_MS) (f.vouched ??= new KeySet()).add(x);
    const src = from === '' || from === this.broadcasterId ? '' : from;
    this.push.noteOffer(f, x, src, nowMs);
    this.push.forward(f, x, payload, from, nowMs);
    this.verifier.tryDecode(f, nowMs);
  }

  /**
   * Implied zero keys: once f's manifest has verified, its systematic keys past the signed length
   * L are all zero (the feed code pads L to 64·P). They are held from then on as zero packets made
   * here, so the frame is complete at 64 distinct keys, real and implied, and nobody is asked for
   * them; one that came before (a neighbour without the manifest yet) is replaced by the zeros it
   * must be. Requests still out for them are given up without counting as lost. They are not
   * announced in HAVE (a neighbour with the manifest holds them itself). Only a verified manifest
   * sets L: an unverified length from a peer never implies anything.
   */
  private holdImplied(f: FrameState, nowMs: number): void {
    const m = f.manifest;
    if (f.state !== 'collecting' || !m || f.manifestPending || f.manifestOkMs < 0 || f.P !== packetSizeOf(m.length)) return;
    const from = dataParts(m.length);
    if (from >= 64) return;
    const zero = new Uint8Array(f.P);
    for (let x = from; x < 64; x++) {
      f.packets.set(x, zero);
      f.from.set(x, '');
      f.exclude.delete(x);
      f.vouched?.delete(x);
      f.have.add(x);
      const asked = f.inflight.peerOf(x);
      if (asked === undefined) continue;
      f.inflight.delete(x);
      const n = this.neighbours.get(asked);
      if (n && n.inflight > 0) {
        if (n.inflight >= this.cfg.maxInflightPerNeighbour) this.pull.budgetFreed = true;
        n.inflight--;
      }
    }
    if (f.keysMs < 0 && f.have.size >= 64) f.keysMs = nowMs;
    this.pull.dirty.add(f.seq);
  }

  // ---- scheduling ---------------------------------------------------------------------------

  /**
   * askOnHave: the frames a HAVE offered keys of (or announced complete) are pulled now, not at
   * the next tick. A muted sender's offers draw nothing (the pull skips it, as at a tick).
   */
  private askOnHave(entries: readonly HaveEntry[], nowMs: number): void {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.keys.length === 0 && !(e.flags & HAVE_COMPLETE)) continue;
      const f = this.framesBySeq.get(e.seq);
      if (f && f.state === 'collecting') this.pull.pullNow(f, nowMs);
    }
  }

  private expireAndCollect(nowMs: number): void {
    const gc = nowMs - this.lastGcMs >= 100;
    if (gc) this.lastGcMs = nowMs;
    for (const f of this.framesBySeq.values()) {
      if (f.inflight.size > 0) this.pull.expire(f, nowMs);
      if (!gc) continue;
      const age = nowMs - f.firstSeenMs;
      if ((f.state === 'collecting' || f.state === 'hashing') && age > this.cfg.frameLifetimeMs) {
        f.state = 'missed';
        this.stats.framesMissed++;
        this.summarize(f, nowMs);
        f.packets.clear();
        f.from.clear();
        f.log = [];
        f.offered = undefined;
        f.offerMs = undefined;
        this.releaseInflight(f);
      }
      if (age > this.cfg.keepFrameMs || (f.state === 'missed' && age > this.cfg.frameLifetimeMs)) {
        this.framesBySeq.delete(f.seq);
        this.policy.forgetFrame(f.seq);
        // Only a verified frame moves the floor: an unverified one may be a made-up sequence.
        if (f.manifestOkMs >= 0 && f.seq >= this.floorSeq) this.floorSeq = f.seq + 1 - Math.min(f.seq + 1, 8);
        for (const n of this.neighbours.values()) n.forget(f.seq);
      }
    }
  }

  /** Records how a frame ended (diagnostics), unless the history is turned off. */
  private summarize(f: FrameState, nowMs: number): void {
    if (this.cfg.frameHistory > 0) remember(this.recentFrames, summarizeFrame(f, nowMs, this.broadcasterId), this.cfg.frameHistory);
  }

  private releaseInflight(f: FrameState): void {
    this.pull.release(f);
  }

  // ---- outputs and peers ----------------------------------------------------------------------

  private emit(o: CoreOutput): void {
    this.out.push(o);
  }

  private job(job: CryptoJob, p: Pending): number {
    const id = this.jobId++;
    this.pending.set(id, p);
    this.emit({ type: 'crypto', job: { ...job, id } });
    return id;
  }

  private sendControl(peerId: string, message: WireMessage): void {
    if (!this.neighbours.has(peerId)) return;
    this.emit({ type: 'send', peerId, channel: 'control', message });
  }

  private sendMedia(peerId: string, message: WireMessage, expiresMs: number, asked = false): void {
    const n = this.neighbours.get(peerId);
    if (!n) return;
    // A seed packet feeds a producer's whole group: it goes ahead of the feed packets waiting here.
    // A key the neighbour asked for goes next, ahead of the keys pushed to it (askedFirst).
    if (message.type === 'seed') n.queue.pushFirst(message, expiresMs);
    else if (asked && this.cfg.askedFirst > 0) n.queue.pushAsked(message, expiresMs);
    else n.queue.push(message, expiresMs);
    this.pump(n, -Infinity);
  }

  private pump(n: NeighbourState, nowMs: number): void {
    n.queue.pump(nowMs, this.cfg.mediaBudgetBytes, (message) => this.emit({ type: 'send', peerId: n.peerId, channel: 'media', message }));
    if (n.queue.length > 0 && !n.queue.waiting) {
      n.queue.waiting = true;
      this.emit({ type: 'want-writable', peerId: n.peerId });
    }
  }

  /** A neighbour's strikes (no lookup while nobody has one: asked for every packet pushed or served). */
  private strikesOf(peerId: string): number {
    return this.stats.strikes === 0 ? 0 : this.policy.strikesOf(peerId);
  }

  private countBad(peerId: string, reason: string): void {
    this.stats.badMessages++;
    if (!this.neighbours.has(peerId)) return;
    if (this.policy.countBad(peerId, this.nowMs) === 'ban') this.ban(peerId, `too many bad messages (last: ${reason})`, Math.round(this.policy.strikesOf(peerId)));
  }

  private strike(peerId: string, reason: string): void {
    if (!this.neighbours.has(peerId)) return;
    this.stats.strikes++;
    const verdict = this.policy.strike(peerId, this.nowMs);
    const strikes = Math.round(this.policy.strikesOf(peerId));
    if (verdict === 'ban') this.ban(peerId, reason, strikes);
    else this.emit({ type: 'bad-peer', peerId, reason, strikes, banned: false });
  }

  /**
   * Frame seq verified: feed packets of it still queued for neighbours were relayed unverified;
   * they leave as packets re-encoded from the verified frame instead, so after this peer announces
   * the frame complete nothing unverified of it leaves (a bad one would be taken as proof).
   */
  private reencodeQueued(seq: number, frame: Uint8Array): void {
    for (const n of this.neighbours.values()) {
      if (n.queue.length === 0) continue;
      n.queue.rewrite((m) => (m.type === 'feed' && m.seq === seq ? { ...m, payload: this.codec.feedPacket(frame, m.x) } : undefined));
    }
  }

  /** Reports `peerId` to the broadcaster, at most once per REPORT_INTERVAL_MS per neighbour (bounded map). */
  private report(peerId: string): void {
    const b = this.broadcasterId;
    if (!b || !this.neighbours.has(b) || peerId === b || peerId.length > 64) return;
    const last = this.reported.get(peerId);
    if (last !== undefined && this.nowMs - last < REPORT_INTERVAL_MS) return;
    if (this.reported.size >= 256) this.reported.clear();
    this.reported.set(peerId, this.nowMs);
    this.sendControl(b, { type: 'report', peerId });
  }

  private ban(peerId: string, reason: string, strikes: number): void {
    if (this.banned.has(peerId)) return;
    this.banned.add(peerId);
    this.stats.bans++;
    this.emit({ type: 'bad-peer', peerId, reason, strikes, banned: true });
    this.handlePeerDisconnected(peerId, 0);
    this.reported.delete(peerId);
    this.report(peerId);
    this.recentBans.push(peerId);
    if (this.recentBans.length > RENEWED_BANS) this.recentBans.shift();
    if (this.recentBans.length === 1) this.lastRenewMs = this.nowMs;
  }
}

export { sameBytes };

/** The frame sequence a message names (the newest, for a HAVE), if any. */
function namedSeq(m: WireMessage): number | undefined {
  switch (m.type) {
    case 'feed': case 'request': case 'manifest-request': case 'cs-chunk': case 'seed': case 'seed-request':
      return m.seq;
    case 'manifest':
      return m.manifest.seq;
    default:
      return undefined;
  }
}
