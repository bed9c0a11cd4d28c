// Tracker server configuration: limits with their defaults, start options, the handle a started
// tracker returns, and the small helpers the server uses (token bucket, peer id derivation).
// Node-only (uses node:crypto); imported by server.ts and cli.ts.

import type http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { base64url } from '../crypto/stream-key.ts';
import { LIMITS } from './messages.ts';
import type { RoomConfig } from './room.ts';
import type { TrackerMetrics } from './metrics.ts';
import type { SignalBudgetLimits } from './signal-budget.ts';
import type { IceOptions } from './turn-credentials.ts';
import type { ClusterBackend } from './cluster-backend.ts';
import type { ClusterNode } from './cluster-node.ts';

export interface TrackerLimits extends SignalBudgetLimits {
  /** Largest WebSocket message, bytes (ws maxPayload). */
  maxPayloadBytes: number;
  /** Fragments of one message (ws maxFragments); signalling never fragments much. */
  maxFragments: number;
  /** Chunks buffered per socket before a message completes (ws maxBufferedChunks). */
  maxBufferedChunks: number;
  maxSignalBytes: number;
  maxSockets: number;
  maxSocketsPerAddress: number;
  /** Streams with a broadcaster. */
  maxStreams: number;
  /** Streams that viewers wait for (no broadcaster yet); separate, so they cannot crowd out publishers. */
  maxWaitingStreams: number;
  maxPeersPerStream: number;
  /** Token bucket per socket: messages per second and burst. */
  socketRatePerSec: number;
  socketBurst: number;
  /** The broadcaster's socket gets this many times the socket rate and burst. */
  broadcasterRateScale: number;
  /** Token bucket per remote address (IPv4 address, IPv6 /64), shared by its sockets. */
  addressRatePerSec: number;
  addressBurst: number;
  /** Joins and publishes per remote address (IPv4 address, IPv6 /64): rate per second and burst. */
  addressJoinRatePerSec: number;
  addressJoinBurst: number;
  /**
   * Signals to a socket with more than this unsent are dropped and charged to their sender; the
   * receiver is never dropped for it (SLOW_CONSUMER is for the tracker's own messages).
   */
  maxSignalBacklogBytes: number;
  /** Bad or rate-limited messages a socket may send before it is closed. */
  maxViolations: number;
  /** A socket sends at most one complaint per this period. */
  complaintIntervalMs: number;
  /** Ping period; a socket that misses one pong (half-open) is dropped. */
  pingIntervalMs: number;
  /** A socket that has not joined a stream by then is closed. */
  joinTimeoutMs: number;
  /** A socket whose unsent output exceeds this is dropped (it does not read). */
  maxSendBufferBytes: number;
}

export const DEFAULT_TRACKER_LIMITS: Readonly<TrackerLimits> = Object.freeze({
  maxPayloadBytes: LIMITS.maxMessageBytes,
  maxFragments: 8,
  maxBufferedChunks: 64,
  maxSignalBytes: LIMITS.maxSignalBytes,
  maxSockets: 20000,
  maxSocketsPerAddress: 16,
  maxStreams: 1000,
  maxWaitingStreams: 1000,
  maxPeersPerStream: 10001,
  socketRatePerSec: 50,
  socketBurst: 200,
  broadcasterRateScale: 8,
  addressRatePerSec: 2000,
  addressBurst: 8000,
  addressJoinRatePerSec: 1,
  addressJoinBurst: 20,
  pairSignalRatePerSec: 10,
  pairSignalBurst: 80,
  pairSignalUnitBytes: 2048,
  maxSignalBacklogBytes: 256 * 1024,
  maxViolations: 20,
  complaintIntervalMs: 1000,
  pingIntervalMs: 15000,
  joinTimeoutMs: 15000,
  maxSendBufferBytes: 1 << 20,
});

export interface TrackerOptions {
  /** Port to listen on (0: any free port). Ignored when `server` is given. */
  port?: number;
  host?: string;
  /** Existing HTTP server: the tracker handles its upgrades on `path`; the owner routes HTTP via handleHttp. */
  server?: http.Server;
  /** WebSocket path. Default: every path when standalone, '/tracker' on a shared server. */
  path?: string;
  /**
   * The tracker's public URL (wss://tracker.example.com/tracker): its host[:port] is the identity
   * broadcaster proofs must name. Set it whenever clients reach the tracker under another name
   * than its listening address (a reverse proxy, a DNS name, a port mapping).
   */
  publicUrl?: string;
  /**
   * Further accepted identities (host[:port]) in publish proofs. With neither this nor
   * `publicUrl`, the identity is the listening address (see publish-proof.ts); request headers
   * are never used, so a proof made for another tracker never verifies here.
   */
  origins?: string[];
  /**
   * Page origins (`https://site.example`) allowed to open a tracker socket from a browser. Default:
   * any (a public tracker serves every site's pages). A browser upgrade with another Origin header
   * is refused with HTTP 403 (counted ORIGIN_REFUSED); clients that send no Origin (Node, native)
   * are not browsers and are let through.
   */
  allowedOrigins?: string[];
  /**
   * Who may read /metrics: 'loopback' (default: requests from the tracker's own host only; behind
   * a trusted proxy the forwarded client address counts) or 'public'. With `metricsToken`, a request
   * bearing `Authorization: Bearer <token>` may read them from anywhere too.
   */
  metricsAccess?: 'loopback' | 'public';
  metricsToken?: string;
  /** Behind a reverse proxy: count limits per X-Forwarded-For client address (first entry). */
  trustProxy?: boolean;
  room?: Partial<RoomConfig>;
  limits?: Partial<TrackerLimits>;
  tickMs?: number;
  /** Time and timers of the server (default: the process's). Tests pass a manual clock. */
  clock?: TrackerClock;
  log?: (line: string) => void;
  /** STUN/TURN servers handed to every peer (`ice` message), TURN with short-lived credentials. */
  ice?: IceOptions;
  /** Run as one node of a cluster sharing Redis (docs/tracker.md, Scale-out). Default: alone. */
  cluster?: TrackerClusterOptions;
}

export interface TrackerClusterOptions {
  /** This node's name, unique among the nodes (letters, digits, '.', '_', '-'; 1…64). */
  nodeId: string;
  /** redis://host:port of the shared Redis. */
  redisUrl?: string;
  /** Or a backend made by the caller (several nodes in one process share a MemorySpace). */
  backend?: ClusterBackend;
  /** Stream ownership lease, ms (default 6000): how long a dead node's streams wait for a new owner. */
  leaseMs?: number;
  /** Lease renewal and owner checks, ms (default leaseMs / 5). */
  renewMs?: number;
  /** Prefix of keys and channels (default 'p2p:'), so several clusters can share one Redis. */
  prefix?: string;
  /** Members per cell of a stream split over several nodes (docs/tracker.md, Cells); 0 (default): never split. */
  cellSize?: number;
  /** Cells per stream at most (default and ceiling: min(⌊256 / keys⌋, ⌊32 / cellGroups⌋), 4). */
  maxCells?: number;
  /** Producer groups per cell (default 8). */
  cellGroups?: number;
  /** Cross-cell neighbours a peer asks for (default 2; it accepts up to twice as many). */
  crossLinks?: number;
}

/**
 * Where the server reads time and sets its periodic timers. Every limit, lease and timeout of the
 * server and its rooms uses `now()`; the relay latency metric alone reads the real clock.
 */
export interface TrackerClock {
  /** Milliseconds, never going back. */
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const SYSTEM_CLOCK: TrackerClock = {
  now: () => performance.now(),
  setInterval: (fn, ms) => {
    const h = setInterval(fn, ms);
    h.unref?.();
    return h;
  },
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
};

export interface Tracker {
  port: number;
  /** ws:// URL of the tracker on its listening address (standalone) or undefined when attached. */
  url: string | undefined;
  metrics: TrackerMetrics;
  /** Answers /health and /metrics; returns false for other requests. */
  handleHttp(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  stats(): { sockets: number; peers: number; streams: number };
  /** The cluster node when running in a cluster, else null. */
  cluster: ClusterNode | null;
  close(): Promise<void>;
  /** Stops at once without any goodbye (no lease released, no leave sent): a crash, for tests. */
  halt(): Promise<void>;
}

export interface Bucket {
  tokens: number;
  lastMs: number;
}


/** Token bucket: refills at ratePerSec up to burst; takes one token or returns false. */
export function take(b: Bucket, ratePerSec: number, burst: number, t: number): boolean {
  b.tokens = Math.min(burst, b.tokens + ((t - b.lastMs) * ratePerSec) / 1000);
  b.lastMs = t;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

/** Derives a stable peer id from a client secret (so a reconnect keeps its id), or makes a random one. */
export function peerIdFor(secret?: string): string {
  if (!secret) return base64url(randomBytes(12));
  return base64url(createHash('sha256').update('p2p-player peer id\n').update(secret).digest()).slice(0, 16);
}

