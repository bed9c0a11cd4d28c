// The player's jitter allowance: the latency target rises a step when playback runs dry (a stall or
// a fragment given up) and relaxes back towards the configured target after calm periods, the way
// a real-time jitter buffer adapts. Pure: the caller passes the clock. Used by MediaPlayer.

export interface LatencyAdapterConfig {
  /** Most the target may rise above the configured one, seconds; 0 turns adapting off. Default 1.2. */
  maxExtraLatencyS: number;
  /** Rise per trouble episode, seconds. Default 0.2. */
  latencyStepUpS: number;
  /** Calm time after which the extra falls by one relax step, ms. Default 15000. */
  latencyRelaxAfterMs: number;
  /** Fall per calm period, seconds. Default 0.1. */
  latencyRelaxStepS: number;
  /**
   * Troubles this soon after playback started (`start()`) do not raise the target, ms: a joining
   * viewer's first seconds run dry while its links and push parents form, which says nothing about
   * the jitter of its path; raised for them, the target would stay up for minutes. Default 5000.
   */
  startGraceMs: number;
}

export const DEFAULT_LATENCY_ADAPTER_CONFIG: LatencyAdapterConfig = {
  maxExtraLatencyS: 1.2,
  latencyStepUpS: 0.2,
  latencyRelaxAfterMs: 15_000,
  latencyRelaxStepS: 0.1,
  startGraceMs: 5000,
};

/** Troubles closer together than this are one episode (a skip and the stall it causes). */
const EPISODE_MS = 1500;

export class LatencyAdapter {
  /** Seconds added to the configured target now. */
  extraS = 0;
  /** Episodes that raised the target. */
  raises = 0;
  #lastTroubleMs = -Infinity;
  #calmSinceMs = -Infinity;
  /** When playback started (start()); troubles within startGraceMs of it raise nothing. */
  #startedMs = -Infinity;

  constructor(private readonly config: LatencyAdapterConfig = DEFAULT_LATENCY_ADAPTER_CONFIG) {}

  /** Playback started (the first picture) at `nowMs`: the start grace counts from here. */
  start(nowMs: number): void {
    this.#startedMs = nowMs;
  }

  /** Playback ran dry (stalled, or a fragment was skipped) at `nowMs`. */
  trouble(nowMs: number): void {
    // Start-up troubles neither raise the target nor restart the calm clock.
    if (nowMs - this.#startedMs < this.config.startGraceMs) return;
    if (nowMs - this.#lastTroubleMs >= EPISODE_MS && this.config.maxExtraLatencyS > 0) {
      const before = this.extraS;
      this.extraS = Math.min(this.config.maxExtraLatencyS, this.extraS + this.config.latencyStepUpS);
      if (this.extraS > before) this.raises++;
    }
    this.#lastTroubleMs = nowMs;
    this.#calmSinceMs = nowMs;
  }

  /** Call on every tick: relaxes the extra after calm periods; returns the extra, seconds. */
  update(nowMs: number): number {
    if (this.#calmSinceMs === -Infinity) this.#calmSinceMs = nowMs;
    if (this.extraS > 0 && nowMs - this.#calmSinceMs >= this.config.latencyRelaxAfterMs) {
      this.extraS = Math.max(0, this.extraS - this.config.latencyRelaxStepS);
      this.#calmSinceMs = nowMs;
    }
    return this.extraS;
  }

  /** A new stream (or a reset): start again from the configured target. */
  reset(): void {
    this.extraS = 0;
    this.#lastTroubleMs = -Infinity;
    this.#calmSinceMs = -Infinity;
    this.#startedMs = -Infinity;
  }
}
