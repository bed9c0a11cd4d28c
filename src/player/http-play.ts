// How the HTTP path plays once the safety net goes to HTTP: through the P2P player's own MediaSource
// (the edge's frame feed, checked by the swarm session's protocol core like swarm frames) or through
// hls.js on a MediaSource of its own. Pure decisions over what the safety net knows; no clock, no
// I/O. Used by hls-fallback.ts; table-tested.

/** `frames`: the edge's frame feed into the session, the P2P player keeps the element; `hls.js`: hls.js takes the element. */
export type HttpVia = 'frames' | 'hls.js';

export interface HttpPlayInputs {
  /** The browser has MSE (the P2P player can play at all). */
  mse: boolean;
  /** The browser has WebRTC (there is a swarm session whose core can check frames). */
  webrtc: boolean;
  /** The viewer allows the frame feed to play (`fallback-feed` neither `off` nor `relay`). */
  feedPlays: boolean;
  /**
   * The session can check the edge's frames now: it knows the stream key and plays the swarm the
   * edge serves (the top rendition). Frames it cannot check would be refused one by one.
   */
  verifiable: boolean;
  /** The frame path failed in this stay or recently (no frame got through it): hls.js instead. */
  framesBlocked: boolean;
}

/** Which way the HTTP path plays: `frames` where every condition for it holds, else `hls.js`. */
export function chooseHttpVia(i: HttpPlayInputs): HttpVia {
  return i.mse && i.webrtc && i.feedPlays && i.verifiable && !i.framesBlocked ? 'frames' : 'hls.js';
}

/** Frames asked for before the first one the session needs: the edge's feed goes in its own delivery order, not quite sequence order. */
export const REWIND_MARGIN_FRAMES = 2;

/**
 * Frames to ask for behind the edge's live answer when the frame path starts: from the first frame
 * the session still needs (`resumeSeq`: the lowest it has not delivered) to the edge's newest
 * (`liveSeq`), plus a margin, so that the player's assembler finds no hole at the switch. 0 when the
 * session has nothing yet (it starts at the live frame, as a P2P start does), at most `max`.
 */
export function rewindFrames(liveSeq: number, resumeSeq: number | null, max: number): number {
  if (resumeSeq === null || !Number.isFinite(liveSeq) || !Number.isFinite(resumeSeq)) return 0;
  return Math.max(0, Math.min(max, liveSeq - resumeSeq + 1 + REWIND_MARGIN_FRAMES));
}

/**
 * Whether the frame path has stalled: on it for at least `stallMs`, and no frame reached the player
 * (from the feed or the swarm) for `stallMs`. The safety net then plays with hls.js instead.
 */
export function framesStalled(nowMs: number, sinceMs: number, lastFrameMs: number, stallMs: number): boolean {
  return nowMs - sinceMs >= stallMs && nowMs - lastFrameMs >= stallMs;
}
