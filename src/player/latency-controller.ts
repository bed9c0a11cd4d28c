// Pure playback-position policy: given the playhead and the buffered ranges, decide whether to
// jump a gap, seek towards the live edge, nudge the playback rate, and what to trim behind the
// playhead. No DOM, no clock. Called by MediaPlayer on every tick; tested with tables.

export interface LatencyConfig {
  /** Wanted distance behind the newest buffered media, seconds. Default 0.7. */
  targetLatencyS: number;
  /** Seek instead of speeding up once this far beyond the target, seconds. Default 1.5. */
  seekBeyondS: number;
  /** Playback rate while catching up (small, inaudible). Default 1.06. */
  catchUpRate: number;
  /**
   * Playback rate while more than fastCatchUpBeyondS beyond the target (after a bad start or a long
   * stall): with it the player is back at its target within 10 s of being up to seekBeyondS behind,
   * where catchUpRate alone takes 25 s. Default 1.25.
   */
  fastCatchUpRate: number;
  /** Beyond the target by more than this, seconds, the fast rate applies. Default 0.4. */
  fastCatchUpBeyondS: number;
  /** Playback rate while too close to the edge. Default 0.96. */
  slowDownRate: number;
  /** Dead band around the target where the rate is 1, seconds. Default 0.1. */
  toleranceS: number;
  /** Media kept behind the playhead, seconds. Default 3. */
  backBufferS: number;
}

export const DEFAULT_LATENCY_CONFIG: LatencyConfig = {
  targetLatencyS: 0.7,
  seekBeyondS: 1.5,
  catchUpRate: 1.06,
  fastCatchUpRate: 1.25,
  fastCatchUpBeyondS: 0.4,
  slowDownRate: 0.96,
  toleranceS: 0.1,
  backBufferS: 3,
};

export type Range = readonly [start: number, end: number];

export interface LatencyInput {
  currentTime: number;
  /** Buffered ranges, sorted, disjoint. */
  ranges: readonly Range[];
  /**
   * Largest distance behind the buffered edge seen over the last fragment period (right after the
   * newest fragment arrived), seconds. Media arrives a fragment at a time, so the distance to the
   * edge is a sawtooth; the rate follows its peak, which is the distance behind the newest received
   * media. Without it the current distance is used.
   */
  peakLatencyS?: number;
  /**
   * The playhead has stood still while playing for a while (MediaPlayer: STALL_MS). Standing within
   * STALLED_AT_END_S of the end of a range with another range after it, it is stuck at a hole: the
   * browser stops a frame or two short of a range's end and never leaves it by itself.
   */
  stalled?: boolean;
}

/** How close to the end of its range a stalled playhead is taken to be stuck at the hole after it, seconds. */
export const STALLED_AT_END_S = 0.25;

export interface LatencyDecision {
  /** Where to seek now, or null. */
  seekTo: number | null;
  playbackRate: number;
  /** Distance behind the newest received media (the peak when given), seconds; null when nothing is buffered. */
  latencyS: number | null;
  /** Remove [0, removeBefore) from the buffer, or null. */
  removeBefore: number | null;
  /** Why the seek happened (for stats). */
  reason: 'start' | 'gap' | 'far-behind' | null;
}

/** Small gaps the browser plays through on its own are ignored. */
const GAP_TOLERANCE_S = 0.05;

export function decideLatency(input: LatencyInput, config: LatencyConfig = DEFAULT_LATENCY_CONFIG): LatencyDecision {
  const { currentTime, ranges } = input;
  if (ranges.length === 0) return { seekTo: null, playbackRate: 1, latencyS: null, removeBefore: null, reason: null };
  const edge = ranges[ranges.length - 1][1];
  const last = ranges[ranges.length - 1];
  const wanted = Math.max(last[0], edge - config.targetLatencyS);
  let seekTo: number | null = null;
  let reason: LatencyDecision['reason'] = null;
  const inside = ranges.find(([s, e]) => currentTime >= s - GAP_TOLERANCE_S && currentTime < e);
  if (!inside) {
    const nextStart = ranges.find(([s]) => s > currentTime)?.[0];
    if (nextStart !== undefined) {
      seekTo = Math.max(nextStart, currentTime < ranges[0][0] ? wanted : nextStart);
      reason = currentTime < ranges[0][0] ? 'start' : 'gap';
    }
  } else if (edge - currentTime > config.targetLatencyS + config.seekBeyondS) {
    seekTo = wanted;
    reason = 'far-behind';
  } else if (input.stalled && inside[1] - currentTime < STALLED_AT_END_S) {
    // Stuck in front of a hole (a fragment the swarm, or the switch to HTTP, lost): jump it.
    const nextStart = ranges.find(([s]) => s >= inside[1])?.[0];
    if (nextStart !== undefined) {
      seekTo = nextStart;
      reason = 'gap';
    }
  }
  const at = seekTo ?? currentTime;
  const current = Math.max(0, edge - at);
  const latencyS = seekTo === null && input.peakLatencyS !== undefined ? Math.max(current, input.peakLatencyS) : current;
  let playbackRate = 1;
  if (latencyS > config.targetLatencyS + Math.max(config.toleranceS, config.fastCatchUpBeyondS)) playbackRate = config.fastCatchUpRate;
  else if (latencyS > config.targetLatencyS + config.toleranceS) playbackRate = config.catchUpRate;
  else if (latencyS < config.targetLatencyS - config.toleranceS) playbackRate = config.slowDownRate;
  const trimEnd = at - config.backBufferS;
  const removeBefore = trimEnd > ranges[0][0] + 1 ? trimEnd : null;
  return { seekTo, playbackRate, latencyS, removeBefore, reason };
}

/** Reads TimeRanges into plain pairs. */
export function rangesOf(t: TimeRanges): Range[] {
  const out: Range[] = [];
  for (let i = 0; i < t.length; i++) out.push([t.start(i), t.end(i)]);
  return out;
}

/**
 * How long a fragment may hold up later ones before it is skipped, ms: until the playhead would
 * reach it (buffer ahead minus a safety margin), but at least `minMs` and at most `maxMs`.
 */
export function waitBudgetMs(bufferAheadS: number, minMs = 150, maxMs = 3000, marginMs = 150): number {
  return Math.min(maxMs, Math.max(minMs, bufferAheadS * 1000 - marginMs));
}
