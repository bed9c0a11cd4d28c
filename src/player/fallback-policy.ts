// When <p2p-player> plays from the swarm and when from the HLS edge over HTTP: a pure decision over
// what the player saw (WebRTC present, P2P frames arriving, buffer ahead) at a given time. No clock,
// no timers, no DOM: the caller passes nowMs. Used by hls-fallback.ts; table-tested.

import { P2PError } from '../errors.ts';

export type SourcePath = 'p2p' | 'http';
export type SwitchReason = 'start' | 'no-webrtc' | 'no-peers' | 'p2p-dry' | 'p2p-healthy' | 'http-failed';

export interface FallbackPolicyConfig {
  /** No verified P2P frame this long after start: play over HTTP, ms. Default 4000. */
  noPeerTimeoutMs: number;
  /** On P2P, no new P2P frame for this long (the swarm stopped delivering): go to HTTP, ms. Default 1000. */
  starveMs: number;
  /**
   * On P2P, when the HTTP path would play through the P2P player's own MediaSource (the frame path:
   * a switch reloads nothing, so leaving a late swarm early costs no stall, only edge traffic), no
   * new P2P frame for this long while the buffer ahead is under `quickBelowS`: go to HTTP, ms. Default
   * 500 (the player holds about 0.7 s ahead). Never longer than `starveMs`; not in the `settleMs`
   * after a return to P2P (the swarm's first frames after a rejoin come unevenly).
   */
  quickStarveMs: number;
  /** The buffer ahead under which `quickStarveMs` applies (more covers the silence), seconds. Default 0.5. */
  quickBelowS: number;
  /** On P2P, the buffer ahead stays under `lowBufferS` this long while playing: go to HTTP, ms. Default 800. */
  dryMs: number;
  /** Buffer ahead that counts as running dry, seconds. Default 0.15. */
  lowBufferS: number;
  /** On HTTP, P2P frames arriving without a gap longer than `starveMs` for this long: back to P2P, ms. Default 5000. */
  healthyForMs: number;
  /** Least time on a path before leaving it again (no flapping), ms. Default 3000. */
  minDwellMs: number;
  /** After the HTTP path failed (edge unreachable), it is not tried again for this long, ms. Default 15000. */
  httpRetryMs: number;
  /**
   * After a return to P2P, the low-buffer rule waits this long, ms. Default 5000. The P2P player
   * restarts on the element at the newest key-frame fragment, so its buffer is short at first: that
   * is its start, not the swarm failing (which the swarm just proved for healthyForMs), and leaving
   * again would cost one more reload. The starve rule applies at once.
   */
  settleMs: number;
  /**
   * On HTTP with WebRTC, no frame from the swarm this long: the player replaces its swarm session
   * (a fresh join through the tracker), ms. Default 15 000. A viewer whose links were all cut has
   * no neighbour left to hear from, and nothing else makes it join again (RejoinRule).
   */
  rejoinAfterMs: number;
  /** The wait before a rejoin doubles after each rejoin that brought no swarm frame, up to this, ms. Default 120 000. */
  rejoinMaxMs: number;
}

export const DEFAULT_FALLBACK_POLICY: FallbackPolicyConfig = {
  noPeerTimeoutMs: 4000,
  starveMs: 1000,
  quickStarveMs: 500,
  quickBelowS: 0.5,
  dryMs: 800,
  lowBufferS: 0.15,
  healthyForMs: 5000,
  minDwellMs: 3000,
  httpRetryMs: 15_000,
  settleMs: 5000,
  rejoinAfterMs: 15_000,
  rejoinMaxMs: 120_000,
};

export function resolveFallbackPolicy(partial: Partial<FallbackPolicyConfig> = {}): FallbackPolicyConfig {
  const c = { ...DEFAULT_FALLBACK_POLICY, ...partial };
  for (const k of ['noPeerTimeoutMs', 'starveMs', 'quickStarveMs', 'dryMs', 'healthyForMs', 'minDwellMs', 'httpRetryMs', 'settleMs', 'rejoinMaxMs'] as const) {
    if (!(Number.isFinite(c[k]) && c[k] >= 0 && c[k] <= 600_000)) throw new P2PError('BAD_CONFIG', `${k} ${c[k]} is outside 0 … 600000 ms`);
  }
  if (!(c.quickBelowS >= 0 && c.quickBelowS <= 10)) throw new P2PError('BAD_CONFIG', `quickBelowS ${c.quickBelowS} is outside 0 … 10`);
  if (!(c.lowBufferS >= 0 && c.lowBufferS <= 10)) throw new P2PError('BAD_CONFIG', `lowBufferS ${c.lowBufferS} is outside 0 … 10`);
  if (c.healthyForMs < c.starveMs) throw new P2PError('BAD_CONFIG', 'healthyForMs must be at least starveMs');
  // A rejoin drops the session's neighbours: sooner than a second would churn the tracker for nothing.
  if (!(Number.isFinite(c.rejoinAfterMs) && c.rejoinAfterMs >= 1000 && c.rejoinAfterMs <= c.rejoinMaxMs)) throw new P2PError('BAD_CONFIG', `rejoinAfterMs ${c.rejoinAfterMs} is outside 1000 … rejoinMaxMs (${c.rejoinMaxMs})`);
  return c;
}

/** What the player saw at one moment. */
export interface FallbackObservation {
  nowMs: number;
  /** The browser has RTCPeerConnection. */
  webrtc: boolean;
  /** Verified P2P frames received so far (a counter; any increase is P2P delivering). */
  p2pFrames: number;
  /** Seconds buffered ahead of the playhead (meaningful on the P2P path). */
  bufferAheadS: number;
  /** The media element is playing (not paused by the viewer, not ended). */
  playing: boolean;
  /** A switch to HTTP now would keep the media element (the frame path): leave a silent swarm after `quickStarveMs`. */
  quickSwitch?: boolean;
}

export interface FallbackDecision {
  path: SourcePath;
  /** Set when this observation changed the path. */
  switched: SwitchReason | null;
}

/** The switching policy: feed it observations in time order; it says which path should play. */
export class FallbackPolicy {
  readonly config: FallbackPolicyConfig;
  #path: SourcePath = 'p2p';
  #startMs: number | null = null;
  #sinceMs = 0;
  #lastFrames = 0;
  #lastFrameAtMs: number | null = null;
  /** Start of the current run of P2P frames without a gap longer than starveMs. */
  #runStartMs: number | null = null;
  #lowSinceMs: number | null = null;
  /** On P2P: the buffer has reached lowBufferS since this path began (before that, the low-buffer rule waits). */
  #primed = false;
  /** Dwell time multiplier: doubles each time a return to P2P fails soon (up to 8), back to 1 after a good stay. */
  #backoff = 1;
  #returnedMs: number | null = null;
  #httpBlockedUntilMs = -Infinity;

  constructor(config: Partial<FallbackPolicyConfig> = {}) {
    this.config = resolveFallbackPolicy(config);
  }

  get path(): SourcePath {
    return this.#path;
  }

  /** The HTTP path failed for good (hls.js fatal error): back to P2P, and no HTTP for httpRetryMs. */
  httpFailed(nowMs: number): FallbackDecision {
    this.#httpBlockedUntilMs = nowMs + this.config.httpRetryMs;
    return this.#go('p2p', 'http-failed', nowMs);
  }

  observe(o: FallbackObservation): FallbackDecision {
    const c = this.config;
    const now = o.nowMs;
    if (this.#startMs === null) {
      this.#startMs = now;
      this.#sinceMs = now;
      this.#lastFrames = o.p2pFrames;
      if (!o.webrtc) return this.#go('http', 'no-webrtc', now);
    }
    // Without WebRTC, HTTP is the only path: after it failed, it is tried again once httpRetryMs passed.
    if (!o.webrtc) return this.#path === 'p2p' ? this.#go('http', 'no-webrtc', now) : this.#stay();
    if (o.p2pFrames > this.#lastFrames) {
      if (this.#lastFrameAtMs === null || now - this.#lastFrameAtMs > c.starveMs) this.#runStartMs = now;
      this.#lastFrameAtMs = now;
      this.#lastFrames = o.p2pFrames;
    }
    const dwelt = now - this.#sinceMs >= c.minDwellMs * this.#backoff;
    if (this.#path === 'p2p') {
      if (this.#lastFrameAtMs === null) {
        return now - this.#startMs >= c.noPeerTimeoutMs ? this.#go('http', 'no-peers', now) : this.#stay();
      }
      if (o.bufferAheadS >= c.lowBufferS) this.#primed = true;
      const settling = this.#returnedMs !== null && now - this.#returnedMs < c.settleMs;
      if (o.playing && this.#primed && !settling && o.bufferAheadS < c.lowBufferS) this.#lowSinceMs ??= now;
      else this.#lowSinceMs = null;
      const quick = o.quickSwitch === true && !settling && o.bufferAheadS < c.quickBelowS;
      const starved = now - this.#lastFrameAtMs >= (quick ? Math.min(c.starveMs, c.quickStarveMs) : c.starveMs);
      // Frames arrive but never make a buffer (the path delivers too little): as bad as none.
      const neverFills = !this.#primed && o.playing && now - this.#sinceMs >= c.noPeerTimeoutMs;
      const dry = neverFills || (this.#lowSinceMs !== null && now - this.#lowSinceMs >= c.dryMs);
      if (this.#primed && now - this.#sinceMs >= 30_000) this.#backoff = 1;
      // Leaving a failing swarm does not wait for the dwell time: that would be a stall.
      if (starved || dry) return this.#go('http', 'p2p-dry', now);
      return this.#stay();
    }
    const healthy = this.#lastFrameAtMs !== null && now - this.#lastFrameAtMs < c.starveMs && this.#runStartMs !== null && now - this.#runStartMs >= c.healthyForMs;
    if (healthy && dwelt) return this.#go('p2p', 'p2p-healthy', now);
    return this.#stay();
  }

  #stay(): FallbackDecision {
    return { path: this.#path, switched: null };
  }

  #go(path: SourcePath, reason: SwitchReason, now: number): FallbackDecision {
    if (path === this.#path) return this.#stay();
    if (path === 'http' && now < this.#httpBlockedUntilMs) return this.#stay();
    // A return to P2P that fails soon makes the next return wait longer.
    if (reason === 'p2p-dry' && this.#returnedMs !== null && now - this.#returnedMs < 3 * this.config.healthyForMs) this.#backoff = Math.min(8, this.#backoff * 2);
    this.#returnedMs = reason === 'p2p-healthy' ? now : null;
    this.#primed = false;
    this.#path = path;
    this.#sinceMs = now;
    this.#lowSinceMs = null;
    return { path, switched: reason };
  }
}

/** What the rejoin rule sees at one moment. */
export interface RejoinObservation {
  nowMs: number;
  /** The path that plays now (HTTP playing, not just wanted). */
  onHttp: boolean;
  /** The browser has RTCPeerConnection (without it there is no swarm to join). */
  webrtc: boolean;
  /** Frames the swarm delivered so far (a counter that only grows; frames from the edge's feed excluded). */
  swarmFrames: number;
}

/**
 * When the player should replace its swarm session while HTTP plays. The session keeps running on
 * HTTP so that the policy sees the swarm recover, but a session whose links were all cut has no
 * neighbour left and nothing makes it join again: it would stay silent for good and the viewer on
 * HTTP for good. So: on HTTP (with WebRTC), no swarm frame for `rejoinAfterMs` since the last frame,
 * the last rejoin or the start of the stay, whichever is latest: rejoin. Each rejoin that brought no
 * frame doubles the wait (up to `rejoinMaxMs`, so a viewer whose UDP stays blocked asks the tracker
 * rarely); any swarm frame sets it back. Pure: the caller passes the time; table-tested.
 */
export class RejoinRule {
  readonly config: FallbackPolicyConfig;
  #lastFrames = 0;
  /** Silence is counted from here: the last swarm frame, the last rejoin, or the start of the stay on HTTP. */
  #quietSinceMs: number | null = null;
  #waitMs: number;
  #rejoins = 0;

  constructor(config: Partial<FallbackPolicyConfig> = {}) {
    this.config = resolveFallbackPolicy(config);
    this.#waitMs = this.config.rejoinAfterMs;
  }

  /** Rejoins decided so far. */
  get rejoins(): number {
    return this.#rejoins;
  }

  /** The silence that the next rejoin waits for, ms. */
  get waitMs(): number {
    return this.#waitMs;
  }

  /** True when the swarm session should be replaced now. */
  observe(o: RejoinObservation): boolean {
    const now = o.nowMs;
    if (o.swarmFrames > this.#lastFrames) {
      this.#lastFrames = o.swarmFrames;
      this.#waitMs = this.config.rejoinAfterMs;
      this.#quietSinceMs = now;
    }
    if (!o.onHttp || !o.webrtc) {
      // Off HTTP nothing is counted: a stay on HTTP starts its count at its first observation.
      this.#quietSinceMs = null;
      return false;
    }
    this.#quietSinceMs ??= now;
    if (now - this.#quietSinceMs < this.#waitMs) return false;
    this.#rejoins++;
    this.#quietSinceMs = now;
    this.#waitMs = Math.min(this.config.rejoinMaxMs, this.#waitMs * 2);
    return true;
  }
}
