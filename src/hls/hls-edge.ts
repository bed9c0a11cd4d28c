// The HLS edge: takes the delivered (verified) frames of streams from frame sources, feeds one
// LL-HLS writer per stream on the real clock, and wakes the HTTP handler's held requests. A source
// is anything that hands over frames as the protocol core delivered them; `sessionFrameSource`
// makes one from a ViewerSession (a Node peer in the swarm). Used by `npm start --edge` and tests.

import { P2PError } from '../errors.ts';
import type { FrameCodec } from '../protocol/core-types.ts';
import type { Manifest } from '../protocol/wire.ts';
import { ViewerSession } from '../session/viewer-session.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import type { Transport } from '../transport/transport.ts';
import { FrameRing, type FrameRingConfig } from './frame-bundle.ts';
import { HlsHandler, type HlsHandlerConfig } from './hls-handler.ts';
import { LlHlsWriter, resolveLlHlsWriterConfig, type DeliveredFrame, type LlHlsWriterConfig } from './ll-hls-writer.ts';

/** Frames of one stream as the protocol core delivers them (decoded, matched to a verified manifest). */
export interface DeliveredFrameSource {
  /** Registers the frame callback; returns the function that unregisters it. */
  subscribe(onFrame: (delivered: DeliveredFrame) => void): () => void;
  /** Leaves the stream (closes the session behind the source). */
  destroy(): void;
}

/** What a ViewerSession offers the edge (its 'delivered' event and destroy). */
export interface DeliveringSession {
  on(event: 'delivered', fn: (d: { manifest: Manifest; frame: Uint8Array }) => void): unknown;
  off(event: 'delivered', fn: (d: { manifest: Manifest; frame: Uint8Array }) => void): unknown;
  destroy(): void;
}

/** A frame source over a viewer session: the frames its protocol core verified. */
export function sessionFrameSource(session: DeliveringSession): DeliveredFrameSource {
  return {
    subscribe(onFrame) {
      const fn = (d: DeliveredFrame) => onFrame(d);
      session.on('delivered', fn);
      return () => session.off('delivered', fn);
    },
    destroy: () => session.destroy(),
  };
}

/**
 * Joins streams on demand as a viewer session: the edge is then a peer of the swarm like any other
 * (the tracker may give it holder and producer roles). `createTransport` makes its peer links; in
 * Node that needs a WebRTC implementation (the Node peer runtime), in tests a MemoryTransport.
 */
export function sessionSourceOpener(options: {
  trackerUrl: string;
  codec: FrameCodec;
  WebSocket: WebSocketConstructor;
  createTransport: () => Transport;
  /** Upload capacity told to the tracker, bits per second. Default 100 Mbit/s (a high-capacity peer). */
  uploadBps?: number;
}): (streamId: string) => DeliveredFrameSource | null {
  return (streamId) => {
    let session: ViewerSession;
    try {
      session = new ViewerSession({
        trackerUrl: options.trackerUrl, streamId, codec: options.codec, WebSocket: options.WebSocket,
        transport: options.createTransport(), uploadBps: options.uploadBps ?? 100_000_000,
      });
    } catch {
      return null; // not a stream id, or no transport: the request gets its 404
    }
    return sessionFrameSource(session);
  };
}

export interface HlsEdgeConfig {
  writer?: Partial<LlHlsWriterConfig>;
  handler?: Omit<HlsHandlerConfig, 'onUnknownStream'>;
  /** How often writers are ticked (fragment skip decisions), ms. Default 100. */
  tickMs?: number;
  /** Opens a source for a stream a player asks for (join on demand); null when it cannot. */
  openSource?: (streamId: string) => DeliveredFrameSource | null;
  /** Most streams served at once. Default 64. */
  maxStreams?: number;
  /** The frame feed kept per stream (`frames-<seq>.bin`, for HTTP viewers to hand on). */
  frameRing?: Partial<FrameRingConfig>;
}

export interface EdgeStreamStats {
  streamId: string;
  framesIn: number;
  frameBytesIn: number;
  segments: number;
  writer: LlHlsWriter['counters'];
}

interface EdgeStream {
  streamId: string;
  source: DeliveredFrameSource;
  unsubscribe: () => void;
  writer: LlHlsWriter;
  ring: FrameRing;
  writers: number;
  seenVersion: number;
  framesIn: number;
  frameBytesIn: number;
}

export class HlsEdge {
  readonly handler: HlsHandler;
  readonly #writerConfig: Partial<LlHlsWriterConfig>;
  #streams = new Map<string, EdgeStream>();
  #timer: ReturnType<typeof setInterval>;
  #openSource: HlsEdgeConfig['openSource'];
  #maxStreams: number;
  #ringConfig: Partial<FrameRingConfig>;
  #prefixBase = Date.now().toString(36);
  #destroyed = false;

  constructor(config: HlsEdgeConfig = {}) {
    this.#writerConfig = config.writer ?? {};
    resolveLlHlsWriterConfig(this.#writerConfig);
    this.#openSource = config.openSource;
    this.#maxStreams = config.maxStreams ?? 64;
    this.#ringConfig = config.frameRing ?? {};
    this.handler = new HlsHandler({ ...config.handler, onUnknownStream: (id) => this.#onUnknown(id) });
    this.#timer = setInterval(() => this.#tickAll(), config.tickMs ?? 100);
    this.#timer.unref?.();
  }

  /** Serves a stream from a source; throws P2PError('BAD_STATE') when it is already served. */
  addStream(streamId: string, source: DeliveredFrameSource): void {
    if (this.#destroyed) throw new P2PError('DESTROYED', 'the edge was destroyed');
    if (this.#streams.has(streamId)) throw new P2PError('BAD_STATE', `stream ${streamId} is already served`);
    if (this.#streams.size >= this.#maxStreams) throw new P2PError('EDGE_FULL', `the edge serves ${this.#maxStreams} streams already`);
    const s: EdgeStream = {
      streamId, source, unsubscribe: () => {}, writer: this.#newWriter(0), ring: new FrameRing(this.#ringConfig), writers: 1, seenVersion: 0, framesIn: 0, frameBytesIn: 0,
    };
    s.unsubscribe = source.subscribe((d) => this.#onFrame(s, d));
    this.#streams.set(streamId, s);
    this.handler.setWriter(streamId, s.writer);
    this.handler.setFrameRing(streamId, s.ring);
  }

  removeStream(streamId: string): void {
    const s = this.#streams.get(streamId);
    if (!s) return;
    this.#streams.delete(streamId);
    s.unsubscribe();
    s.source.destroy();
    this.handler.removeWriter(streamId);
  }

  get streams(): EdgeStreamStats[] {
    return [...this.#streams.values()].map((s) => ({
      streamId: s.streamId, framesIn: s.framesIn, frameBytesIn: s.frameBytesIn, segments: s.writer.counters.segmentsClosed, writer: s.writer.counters,
    }));
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearInterval(this.#timer);
    for (const id of [...this.#streams.keys()]) this.removeStream(id);
    this.handler.close();
  }

  #newWriter(n: number): LlHlsWriter {
    return new LlHlsWriter({ ...this.#writerConfig, resourcePrefix: `${this.#prefixBase}${n}-` });
  }

  #onFrame(s: EdgeStream, d: DeliveredFrame): void {
    if (this.#destroyed || this.#streams.get(s.streamId) !== s) return;
    s.framesIn++;
    s.frameBytesIn += d?.frame?.length ?? 0;
    // A stream that ended and comes back (a broadcaster restart after its end frame) gets a new playlist.
    if (s.writer.ended && d?.manifest && d.manifest.flags & 2) {
      s.writer = this.#newWriter(s.writers++);
      s.seenVersion = 0;
      s.ring = new FrameRing(this.#ringConfig);
      this.handler.setWriter(s.streamId, s.writer);
      this.handler.setFrameRing(s.streamId, s.ring);
    }
    s.writer.push(d, performance.now());
    // The frame feed takes what the core delivered (verified) as it is; its readers check it again.
    const ringBefore = s.ring.next;
    if (d?.manifest && d.frame instanceof Uint8Array && d.frame.length === d.manifest.length) s.ring.push(d, (d.manifest.flags & 2) !== 0);
    if (s.ring.next !== ringBefore && s.writer.version === s.seenVersion) this.handler.notify(s.streamId);
    this.#maybeNotify(s);
  }

  #tickAll(): void {
    const now = performance.now();
    for (const s of this.#streams.values()) {
      s.writer.tick(now);
      this.#maybeNotify(s);
    }
  }

  #maybeNotify(s: EdgeStream): void {
    if (s.writer.version === s.seenVersion) return;
    s.seenVersion = s.writer.version;
    this.handler.notify(s.streamId);
  }

  #onUnknown(streamId: string): void {
    if (!this.#openSource || this.#destroyed || this.#streams.size >= this.#maxStreams) return;
    const source = this.#openSource(streamId);
    if (source) this.addStream(streamId, source);
  }
}
