// A viewer's session: joins a stream by streamId at the tracker, keeps WebRTC links to the
// neighbours it is given, drives the protocol PeerCore on the real clock, verifies manifests with
// WebCrypto once it learns the stream key, and emits verified frames, statuses and stats.
// No DOM and no media: the player glue (connect-player.ts) or a test consumes the events.

import { createCodec } from '../codec/index.ts';
import { P2PError } from '../errors.ts';
import type { MediaFrame } from '../media/frame-format.ts';
import type { FrameCodec } from '../protocol/core-types.ts';
import { peekMediaSeq, type Manifest } from '../protocol/wire.ts';
import { createCryptoRunner, type CryptoJob, type CryptoResult } from '../protocol/crypto-jobs.ts';
import { PeerCore } from '../protocol/peer-core.ts';
import type { StreamState } from '../tracker/messages.ts';
import { TrackerClient } from '../tracker-client/tracker-client.ts';
import { TypedEmitter } from '../typed-emitter.ts';
import { CoreDriver, monotonicNow } from './core-driver.ts';
import { resolveSessionConfig, type SessionConfig, type SessionOptions } from './session-config.ts';
import { base64url, fromBase64url, isStreamId, verifyBytes } from '../crypto/stream-key.ts';
import { decodeRenditionMessage, isRenditionMessage, renditionSignedBytes, type RenditionInfo } from '../media/renditions.ts';
import { acceptStreamKey, encodeStreamKey, isStreamKeyMessage } from './stream-key-exchange.ts';
import { SwarmLinks } from './swarm-links.ts';
import { meterUpload, type UploadMeter } from './upload-meter.ts';

/** A core seed (31 bits, as the config takes) from WebCrypto's generator (browsers and Node 20 alike). */
export function randomCoreSeed(): number {
  const word = new Uint32Array(1);
  globalThis.crypto.getRandomValues(word);
  return word[0] >>> 1;
}

/** The driver's media-message hook for an onMediaPacket callback: pieces of frames only. */
function mediaFeed(onPacket: (seq: number, bytes: number, nowMs: number) => void): (bytes: Uint8Array, nowMs: number) => void {
  return (bytes, nowMs) => {
    const seq = peekMediaSeq(bytes);
    if (seq !== null) onPacket(seq, bytes.length, nowMs);
  };
}

/** What the session says about the stream (the player's session statuses). */
export type ViewerStatus = 'waiting-for-broadcaster' | 'ended' | 'tracker-unreachable' | 'no-peers' | 'playing';

export interface ViewerStats {
  peerId: string | null;
  /** Connected neighbours (the broadcaster included when linked). */
  peers: number;
  /** Fraction 0 … 1 of received media bytes that came from viewers rather than the broadcaster. */
  shareFromPeers: number;
  bytesUp: number;
  bytesDown: number;
  mediaBytesDown: number;
  mediaBytesFromBroadcaster: number;
  /** Fraction 0 … 1 of frames decoded and verified before their deadline. */
  framesOnTime: number;
  framesDelivered: number;
  framesMissed: number;
  /** Payload bytes of the verified frames (stream size as seen by this viewer). */
  frameBytes: number;
  duplicates: number;
  bans: number;
  streamState: StreamState | null;
  trackerConnected: boolean;
  /** Connected neighbours reached through a TURN relay (checked once a second). */
  relayedPeers: number;
  /** ICE candidate types of each connected neighbour's path, `local/remote` (checked once a second). */
  paths: Record<string, string>;
  /** Upload this peer measured (what the tracker ranks it on), bits per second; null before the first report. */
  measuredUploadBps: number | null;
  /** Smoothed lag of the session's timers (the upload meter's), ms. */
  eventLoopLagMs: number;
}

export interface ViewerSessionEvents {
  /** A verified frame, in the media layer's form. */
  frame: (frame: MediaFrame) => void;
  /** The same frame as the protocol core delivered it, with its verified manifest (the HLS edge's input). */
  delivered: (delivered: { manifest: Manifest; frame: Uint8Array }) => void;
  status: (status: ViewerStatus) => void;
  stats: (stats: ViewerStats) => void;
  error: (error: P2PError) => void;
  /** The broadcaster's signed rendition list, once verified (docs/media.md, Renditions). */
  renditions: (list: RenditionInfo[]) => void;
}

export type ViewerSessionOptions = SessionOptions & {
  /** The swarm to join: the stream id (top rendition) or a lower rendition's swarm id. */
  streamId: string;
  /** The stream id the stream key hashes to, when `streamId` is a rendition's swarm id. Default: streamId. */
  keyStreamId?: string;
  /** A rendition-list message already verified elsewhere (the swarm this viewer comes from), passed on to neighbours. */
  renditionMessage?: Uint8Array;
  /**
   * Each media packet as it arrives (before the core checks it): its frame's seq, its size in
   * bytes and the arrival time (performance.now()). The download meter's feed; a frame's delivery is
   * the `frame` event.
   */
  onMediaPacket?: (seq: number, bytes: number, nowMs: number) => void;
  /**
   * The stream's public key as an earlier session of this viewer learnt it (a rejoin): taken only
   * when its SHA-256 is `keyStreamId`, exactly as a neighbour's stream-key message, so the new
   * session can check frames (the edge's frame feed among them) before any neighbour answers.
   */
  streamKey?: Uint8Array;
};

export class ViewerSession extends TypedEmitter<ViewerSessionEvents> {
  readonly config: SessionConfig;
  readonly streamId: string;
  /** The stream id the key hashes to (the watch link's). */
  readonly keyStreamId: string;
  readonly tracker: TrackerClient;
  #renditionMessage: Uint8Array | null = null;
  #renditions: RenditionInfo[] | null = null;
  /** A rendition list that came before the key: checked once the key is known (one kept). */
  #heldRenditionMessage: { bytes: Uint8Array; from: string } | null = null;
  /** Rendition lists per neighbour that failed their check (bounded by the neighbours kept). */
  #badLists = new Map<string, number>();
  readonly core: PeerCore;
  readonly #driver: CoreDriver;
  readonly #links: SwarmLinks;
  readonly #upload: UploadMeter;
  #publicKey: Uint8Array | null = null;
  #runner: ((job: CryptoJob) => Promise<CryptoResult>) | null = null;
  /** Digests need no key: this runner serves them until the stream key is known. */
  readonly #digests: (job: CryptoJob) => Promise<CryptoResult>;
  #trackerDown = false;
  #status: ViewerStatus = 'waiting-for-broadcaster';
  #broadcasterId: string | null = null;
  #frameBytes = 0;
  #newestSeq: number | null = null;
  #lonelySinceMs: number | null = null;
  #statsTimer: ReturnType<typeof setInterval>;
  #destroyed = false;

  /** Creates the codec (unless given) and starts the session. */
  static async create(options: ViewerSessionOptions): Promise<ViewerSession> {
    const codec = options.codec ?? (await createCodec());
    return new ViewerSession({ ...options, codec });
  }

  constructor(options: ViewerSessionOptions & { codec: FrameCodec }) {
    super();
    this.config = resolveSessionConfig(options);
    if (!isStreamId(options.streamId)) throw new P2PError('BAD_CONFIG', `streamId must be 43 base64url characters, got ${String(options.streamId)}`);
    this.streamId = options.streamId;
    if (options.keyStreamId !== undefined && !isStreamId(options.keyStreamId)) throw new P2PError('BAD_CONFIG', `keyStreamId must be 43 base64url characters, got ${String(options.keyStreamId).slice(0, 60)}`);
    this.keyStreamId = options.keyStreamId ?? options.streamId;
    if (options.renditionMessage) {
      const d = decodeRenditionMessage(options.renditionMessage);
      if (d) {
        this.#renditionMessage = options.renditionMessage;
        this.#renditions = d.list;
      }
    }
    this.#digests = createCryptoRunner({ publicKeyBytes: new Uint8Array(0), streamId: this.streamId });
    const c = this.config;
    this.tracker = new TrackerClient({
      url: c.trackerUrl, urls: c.trackerUrls && [...c.trackerUrls], streamId: this.streamId, WebSocket: c.WebSocket, peerSecret: c.peerSecret, uploadBps: c.uploadBps,
      reconnectMinMs: c.reconnectMinMs, reconnectMaxMs: c.reconnectMaxMs,
    });
    // The core's seed is also the secret of its pollution fingerprints (frame-verifier.ts): a
    // polluter that could guess it could shape a corruption the fingerprints miss, so it comes
    // from the platform's cryptographic generator, never from Math.random.
    this.core = new PeerCore({ peerId: 'self', codec: options.codec, config: { seed: randomCoreSeed(), ...c.peer } });
    this.#driver = new CoreDriver(this.core, c.transport, {
      runCrypto: (job) => this.#runCrypto(job),
      onFrame: (m, frame) => {
        this.#frameBytes += frame.length;
        if (this.#newestSeq === null || m.seq > this.#newestSeq) this.#newestSeq = m.seq;
        this.emit('frame', { seq: m.seq, bytes: frame, flags: m.flags, captureTimeMs: m.captureTimeMs });
        this.emit('delivered', { manifest: m, frame });
      },
      ...(options.onMediaPacket ? { onMediaMessage: mediaFeed(options.onMediaPacket) } : {}),
      onBanned: (peerId) => this.#links.banned(peerId),
      // A holder this producer dropped (seeds withheld or bad): the tracker moves its keys once
      // producers of enough networks say so (docs/tracker.md, Complaints).
      onComplaint: (peerId, reason, evidence) => this.tracker.complain(peerId, reason, evidence),
      onConnected: (peerId) => {
        if (this.#publicKey) this.#driver.sendRaw(peerId, 'control', encodeStreamKey(this.#publicKey));
        if (this.#renditionMessage) this.#driver.sendRaw(peerId, 'control', this.#renditionMessage);
        this.#updateStatus();
      },
      onPeerEnded: (peerId, failed) => {
        this.#links.ended(peerId, failed);
        this.#updateStatus();
      },
      interceptControl: (from, bytes) => {
        if (isRenditionMessage(bytes)) {
          // Each neighbour gets two tries at a list that fails its check: a signature check costs.
          if (!this.#renditionMessage && (this.#badLists.get(from) ?? 0) < 2) void this.#onRenditionMessage(bytes, from);
          return true;
        }
        if (!isStreamKeyMessage(bytes)) return false;
        if (!this.#publicKey) void this.#onStreamKey(bytes);
        return true;
      },
    }, this.core.cfg.mediaBudgetBytes);
    this.#links = new SwarmLinks(this.tracker, c.transport, c.removedNeighbourGraceMs, (peerId) => {
      this.core.handlePeerDisconnected(peerId, monotonicNow());
      this.#driver.drain();
    }, { relinkGraceMs: c.relinkGraceMs, nowMs: monotonicNow });
    this.#upload = meterUpload(this.#driver, this.tracker, c.uploadReportMs);
    this.tracker.on('neighbours', ({ neighbours }) => {
      const b = neighbours.find((n) => n.reasons.includes('broadcaster'));
      if (b) this.#broadcasterId = b.peerId;
      this.core.handleNeighbours(neighbours, monotonicNow());
      this.#driver.drain();
      this.#updateStatus();
    });
    this.tracker.on('roles', (r) => {
      this.core.handleRoles(r, monotonicNow());
      this.#driver.drain();
    });
    this.tracker.on('stream', ({ broadcastId }) => {
      // The tracker names the current broadcast (checked against the key at publish): manifests of
      // any other one are replays of an earlier go-live and are refused by the core.
      if (broadcastId !== null) this.core.handleBroadcast(fromBase64url(broadcastId), monotonicNow());
      this.#updateStatus();
    });
    this.tracker.on('joined', () => {
      this.#trackerDown = false;
      this.#updateStatus();
    });
    this.tracker.on('disconnected', () => {
      this.#trackerDown = true;
      this.#updateStatus();
    });
    this.tracker.on('error', (e) => this.emit('error', e));
    this.#statsTimer = setInterval(() => {
      this.#updateStatus();
      this.emit('stats', this.stats);
    }, c.statsIntervalMs);
    if (options.streamKey) void this.#onStreamKey(encodeStreamKey(options.streamKey));
    try {
      this.tracker.connect();
    } catch (e) {
      // The page may refuse the socket outright (ws:// from an https page): leave nothing running.
      this.destroy();
      throw e;
    }
  }

  get status(): ViewerStatus {
    return this.#status;
  }

  /** The verified rendition list (top first), null until one came. */
  get renditions(): RenditionInfo[] | null {
    return this.#renditions;
  }

  /** The verified rendition-list message, to seed a session of another rendition with. */
  get renditionMessage(): Uint8Array | null {
    return this.#renditionMessage;
  }

  /** The stream's public key once a neighbour proved it (its SHA-256 is the streamId). */
  get publicKey(): Uint8Array | null {
    return this.#publicKey;
  }

  get stats(): ViewerStats {
    const t = this.#driver.traffic;
    const fromB = this.#broadcasterId ? t.mediaDownByPeer.get(this.#broadcasterId) ?? 0 : 0;
    const s = this.core.stats;
    const frames = s.framesDelivered + s.framesMissed;
    return {
      peerId: this.tracker.peerId,
      peers: this.#connectedPeers(),
      shareFromPeers: t.mediaBytesDown === 0 ? 0 : (t.mediaBytesDown - fromB) / t.mediaBytesDown,
      bytesUp: t.bytesUp,
      bytesDown: t.bytesDown,
      mediaBytesDown: t.mediaBytesDown,
      mediaBytesFromBroadcaster: fromB,
      framesOnTime: frames === 0 ? 1 : s.framesDelivered / frames,
      framesDelivered: s.framesDelivered,
      framesMissed: s.framesMissed,
      frameBytes: this.#frameBytes,
      duplicates: s.duplicates,
      bans: s.bans,
      streamState: this.tracker.state,
      trackerConnected: this.tracker.connected,
      relayedPeers: this.#links.relayedPeers,
      paths: this.#links.paths,
      measuredUploadBps: this.#upload.last?.uploadBps ?? null,
      eventLoopLagMs: this.#upload.meter.report(monotonicNow()).lagMs,
    };
  }

  /**
   * A frame and its signed manifest got outside the swarm (the HLS edge's frame feed). The core
   * checks signature and digest itself before it delivers the frame or serves it to neighbours
   * (PeerCore.handleOutsideFrame); false when refused at once. Checks wait for the stream key,
   * which comes from a neighbour.
   */
  addOutsideFrame(manifest: Manifest, frame: Uint8Array): boolean {
    if (this.#destroyed) return false;
    const ok = this.core.handleOutsideFrame(manifest, frame, monotonicNow());
    this.#driver.drain();
    return ok;
  }

  /** The highest sequence number of the frames this session delivered; null before the first. */
  get newestFrameSeq(): number | null {
    return this.#newestSeq;
  }

  /**
   * The first frame this session still needs, for a feed from outside to start at: the lowest frame
   * it knows of (a manifest or packets from neighbours) but has neither delivered nor given up, else
   * the one after the newest it delivered; null before any frame.
   */
  get resumeFrameSeq(): number | null {
    let low: number | null = null;
    for (const f of this.core.framesBySeq.values()) {
      if ((f.state === 'collecting' || f.state === 'hashing') && (low === null || f.seq < low)) low = f.seq;
    }
    if (this.#newestSeq === null) return low;
    return low !== null && low <= this.#newestSeq ? low : this.#newestSeq + 1;
  }

  /** Connected neighbours now (cheap; `stats.peers` says the same). */
  get connectedPeers(): number {
    return this.#destroyed ? 0 : this.#connectedPeers();
  }

  /** Leaves the swarm: closes the tracker socket and every peer connection. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearInterval(this.#statsTimer);
    this.#upload.stop();
    this.#links.destroy();
    this.#driver.destroy();
    this.tracker.destroy();
    this.config.transport.destroy();
    this.removeAllListeners();
  }

  // ---- internals ----------------------------------------------------------------------------

  #connectedPeers(): number {
    return this.config.transport.peers().filter((p) => this.config.transport.peerState(p) === 'connected').length;
  }

  #runCrypto(job: CryptoJob): Promise<CryptoResult> | undefined {
    if (this.#runner) return this.#runner(job);
    if (job.kind === 'digest') return this.#digests(job);
    return undefined; // verify jobs wait for the stream key
  }

  async #onStreamKey(bytes: Uint8Array): Promise<void> {
    const key = await acceptStreamKey(bytes, this.keyStreamId);
    if (!key || this.#publicKey || this.#destroyed) return;
    this.#publicKey = key;
    this.#runner = createCryptoRunner({ publicKeyBytes: key, streamId: this.streamId });
    // Pass it on to every neighbour that may not have it yet, then run the held verifications.
    for (const p of this.config.transport.peers()) {
      if (this.config.transport.peerState(p) === 'connected') this.#driver.sendRaw(p, 'control', encodeStreamKey(key));
    }
    this.#driver.retryCrypto();
    const held = this.#heldRenditionMessage;
    this.#heldRenditionMessage = null;
    if (held) void this.#onRenditionMessage(held.bytes, held.from);
  }

  /**
   * A rendition list from a neighbour: kept when the stream key signed it (over the key's stream id)
   * and, once the tracker named the current go-live, when it is that go-live's; then passed on.
   */
  async #onRenditionMessage(bytes: Uint8Array, from: string | null): Promise<void> {
    const d = decodeRenditionMessage(bytes);
    const bad = () => {
      if (from !== null && this.#badLists.size < 256) this.#badLists.set(from, (this.#badLists.get(from) ?? 0) + 1);
    };
    if (!d) return bad();
    if (this.#destroyed) return;
    const key = this.#publicKey;
    if (!key) {
      this.#heldRenditionMessage = { bytes: bytes.slice(), from: from ?? '' };
      return;
    }
    // In the top swarm the tracker names the current go-live: a list of an earlier one is a replay.
    const current = this.streamId === this.keyStreamId ? this.tracker.broadcastId : null;
    if (current && current !== base64url(d.broadcastId)) return bad();
    if (!(await verifyBytes(key, d.signature, renditionSignedBytes(this.keyStreamId, d.body)))) return bad();
    if (this.#renditionMessage || this.#destroyed) return;
    this.#renditionMessage = bytes.slice();
    this.#renditions = d.list;
    for (const p of this.config.transport.peers()) {
      if (this.config.transport.peerState(p) === 'connected') this.#driver.sendRaw(p, 'control', this.#renditionMessage);
    }
    this.emit('renditions', d.list);
  }

  #updateStatus(): void {
    if (this.#destroyed) return;
    const state = this.tracker.state;
    let next: ViewerStatus;
    const peers = this.#connectedPeers();
    const now = monotonicNow();
    if (peers > 0) this.#lonelySinceMs = null;
    else this.#lonelySinceMs ??= now;
    if (this.#trackerDown && peers === 0) next = 'tracker-unreachable';
    else if (state === 'ended') next = 'ended';
    else if (state === 'waiting') next = 'waiting-for-broadcaster';
    else if (peers === 0 && now - (this.#lonelySinceMs ?? now) >= this.config.noPeersAfterMs) next = 'no-peers';
    else next = 'playing';
    if (next === this.#status) return;
    this.#status = next;
    this.emit('status', next);
  }
}
