// The broadcaster's session: publishes the stream at the tracker with the stream key's proof, keeps
// links to the viewers and holders the tracker names, drives the BroadcasterCore on the real clock
// (frames in, signed manifests, feed packets or code segments out) and reports upload / stream.
// No capture or encoding: frames come from publishFrame() (the MediaBroadcaster's 'frame' events).

import { createCodec } from '../codec/index.ts';
import { fromBase64url, type StreamKeyPair } from '../crypto/stream-key.ts';
import type { P2PError } from '../errors.ts';
import type { MediaFrame } from '../media/frame-format.ts';
import { BroadcasterCore, type SwarmMode } from '../protocol/broadcaster-core.ts';
import type { FrameCodec } from '../protocol/core-types.ts';
import type { UploadBreakdown } from '../protocol/upload-breakdown.ts';
import { createCryptoRunner } from '../protocol/crypto-jobs.ts';
import { TrackerClient } from '../tracker-client/tracker-client.ts';
import { TypedEmitter } from '../typed-emitter.ts';
import { CoreDriver, monotonicNow } from './core-driver.ts';
import { firstSeqFor, resolveSessionConfig, type SessionConfig, type SessionOptions } from './session-config.ts';
import { encodeStreamKey, isStreamKeyMessage } from './stream-key-exchange.ts';
import { isRenditionMessage } from '../media/renditions.ts';
import { SwarmLinks } from './swarm-links.ts';
import { meterUpload, type UploadMeter } from './upload-meter.ts';

export interface BroadcastStats {
  peerId: string | null;
  /** Viewers in the swarm (the tracker's count), and connected neighbours. */
  viewers: number;
  connected: number;
  holders: number;
  producers: number;
  mode: SwarmMode;
  framesPublished: number;
  /** Frame payload bytes published (the stream's size). */
  streamBytes: number;
  /** Every byte sent to peers, application layer. */
  bytesUp: number;
  /** bytesUp / streamBytes (0 before any frame). */
  uploadRatio: number;
  /**
   * What the core handed to the transport, by cause (direct-feed data, padding, spare keys and
   * headers, repairs, segments, manifests, control). bytesUp = upload.total − mediaBytesRefused +
   * the session's own messages (the stream key and rendition list to each new neighbour).
   */
  upload: UploadBreakdown;
  /** Media bytes the core sent that the transport refused (its buffer was full): not in bytesUp. */
  mediaBytesRefused: number;
  trackerConnected: boolean;
  /** Connected neighbours reached through a TURN relay (checked once a second). */
  relayedPeers: number;
  /** Upload this peer measured (reported to the tracker), bits per second; null before the first report. */
  measuredUploadBps: number | null;
  /** Smoothed lag of the session's timers (the upload meter's), ms. */
  eventLoopLagMs: number;
  /**
   * Feed keys sent per direct-feed frame beyond the 64 a frame needs, now: the configured floor
   * (`directSpareKeys`), raised by the loss the direct viewers report (up to `directSpareKeysMax`).
   */
  directSpareKeys: number;
}

export interface BroadcastSessionEvents {
  stats: (stats: BroadcastStats) => void;
  error: (error: P2PError) => void;
}

export type BroadcastSessionOptions = SessionOptions & {
  key: StreamKeyPair;
  /** Stream bitrate told to the tracker (role eligibility), bits per second. */
  bitrateBps?: number;
  /** First frame sequence number. Default: from the wall clock, so a reload never reuses numbers. */
  firstSeq?: number;
  /**
   * A lower rendition: its name and swarm id (`renditionSwarmId(key.streamId, name)`); the session
   * publishes that swarm with the stream key. Default: the top rendition, the key's own stream id.
   */
  rendition?: { name: string; swarmId: string };
};

export class BroadcastSession extends TypedEmitter<BroadcastSessionEvents> {
  readonly config: SessionConfig;
  readonly key: StreamKeyPair;
  readonly tracker: TrackerClient;
  readonly core: BroadcasterCore;
  /** The swarm this session publishes: the stream id, or a lower rendition's swarm id. */
  readonly swarmId: string;
  /** The signed rendition list sent to each neighbour after the key (setRenditionMessage). */
  #renditionMessage: Uint8Array | null = null;
  readonly #driver: CoreDriver;
  readonly #links: SwarmLinks;
  readonly #upload: UploadMeter;
  #swarm = { viewers: 0, holders: 0, producers: 0 };
  #statsTimer: ReturnType<typeof setInterval>;
  #destroyed = false;

  static async create(options: BroadcastSessionOptions): Promise<BroadcastSession> {
    const codec = options.codec ?? (await createCodec());
    return new BroadcastSession({ ...options, codec });
  }

  constructor(options: BroadcastSessionOptions & { codec: FrameCodec }) {
    super();
    this.config = resolveSessionConfig(options);
    this.key = options.key;
    const c = this.config;
    this.swarmId = options.rendition?.swarmId ?? this.key.streamId;
    this.tracker = new TrackerClient({
      url: c.trackerUrl, urls: c.trackerUrls && [...c.trackerUrls], streamId: this.swarmId, rendition: options.rendition?.name, WebSocket: c.WebSocket, peerSecret: c.peerSecret, uploadBps: c.uploadBps,
      broadcasterKey: this.key, bitrateBps: options.bitrateBps, reconnectMinMs: c.reconnectMinMs, reconnectMaxMs: c.reconnectMaxMs,
    });
    // One go-live, one broadcast id: the tracker client picked it for the publish proof, and every
    // manifest carries it, so viewers refuse a replay of an earlier broadcast signed with this key.
    const broadcastId = fromBase64url(this.tracker.broadcastId as string);
    this.core = new BroadcasterCore({ codec: options.codec, config: c.broadcaster, firstSeq: options.firstSeq ?? firstSeqFor(Date.now()), broadcastId });
    // Manifests bind the swarm's id: a frame of one rendition cannot be replayed into another.
    const sign = createCryptoRunner({ publicKeyBytes: this.key.publicKeyBytes, streamId: this.swarmId, key: this.key });
    this.#driver = new CoreDriver(this.core, c.transport, {
      runCrypto: (job) => sign(job),
      onConnected: (peerId) => {
        this.#driver.sendRaw(peerId, 'control', encodeStreamKey(this.key.publicKeyBytes));
        if (this.#renditionMessage) this.#driver.sendRaw(peerId, 'control', this.#renditionMessage);
      },
      onPeerEnded: (peerId, failed) => this.#links.ended(peerId, failed),
      onBanned: (peerId) => this.#links.banned(peerId),
      interceptControl: (_from, bytes) => isStreamKeyMessage(bytes) || isRenditionMessage(bytes),
    }, this.core.cfg.mediaBudgetBytes);
    this.#links = new SwarmLinks(this.tracker, c.transport, c.removedNeighbourGraceMs, (peerId) => {
      this.core.handlePeerDisconnected(peerId, monotonicNow());
      this.#driver.drain();
    }, { relinkGraceMs: c.relinkGraceMs, nowMs: monotonicNow });
    this.#upload = meterUpload(this.#driver, this.tracker, c.uploadReportMs);
    this.tracker.on('swarm', (s) => {
      this.#swarm = { viewers: s.viewers, holders: s.holders.length, producers: s.producers.length };
      this.core.handleSwarm({ mode: s.mode, holders: s.holders.map((h) => ({ peerId: h.peerId, keys: h.keys })) }, monotonicNow());
      this.#driver.drain();
    });
    this.tracker.on('stream', ({ mode }) => {
      this.core.handleMode(mode, monotonicNow());
      this.#driver.drain();
    });
    this.tracker.on('error', (e) => this.emit('error', e));
    this.#statsTimer = setInterval(() => this.emit('stats', this.stats), c.statsIntervalMs);
    this.tracker.connect();
  }

  /** The broadcast id of this go-live (the publish proof's and every manifest's), 8 bytes. */
  get broadcastId(): Uint8Array {
    return fromBase64url(this.tracker.broadcastId as string);
  }

  /** Sets the signed rendition list (renditions.ts) sent to every neighbour, now and on each new link. */
  setRenditionMessage(message: Uint8Array): void {
    this.#renditionMessage = message;
    const t = this.config.transport;
    for (const p of t.peers()) if (t.peerState(p) === 'connected') this.#driver.sendRaw(p, 'control', message);
  }

  /** Publishes one frame of the media byte stream (from MediaBroadcaster's 'frame' event). */
  publishFrame(frame: MediaFrame): number {
    const seq = this.core.publishFrame(frame.bytes, frame.flags, frame.captureTimeMs, monotonicNow());
    this.#driver.drain();
    return seq;
  }

  get stats(): BroadcastStats {
    const t = this.#driver.traffic;
    const streamBytes = this.core.stats.bytesPublished;
    const transport = this.config.transport;
    return {
      peerId: this.tracker.peerId,
      viewers: this.#swarm.viewers,
      connected: transport.peers().filter((p) => transport.peerState(p) === 'connected').length,
      holders: this.#swarm.holders,
      producers: this.#swarm.producers,
      mode: this.core.swarmMode,
      framesPublished: this.core.stats.framesPublished,
      streamBytes,
      bytesUp: t.bytesUp,
      uploadRatio: streamBytes === 0 ? 0 : t.bytesUp / streamBytes,
      upload: { ...this.core.upload },
      mediaBytesRefused: t.mediaBytesRefused,
      trackerConnected: this.tracker.connected,
      relayedPeers: this.#links.relayedPeers,
      measuredUploadBps: this.#upload.last?.uploadBps ?? null,
      eventLoopLagMs: this.#upload.meter.report(monotonicNow()).lagMs,
      directSpareKeys: this.core.directSpare,
    };
  }

  /**
   * Ends the broadcast: tells the tracker (the stream becomes `ended`) after `lingerMs`, so the last
   * frames (the end-of-stream frame) still reach the viewers, then closes everything.
   */
  async end(lingerMs = 1500): Promise<void> {
    if (this.#destroyed) return;
    await new Promise((r) => setTimeout(r, lingerMs));
    this.tracker.leave();
    this.destroy();
  }

  /** Closes the tracker socket and every peer connection without ending the stream (a reload). */
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
}
