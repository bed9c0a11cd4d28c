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

export interface EarlyFeedInputs {
  /** P2P plays now (the policy has not switched). */
  onP2p: boolean;
  /** How HTTP would play if the safety net went there now. */
  via: HttpVia;
  /** Time since the swarm's last frame, ms (Infinity before any: a start with no peer is the policy's no-peers rule). */
  swarmSilentMs: number;
  /** Silence after which the frame path's feed starts ahead of the switch at the least, ms; 0 never. */
  earlyMs: number;
  /**
   * The longest of the swarm's recent gaps between frames, ms (null while too few are known). The
   * swarm's frames come in bursts, one or a few per 0.5 s fragment, so a silence as long as that is
   * the swarm's usual rhythm, not a sign that it stopped: the feed waits `EARLY_MARGIN_MS` longer.
   */
  usualGapMs: number | null;
  /** The policy's starve time: the switch comes by then at the latest, ms. */
  starveMs: number;
}

/**
 * Whether the frame path's feed should start now, before the policy switches: on P2P, the HTTP path
 * would be the frame path (it keeps the element, so the feed's frames can fill the same buffer), and
 * the swarm has been silent for `earlyMs` but less than `starveMs`. The frames the edge holds then
 * reach the player before its buffer (about the target latency, 0.7 s) runs out, where waiting for the
 * switch left the playhead standing; a swarm that delivers again stops the feed.
 */
export function earlyFeedWanted(i: EarlyFeedInputs): boolean {
  if (!(i.onP2p && i.via === 'frames' && i.earlyMs > 0 && i.usualGapMs !== null && Number.isFinite(i.swarmSilentMs))) return false;
  return i.swarmSilentMs >= Math.max(i.earlyMs, i.usualGapMs + EARLY_MARGIN_MS) && i.swarmSilentMs < i.starveMs + i.earlyMs;
}

/** How much longer than its usual longest gap the swarm must be silent before the feed starts ahead of a switch, ms. */
export const EARLY_MARGIN_MS = 100;

/** Gaps kept to know the swarm's rhythm (about 8 s of frames at two to three frames a fragment); fewer known: no early start. */
export const SWARM_GAPS_KEPT = 16;

/**
 * The swarm's recent gaps between frames (as the safety net sees them, once per tick): `usualMs` is
 * the longest of the last SWARM_GAPS_KEPT, null until that many are known.
 */
export class SwarmGaps {
  readonly #gaps: number[] = [];

  add(gapMs: number): void {
    if (!(gapMs >= 0 && Number.isFinite(gapMs))) return;
    this.#gaps.push(gapMs);
    if (this.#gaps.length > SWARM_GAPS_KEPT) this.#gaps.shift();
  }

  /** Forget the rhythm (a new session, a stay on HTTP: its frames come otherwise). */
  clear(): void {
    this.#gaps.length = 0;
  }

  get usualMs(): number | null {
    return this.#gaps.length < SWARM_GAPS_KEPT ? null : Math.max(...this.#gaps);
  }
}

/**
 * The media bytes hls.js fetched over HTTP. The edge's init segments, segments and parts are
 * immutable (`Cache-Control: immutable`, a per-writer name prefix), so a second load of one URL is
 * answered by the browser's HTTP cache and moves no byte over the network: each URL counts once.
 * (hls.js's load stats count such cache hits as loaded bytes; hls.js has been seen to load one part
 * hundreds of times, docs/hls.md.) The newest `maxUrls` URLs are remembered.
 */
export class HttpMediaBytes {
  #bytes = 0;
  #cacheHits = 0;
  readonly #seen = new Set<string>();
  readonly #maxUrls: number;

  constructor(maxUrls = 4096) {
    this.#maxUrls = maxUrls;
  }

  /** Bytes fetched over HTTP so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Loads of a URL loaded before (answered by the browser's cache), not counted in `bytes`. */
  get cacheHits(): number {
    return this.#cacheHits;
  }

  /** One resource hls.js loaded: `url` and the bytes it reports. */
  add(url: string, loadedBytes: number): void {
    if (!(loadedBytes > 0)) return;
    if (this.#seen.has(url)) {
      this.#cacheHits++;
      return;
    }
    this.#seen.add(url);
    if (this.#seen.size > this.#maxUrls) this.#seen.delete(this.#seen.values().next().value as string);
    this.#bytes += loadedBytes;
  }
}
