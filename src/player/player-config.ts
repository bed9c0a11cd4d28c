// The player's one typed config, its statuses, stats and events. Defaults field by field with units
// in the names; resolvePlayerConfig rejects bad values with P2PError('BAD_CONFIG'). Pure.
// Used by MediaPlayer and the <p2p-player> element.

import { P2PError } from '../errors.ts';
import { DEFAULT_LATENCY_ADAPTER_CONFIG, type LatencyAdapterConfig } from './latency-adapter.ts';
import { DEFAULT_LATENCY_CONFIG, type LatencyConfig } from './latency-controller.ts';

export interface PlayerConfig extends LatencyConfig, LatencyAdapterConfig {
  /** How often the player checks latency, gaps and deadlines, ms. Default 100. */
  tickMs: number;
  /** How often a 'stats' event is emitted, ms. Default 1000. */
  statsIntervalMs: number;
  /** Start playing as soon as media is buffered (muted if the browser refuses sound). Default true. */
  autoplay: boolean;
  /** Shortest / longest time a missing fragment may hold up later ones, ms. Defaults 150 / 3000. */
  minWaitMs: number;
  maxWaitMs: number;
  /** Without a new fragment for this long, the player no longer shows 'playing', ms. Default 3000. */
  stalledAfterMs: number;
}

export const DEFAULT_PLAYER_CONFIG: PlayerConfig = {
  ...DEFAULT_LATENCY_CONFIG,
  ...DEFAULT_LATENCY_ADAPTER_CONFIG,
  tickMs: 100,
  statsIntervalMs: 1000,
  autoplay: true,
  minWaitMs: 150,
  maxWaitMs: 3000,
  stalledAfterMs: 3000,
};

export function resolvePlayerConfig(partial: Partial<PlayerConfig> = {}): PlayerConfig {
  const c = { ...DEFAULT_PLAYER_CONFIG, ...partial };
  const bad = (msg: string): never => {
    throw new P2PError('BAD_CONFIG', msg);
  };
  if (!(c.targetLatencyS >= 0.1 && c.targetLatencyS <= 30)) bad(`targetLatencyS ${c.targetLatencyS} is outside 0.1 … 30`);
  if (!(c.seekBeyondS > 0)) bad(`seekBeyondS ${c.seekBeyondS} must be positive`);
  if (!(c.catchUpRate >= 1 && c.catchUpRate <= 1.5)) bad(`catchUpRate ${c.catchUpRate} is outside 1 … 1.5`);
  if (!(c.fastCatchUpRate >= c.catchUpRate && c.fastCatchUpRate <= 1.5)) bad(`fastCatchUpRate ${c.fastCatchUpRate} is outside catchUpRate … 1.5`);
  if (!(c.fastCatchUpBeyondS >= 0)) bad(`fastCatchUpBeyondS ${c.fastCatchUpBeyondS} is negative`);
  if (!(c.slowDownRate >= 0.5 && c.slowDownRate <= 1)) bad(`slowDownRate ${c.slowDownRate} is outside 0.5 … 1`);
  if (!(c.toleranceS >= 0)) bad(`toleranceS ${c.toleranceS} is negative`);
  if (!(c.backBufferS >= 0.5)) bad(`backBufferS ${c.backBufferS} is below 0.5`);
  if (!(c.tickMs >= 10 && c.tickMs <= 1000)) bad(`tickMs ${c.tickMs} is outside 10 … 1000`);
  if (!(c.statsIntervalMs >= 100)) bad(`statsIntervalMs ${c.statsIntervalMs} is below 100`);
  if (!(c.minWaitMs >= 0 && c.maxWaitMs >= c.minWaitMs)) bad(`wait bounds ${c.minWaitMs} … ${c.maxWaitMs} are not ordered`);
  if (!(c.stalledAfterMs >= 500)) bad(`stalledAfterMs ${c.stalledAfterMs} is below 500`);
  if (!(c.maxExtraLatencyS >= 0 && c.maxExtraLatencyS <= 10)) bad(`maxExtraLatencyS ${c.maxExtraLatencyS} is outside 0 … 10`);
  if (!(c.latencyStepUpS > 0 && c.latencyStepUpS <= 2)) bad(`latencyStepUpS ${c.latencyStepUpS} is outside (0, 2]`);
  if (!(c.latencyRelaxAfterMs >= 1000)) bad(`latencyRelaxAfterMs ${c.latencyRelaxAfterMs} is below 1000`);
  if (!(c.latencyRelaxStepS > 0 && c.latencyRelaxStepS <= 2)) bad(`latencyRelaxStepS ${c.latencyRelaxStepS} is outside (0, 2]`);
  if (!(c.startGraceMs >= 0 && c.startGraceMs <= 60_000)) bad(`startGraceMs ${c.startGraceMs} is outside 0 … 60000`);
  return c;
}

/** What the session reports about the swarm. */
export const SESSION_STATUSES = ['waiting-for-broadcaster', 'ended', 'tracker-unreachable', 'no-peers', 'playing'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** What the player shows: the session's word, or 'playing' while media flows, or 'ended'. */
export type PlayerStatus = SessionStatus | 'idle' | 'error';

/** Numbers the session provides through setStats(). */
export interface SessionStats {
  peers: number;
  /** Fraction 0 … 1 of received media bytes that came from peers (not the broadcaster). */
  shareFromPeers: number;
  bytesUp: number;
  bytesDown: number;
  /** Bytes of media messages received (part of bytesDown), where the session counts them. */
  mediaBytesDown?: number;
  /** Fraction 0 … 1 of frames decoded before their deadline. */
  framesOnTime: number;
}

export interface PlayerStats {
  status: PlayerStatus;
  codecs: string | null;
  /** Playhead behind the newest buffered media, seconds. */
  latencyS: number | null;
  /** The latency the player holds now: the configured target plus what stalls added, seconds. */
  targetLatencyS: number;
  /** Now minus the capture time of the media being shown (broadcaster's clock), ms. */
  glassToGlassMs: number | null;
  bufferAheadS: number;
  framesIn: number;
  badFrames: number;
  fragmentsAppended: number;
  fragmentsSkipped: number;
  /** fragmentsAppended / (appended + skipped), 1 before any. */
  fragmentsOnTime: number;
  seeks: number;
  resets: number;
  playbackRate: number;
  decodedFrames: number;
  droppedFrames: number;
  session: SessionStats | null;
  /** With several renditions: which plays, what was asked for. */
  rendition?: RenditionState;
  /** Which path plays and the share of media over HTTP, when the HLS safety net runs (<p2p-player>). */
  /** The HTTP safety net's numbers (hls-fallback.ts SourceStats) when the element runs it. */
  source?: { path: string; shareFromHttp: number; httpBytes: number; p2pBytes: number; switches: number; via?: string | null; rejoins?: number; glassToGlassMs?: number | null; feed?: { bytes: number } };
}

export interface PlayerEvents {
  status: (status: PlayerStatus) => void;
  stats: (stats: PlayerStats) => void;
  error: (error: P2PError) => void;
  /** A fragment went to the media buffer. */
  fragment: (info: { index: number; mediaTimeMs: number; bytes: number }) => void;
  /** A fragment was given up (missing pieces at its deadline, or no key frame after a skip). */
  skip: (info: { index: number; reason: string }) => void;
  /** A rendition switch landed: the new init segment is queued on the same SourceBuffer. */
  switched: (info: { codecs: string; offsetS: number }) => void;
  /** The session's rendition state changed (setRendition). */
  rendition: (state: RenditionState | null) => void;
}

/** Renditions as the session reports them (`docs/media.md`, Renditions). */
export interface RenditionState {
  /** Every rendition, top first. */
  qualities: Array<{ name: string; height: number; bitrateBps: number }>;
  /** The rendition playing now. */
  playing: string;
  /** 'auto' or the rendition the viewer fixed. */
  quality: string;
  /** The rendition being switched to, if any. */
  switchingTo: string | null;
  switches: number;
  /** What the last automatic decision saw: where from, where to, and the measures (rates in bits/s). */
  lastAuto?: { from: string; to: string; downloadBps: number | null; streamBps: number | null; decodeLoad: number | null; droppedShare: number | null; frozenShare?: number | null; troubles: number };
}
