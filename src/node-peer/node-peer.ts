// A headless viewer in Node: a ViewerSession (same protocol core, tracker client and simple-peer
// transport as the browser, over @roamhq/wrtc) that decodes, verifies (WebCrypto) and relays the
// stream, without a player. STUN/TURN servers come from the tracker. Used by the
// p2p-player-peer CLI, the network lab and tests.

import { WebSocket } from 'ws';
import { P2PError } from '../errors.ts';
import { streamIdFromUrl, trackerUrlFor } from '../player/watch-link.ts';
import { ViewerSession, type ViewerStats, type ViewerStatus } from '../session/viewer-session.ts';
import type { SessionOptions } from '../session/session-config.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import { WebRtcTransport } from '../transport/web-rtc-transport.ts';
import { loadNodeWebRtc } from './node-webrtc.ts';
import { UploadLimitedTransport } from './upload-limit.ts';

export interface NodePeerOptions {
  /** Watch link (`http://host/watch/<streamId>`, `?stream=` and `?tracker=` honoured). */
  watchLink: string;
  /** Tracker URL; default from the watch link (its host's /tracker, or its ?tracker=). */
  trackerUrl?: string;
  /** More nodes of the same tracker deployment, tried in turn when the connection is lost. */
  trackerUrls?: readonly string[];
  /** Only TURN-relayed connections: neighbours see the relay's address, never this peer's. */
  relayOnly?: boolean;
  /** Cap on media upload, bits per second (also told to the tracker). Default: none. */
  uploadLimitBps?: number;
  transport?: Partial<TransportConfig>;
  session?: Partial<Omit<SessionOptions, 'trackerUrl' | 'transport'>>;
}

/**
 * A Node peer holds its media batches this long (the transport's `mediaHoldMs`), so the answers to
 * requests that arrive in separate turns share datachannel messages: each costs a blocking call into
 * @roamhq/wrtc's threads at both ends. In the lab's 12-peer swarm at 5 % bursty loss this halved the
 * media sends of the peers with the most neighbours (docs/netlab.md).
 */
export const NODE_MEDIA_HOLD_MS = 10;

export interface NodePeerStats extends ViewerStats {
  status: ViewerStatus;
  /** Milliseconds from start to the first verified frame; null before it. */
  firstFrameMs: number | null;
  /** Media sends refused by the upload cap. */
  refusedByUploadLimit: number;
}

/** Where a watch link points: tracker URL and streamId. Throws P2PError('BAD_CONFIG'). */
export function parseWatchLink(link: string, trackerUrl?: string): { trackerUrl: string; streamId: string } {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new P2PError('BAD_CONFIG', `not a watch link: ${link}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new P2PError('BAD_CONFIG', `a watch link is http: or https:, got ${url.protocol}`);
  const streamId = streamIdFromUrl(url);
  if (!streamId) throw new P2PError('BAD_CONFIG', `the watch link names no stream (/watch/<streamId> or ?stream=): ${link}`);
  return { trackerUrl: trackerUrl ?? trackerUrlFor(url), streamId };
}

export class NodePeer {
  readonly session: ViewerSession;
  readonly transport: WebRtcTransport;
  readonly #startMs = performance.now();
  #firstFrameMs: number | null = null;

  static async start(options: NodePeerOptions): Promise<NodePeer> {
    const { trackerUrl, streamId } = parseWatchLink(options.watchLink, options.trackerUrl);
    const wrtc = loadNodeWebRtc();
    const tc: Partial<TransportConfig> = { mediaHoldMs: NODE_MEDIA_HOLD_MS, ...options.transport, ...(options.relayOnly ? { iceTransportPolicy: 'relay' as const } : {}) };
    const limit = options.uploadLimitBps;
    if (limit !== undefined && (!Number.isFinite(limit) || limit < 8 * 1163)) throw new P2PError('BAD_CONFIG', `upload limit must be at least ${8 * 1163} bits per second, got ${limit}`);
    const transport = limit !== undefined ? new UploadLimitedTransport(limit, tc, wrtc) : new WebRtcTransport(tc, undefined, wrtc);
    const session = await ViewerSession.create({
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      ...(limit !== undefined ? { uploadBps: limit } : {}),
      ...options.session,
      trackerUrl,
      ...(options.trackerUrls ? { trackerUrls: options.trackerUrls } : {}),
      streamId,
      transport,
    });
    return new NodePeer(session, transport);
  }

  private constructor(session: ViewerSession, transport: WebRtcTransport) {
    this.session = session;
    this.transport = transport;
    session.on('frame', () => {
      this.#firstFrameMs ??= performance.now() - this.#startMs;
    });
  }

  get stats(): NodePeerStats {
    return {
      ...this.session.stats,
      status: this.session.status,
      firstFrameMs: this.#firstFrameMs,
      refusedByUploadLimit: this.transport instanceof UploadLimitedTransport ? this.transport.refusedByLimit : 0,
    };
  }

  destroy(): void {
    this.session.destroy();
  }
}

/** One line of stats for people: status, neighbours (relayed), frames, share from peers, traffic. */
export function formatStatsLine(s: NodePeerStats, elapsedSec: number): string {
  const kbps = (bytes: number) => (elapsedSec > 0 ? ((bytes * 8) / elapsedSec / 1000).toFixed(0) : '0');
  return [
    `${elapsedSec.toFixed(0).padStart(4)}s ${s.status}`,
    `peers ${s.peers} (relayed ${s.relayedPeers})`,
    `frames ${s.framesDelivered} ok / ${s.framesMissed} missed (${(s.framesOnTime * 100).toFixed(1)} % on time)`,
    `from peers ${(s.shareFromPeers * 100).toFixed(0)} %`,
    `down ${kbps(s.bytesDown)} kbit/s up ${kbps(s.bytesUp)} kbit/s`,
    s.firstFrameMs === null ? 'no frame yet' : `first frame ${(s.firstFrameMs / 1000).toFixed(2)} s`,
    ...(s.bans ? [`bans ${s.bans}`] : []),
    ...(s.trackerConnected ? [] : ['tracker away']),
  ].join(' | ');
}
