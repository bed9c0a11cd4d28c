// Tracker server configuration: limits with their defaults, start options, the handle a started
// tracker returns, and the small helpers the server uses (token bucket, peer id derivation).
// Node-only (uses node:crypto); imported by server.ts and cli.ts.

import type http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { base64url } from '../crypto/stream-key.ts';
import { LIMITS } from './messages.ts';
import type { RoomConfig } from './room.ts';
import type { TrackerMetrics } from './metrics.ts';
import type { IceOptions } from './turn-credentials.ts';

export interface TrackerLimits {
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
  /** Token bucket per remote address, shared by its sockets. */
  addressRatePerSec: number;
  addressBurst: number;
  /** Bad or rate-limited messages a socket may send before it is closed. */
  maxViolations: number;
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
  maxSocketsPerAddress: 64,
  maxStreams: 1000,
  maxWaitingStreams: 1000,
  maxPeersPerStream: 10001,
  socketRatePerSec: 50,
  socketBurst: 200,
  broadcasterRateScale: 8,
  addressRatePerSec: 2000,
  addressBurst: 8000,
  maxViolations: 20,
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
  /** Accepted tracker origins (host[:port]) in publish proofs. Default: the request's Host header. */
  origins?: string[];
  /** Behind a reverse proxy: count limits per X-Forwarded-For client address (first entry). */
  trustProxy?: boolean;
  room?: Partial<RoomConfig>;
  limits?: Partial<TrackerLimits>;
  tickMs?: number;
  log?: (line: string) => void;
  /** STUN/TURN servers handed to every peer (`ice` message), TURN with short-lived credentials. */
  ice?: IceOptions;
}

export interface Tracker {
  port: number;
  /** ws:// URL of the tracker on its listening address (standalone) or undefined when attached. */
  url: string | undefined;
  metrics: TrackerMetrics;
  /** Answers /health and /metrics; returns false for other requests. */
  handleHttp(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  stats(): { sockets: number; peers: number; streams: number };
  close(): Promise<void>;
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

