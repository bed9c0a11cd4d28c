// The sessions' one typed config, defaults field by field, and the resolve step that rejects bad
// values with P2PError('BAD_CONFIG'). Types and checks only; used by ViewerSession and
// BroadcastSession, which take the I/O pieces (transport, WebSocket constructor) injected.

import { P2PError } from '../errors.ts';
import { MAX_STREAM_SEQ, type FrameCodec, type PeerCoreConfig } from '../protocol/core-types.ts';
import type { BroadcasterConfig } from '../protocol/broadcaster-core.ts';
import type { Transport } from '../transport/transport.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';

export interface SessionConfig {
  /** ws:// or wss:// URL of the tracker (for example ws://host/tracker). */
  trackerUrl: string;
  /**
   * More tracker nodes of the same deployment (ws:// or wss://, at most 16): when the connection is
   * lost the client tries trackerUrl and these in turn, so a peer whose node died joins a surviving
   * one while its links to neighbours carry on. Default: none.
   */
  trackerUrls?: readonly string[];
  /** The peer connections; WebRtcTransport in browsers, MemoryTransport in tests. Owned by the session. */
  transport: Transport;
  /** WebSocket constructor for the tracker client. Default: globalThis.WebSocket (Node: pass `ws`). */
  WebSocket?: WebSocketConstructor;
  /** Coding implementation. Default: createCodec() (fastest WebAssembly build that validates). */
  codec?: FrameCodec;
  /** Keeps the tracker peer id across reconnects. Default: random per session. */
  peerSecret?: string;
  /**
   * An upload cap this peer states for itself, bits per second (a configured upload limit).
   * Default: none; the tracker then ranks the peer on what it measured alone (`measuredUploadBps`,
   * from the session's upload meter), and a stated cap only lowers that figure.
   */
  uploadBps?: number;
  /** How often the upload meter's figure goes to the tracker client (sent with the next heartbeat), ms. */
  uploadReportMs: number;
  /** A neighbour the tracker dropped is closed after this long unless it comes back, ms. */
  removedNeighbourGraceMs: number;
  /**
   * A neighbour whose link was up less than this long ago is not reported to the tracker when
   * connecting to it fails (the tracker would never pair the two again): it is tried again, as after
   * a network outage on either side, ms. A ban is always reported.
   */
  relinkGraceMs: number;
  /** Connected but without any neighbour for this long: status `no-peers`, ms. */
  noPeersAfterMs: number;
  /** How often `stats` is emitted, ms. */
  statsIntervalMs: number;
  /** Viewer: partial protocol core config. */
  peer?: Partial<PeerCoreConfig>;
  /** Broadcaster: partial broadcaster core config. */
  broadcaster?: Partial<BroadcasterConfig>;
  /** Tracker client reconnect backoff bounds, ms. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

export const DEFAULT_SESSION_CONFIG = Object.freeze({
  uploadReportMs: 1000,
  removedNeighbourGraceMs: 4000,
  relinkGraceMs: 60_000,
  noPeersAfterMs: 6000,
  statsIntervalMs: 1000,
  reconnectMinMs: 500,
  reconnectMaxMs: 5000,
});

const TRACKER_URL = /^wss?:\/\/\S+$/;
/** Tracker nodes a session may be given beside its first (trackerUrls). */
export const MAX_TRACKER_URLS = 16;

/**
 * A `tracker` attribute or flag naming one tracker or several nodes of one deployment, separated by
 * white space: the first is trackerUrl, the others trackerUrls. Checked by resolveSessionConfig.
 */
export function splitTrackerList(list: string): { trackerUrl: string; trackerUrls?: string[] } {
  const [trackerUrl = '', ...rest] = list.trim().split(/\s+/);
  return rest.length ? { trackerUrl, trackerUrls: rest } : { trackerUrl };
}

export type SessionOptions = Pick<SessionConfig, 'trackerUrl' | 'transport'> & Partial<Omit<SessionConfig, 'trackerUrl' | 'transport'>>;

export function resolveSessionConfig(options: SessionOptions): SessionConfig {
  const c: SessionConfig = { ...DEFAULT_SESSION_CONFIG, ...options };
  if (typeof c.trackerUrl !== 'string' || !TRACKER_URL.test(c.trackerUrl)) throw new P2PError('BAD_CONFIG', `trackerUrl must be a ws:// or wss:// URL, got ${String(c.trackerUrl)}`);
  if (c.trackerUrls !== undefined) {
    if (!Array.isArray(c.trackerUrls) || c.trackerUrls.length > MAX_TRACKER_URLS) throw new P2PError('BAD_CONFIG', `trackerUrls must be a list of at most ${MAX_TRACKER_URLS} URLs`);
    for (const u of c.trackerUrls) if (typeof u !== 'string' || !TRACKER_URL.test(u)) throw new P2PError('BAD_CONFIG', `trackerUrls must hold ws:// or wss:// URLs, got ${String(u)}`);
  }
  if (!c.transport || typeof c.transport.connect !== 'function') throw new P2PError('BAD_CONFIG', 'transport is required (WebRtcTransport or MemoryTransport)');
  if (c.uploadBps !== undefined && (typeof c.uploadBps !== 'number' || !Number.isFinite(c.uploadBps) || c.uploadBps < 0)) throw new P2PError('BAD_CONFIG', `session config uploadBps must be a number ≥ 0, got ${String(c.uploadBps)}`);
  for (const k of ['uploadReportMs', 'removedNeighbourGraceMs', 'relinkGraceMs', 'noPeersAfterMs', 'statsIntervalMs', 'reconnectMinMs', 'reconnectMaxMs'] as const) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new P2PError('BAD_CONFIG', `session config ${k} must be a number ≥ 0, got ${String(v)}`);
  }
  if (c.uploadReportMs < 250) throw new P2PError('BAD_CONFIG', 'uploadReportMs must be ≥ 250');
  if (c.statsIntervalMs < 50) throw new P2PError('BAD_CONFIG', 'statsIntervalMs must be ≥ 50');
  if (c.reconnectMinMs > c.reconnectMaxMs) throw new P2PError('BAD_CONFIG', 'reconnectMinMs must be ≤ reconnectMaxMs');
  return c;
}

/**
 * First frame sequence number of a broadcast: grows with wall-clock time (one step per 50 ms since
 * 2025), so a reloaded broadcaster never reuses numbers its viewers already admitted.
 */
export function firstSeqFor(nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - Date.UTC(2025, 0, 1)) / 50)) % (MAX_STREAM_SEQ + 1);
}
