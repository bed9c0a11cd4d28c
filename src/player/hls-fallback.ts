// The player's safety net: plays the stream from the HLS edge over HTTP with hls.js when WebRTC is
// missing, when no peer delivers, or when the swarm runs dry, and hands the <video> back to the P2P
// player when the swarm is healthy again (FallbackPolicy decides; this module only acts). Where MSE
// is missing but the browser plays HLS itself, the <video> gets the playlist as its src. Used by
// <p2p-player>; hls.js is loaded only when the HTTP path is first needed.

import type Hls from 'hls.js';
import { P2PError } from '../errors.ts';
import { HttpFrameFeed } from '../hls/http-frame-feed.ts';
import type { Manifest } from '../protocol/wire.ts';
import { FallbackPolicy, RejoinRule, type FallbackPolicyConfig, type SwitchReason } from './fallback-policy.ts';
import type { MediaPlayer } from './media-player.ts';
import { HttpMediaBytes, SwarmGaps, chooseHttpVia, earlyFeedWanted, framesStalled, rewindFrames, type HttpVia } from './http-play.ts';

export type FallbackMode = 'hls' | 'none';
export type PlayingPath = 'p2p' | 'http' | 'native-hls';
/**
 * The HTTP path as the safety net last saw it: `idle` (not needed yet), `probing` (asking the edge),
 * `playing`, `unavailable` (no edge serves the stream; tried again later), `failed` (hls.js gave up).
 */
export type HttpState = 'idle' | 'probing' | 'playing' | 'unavailable' | 'failed';

export interface SourceStats {
  /** The path that plays now. */
  path: PlayingPath;
  /** Why the last switch happened. */
  reason: SwitchReason | 'no-mse';
  switches: number;
  http: HttpState;
  /**
   * Media bytes fetched over HTTP to play: hls.js's parts, segments and init segments, each URL once
   * (they are immutable: a second load of one is answered by the browser's cache, `httpCacheHits`),
   * and the frame bundles of the frame path (`via` `frames`), including those of feeds started ahead
   * of a switch (`earlyStarts`). The relay feed's bundles are `feed.bytes`.
   */
  httpBytes: number;
  /** hls.js loads of a URL it had loaded before (answered by the browser's cache; not in httpBytes). */
  httpCacheHits: number;
  /**
   * Frame-path feeds started on P2P ahead of a switch (the swarm silent for `feed.earlyMs`); each one
   * either became the HTTP path at the switch or stopped when the swarm delivered again.
   */
  earlyStarts: number;
  /**
   * How the HTTP path plays (null on P2P): `frames` (the edge's frame feed checked by the swarm
   * session's core and played by the P2P player in its own MediaSource: no reload at a switch),
   * `hls.js` (hls.js on a MediaSource of its own), `native` (the <video> plays the playlist).
   */
  via: HttpVia | 'native' | null;
  /** Stays on HTTP that gave the frame path up for hls.js (no frame got through it for `framesStallMs`). */
  framesFailures: number;
  /**
   * Media bytes received from the swarm (the sessions' `mediaBytesDown`, or their `bytesDown` where a
   * session reports no media count), summed over every session this safety net saw: a rejoin starts
   * a session whose count starts again at 0.
   */
  p2pBytes: number;
  /** httpBytes / (httpBytes + p2pBytes), 0 before any. */
  shareFromHttp: number;
  /** Swarm sessions replaced while HTTP played because the swarm stayed silent (RejoinRule). */
  rejoins: number;
  /**
   * On the HTTP path: now minus the capture time of the picture at the playhead, ms (hls.js's
   * `playingDate`, from the edge's `#EXT-X-PROGRAM-DATE-TIME`, the broadcaster's clock against this
   * viewer's); null on the P2P path or before hls.js knows the date.
   */
  glassToGlassMs: number | null;
  /** The frame feed this viewer runs for its swarm while HTTP plays. */
  feed: FrameFeedStats;
}

/**
 * The swarm session's door for frames got over HTTP (the session handle's `outside`): the edge's
 * frame feed hands each frame to `add`, and the session's protocol core checks signature and digest
 * itself before it plays the frame or serves it to neighbours (ViewerSession.addOutsideFrame).
 */
export interface OutsideFrameSink {
  /** One unverified frame from the edge; false when refused at once (held already, too late, too many checks). */
  add(manifest: Manifest, frame: Uint8Array): boolean;
  /** The session can check and hand on frames: it knows the stream key and has a connected neighbour. */
  linked(): boolean;
  /**
   * The session can check the edge's frames now (it knows the stream key and is the swarm the edge
   * serves), neighbours or not. Without it the frame path is never chosen.
   */
  verifiable?(): boolean;
  /**
   * The first frame the session still needs (the lowest it knows of and has not delivered, else the
   * one after its newest; null before any): where the frame path starts.
   */
  resumeSeq?(): number | null;
  /** The stream key the session learnt (carried to the session that replaces it at a rejoin). */
  streamKey?(): Uint8Array | null;
  /** Frames the session took from outside after its checks (a counter; a new session starts again at 0). */
  taken(): number;
}

/** The frame feed a viewer on the HTTP path runs for its swarm (docs/hls.md, The frame feed). */
export interface FrameFeedConfig {
  /** Run the feed at all. Default true (`<p2p-player fallback-feed="off">` turns it off). */
  enabled: boolean;
  /**
   * Play the HTTP path from the feed through the P2P player where the session can check its frames
   * (`via` `frames`: one MediaSource, no reload at a switch), hls.js elsewhere. Default false
   * (`<p2p-player fallback-feed="play">` turns it on): in the bench it was not yet as good as hls.js
   * on every switch figure (docs/hls.md).
   */
  plays: boolean;
  /** On the frame path, no frame reaching the player this long: play with hls.js instead for this stay, ms. Default 3000. */
  framesStallMs: number;
  /**
   * Latency added to the player's target while the frame path plays (the feed's frames arrive less
   * evenly than the swarm's; with the P2P target the buffer ran out every few seconds), seconds;
   * the target goes back on the way back to P2P. Default 1.
   */
  framesExtraLatencyS: number;
  /**
   * While the swarm still delivers frames to this viewer (one in the last 2 s), each frame from the
   * feed waits this long before it goes to the session, so that the swarm's own copy wins and the
   * policy sees the swarm recover; while it delivers none, frames go at once. ms, default 1000.
   */
  delayMs: number;
  /** The feed runs at most this long in one stay on HTTP (it doubles what this viewer fetches from the edge), ms. Default 60 000. */
  maxMsPerStay: number;
  /**
   * Where the HTTP path would be the frame path: the swarm silent this long on P2P, and 100 ms longer
   * than its longest gap between frames of the last 16 (its frames come in bursts, one or a few per
   * 0.5 s fragment), starts the frame path's feed before the policy switches: its frames fill the
   * same buffer before it runs out, while the swarm's own copies still win as long as the buffer
   * lasts. ms; 0 never. Stopped when the swarm delivers again. Default 300.
   */
  earlyMs: number;
}

export const DEFAULT_FRAME_FEED: FrameFeedConfig = { enabled: true, plays: false, framesStallMs: 3000, framesExtraLatencyS: 1, delayMs: 1000, maxMsPerStay: 60_000, earlyMs: 300 };

export interface FrameFeedStats {
  /** `off` (not on HTTP, no linked session, or turned off), `running`, `spent` (ran maxMsPerStay in this stay). */
  state: 'off' | 'running' | 'spent';
  /** Bytes of frame bundles fetched from the edge (all stays). */
  bytes: number;
  /** Frames the feed fetched. */
  frames: number;
  /** Frames the session took after its own checks (the others it held already from the swarm, or refused). */
  taken: number;
  /** Frames the session refused at once (held already, too late, too many checks under way, no session). */
  refused: number;
  /** Time the feed ran in the current stay on HTTP, ms (0 on P2P). */
  runMs: number;
}

export interface SourceChangeDetail {
  path: PlayingPath;
  reason: SourceStats['reason'];
}

export interface HlsFallbackOptions {
  video: HTMLVideoElement;
  player: MediaPlayer;
  /** The edge's playlist, /hls/<streamId>/index.m3u8. */
  url: string;
  policy?: Partial<FallbackPolicyConfig>;
  /** How often the policy looks, ms. Default 200. */
  tickMs?: number;
  onSourceChange: (detail: SourceChangeDetail) => void;
  /**
   * P2PError('FALLBACK_FAILED') when the viewer cannot watch because the HTTP path failed: hls.js gave
   * up on the edge's stream, or HTTP is the only path (no WebRTC) and no edge serves it. Where P2P
   * can still play, an absent edge is no error: `stats.http` says `unavailable` and P2P goes on.
   */
  onError?: (error: P2PError) => void;
  /** Called when `stats.http` changes. */
  onHttpState?: (state: HttpState) => void;
  /** Whether the browser has WebRTC. Default: `RTCPeerConnection` is a function. */
  hasWebRtc?: () => boolean;
  /** Whether the browser has MSE. Default: `MediaSource` or `ManagedMediaSource` exists. */
  hasMse?: () => boolean;
  /** Called about once a second while the P2P player is detached (HTTP plays). */
  onHttpStats?: () => void;
  /**
   * The swarm session's door for frames got over HTTP, asked at each use (the session may change).
   * Without it no frame feed runs. Frames it took are not P2P frames for the policy.
   */
  outside?: () => OutsideFrameSink | null | undefined;
  feed?: Partial<FrameFeedConfig>;
  /**
   * Replace the swarm session now (a fresh join through the tracker; same player, same <video>):
   * called while HTTP plays and the swarm stayed silent for the policy's `rejoinAfterMs` (RejoinRule).
   * The caller should set the player's session numbers back to 0 with the new session. Without it, no rejoin.
   */
  onRejoin?: () => void;
}

/** Frames asked for behind the live one when the frame path starts: under the core's bound on outside checks under way (32). */
const MAX_REWIND_FRAMES = 30;

/** Shown when the browser has no WebRTC and no edge serves the stream over HTTP. */
export const NO_PATH_TEXT = 'This browser has no WebRTC and this server offers the stream over HTTP only with an edge. The player retries; try a current Chrome, Edge, Firefox or Safari.';

/**
 * The state layer's text with the safety net in play: the P2P player's text while P2P plays
 * (an absent edge changes nothing for a viewer who can use the swarm), nothing while HTTP plays (the
 * P2P status says nothing about the picture then), and a plain reason when neither path can play.
 */
export function sourceStateText(p2pText: string, source: Pick<SourceStats, 'path' | 'http'>, webrtc: boolean): string {
  if (source.path !== 'p2p') return '';
  if (!webrtc && source.http === 'unavailable') return NO_PATH_TEXT;
  return p2pText;
}

/**
 * The edge's playlist URL for a stream, from the tracker URL (same server): ws://h/tracker →
 * http://h/hls/<id>/index.m3u8. `tracker` may be a white-space separated list of tracker nodes (the
 * element's `tracker` attribute, split as the session's splitTrackerList does): the first one names
 * the server.
 */
export function defaultFallbackUrl(tracker: string, stream: string): string | null {
  const first = tracker.trim().split(/\s+/)[0] ?? '';
  try {
    const u = new URL(first);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = `/hls/${encodeURIComponent(stream)}/index.m3u8`;
    u.search = '';
    return u.toString();
  } catch {
    return null;
  }
}

export class HlsFallback {
  readonly #o: HlsFallbackOptions;
  readonly #policy: FallbackPolicy;
  #timer: ReturnType<typeof setInterval> | null = null;
  #hls: Hls | null = null;
  #loading = false;
  #stats: SourceStats = { path: 'p2p', reason: 'start', switches: 0, http: 'idle', httpBytes: 0, httpCacheHits: 0, earlyStarts: 0, via: null, framesFailures: 0, p2pBytes: 0, shareFromHttp: 0, rejoins: 0, glassToGlassMs: null, feed: { state: 'off', bytes: 0, frames: 0, taken: 0, refused: 0, runMs: 0 } };
  #destroyed = false;
  #lastStatsMs = 0;
  readonly #feedCfg: FrameFeedConfig;
  #feed: HttpFrameFeed | null = null;
  /** Frames taken from outside, over every session the sink has had; the last counter value seen. */
  #outsideTotal = 0;
  #takenSeen = 0;
  #lastTickMs: number | null = null;
  /** When the policy's count of swarm frames last grew; that count (only ever grows); the difference it came from. */
  #lastSwarmFrameMs = -Infinity;
  #swarmFrames = 0;
  #lastDiff = 0;
  readonly #rejoin: RejoinRule;
  /** Swarm media bytes over every session seen; the current session's count when last read. */
  #p2pTotal = 0;
  #p2pSeen = 0;
  /** The frame path while it plays: its feed, when it began, when a frame last reached the player and the player's count then. */
  #frames: { feed: HttpFrameFeed; sinceMs: number; lastInMs: number; framesIn: number; targetS: number; raisedS: number | null } | null = null;
  /** Bundle bytes of frame paths (and early feeds) that ended. */
  #framesBytesDone = 0;
  /** hls.js's media loads, each URL once. */
  readonly #hlsBytes = new HttpMediaBytes();
  /** The frame path's feed started on P2P ahead of a switch, and the swarm frame count it started at. */
  #early: { feed: HttpFrameFeed; swarmFrames: number } | null = null;
  /** The swarm frame count at the last early start: one early start per silence. */
  #earlyAt = -1;
  /** The swarm's recent gaps between frames on P2P (its rhythm: the early start waits past it). */
  readonly #gaps = new SwarmGaps();
  /** The frame path failed: not chosen again before this time. */
  #framesBlockedUntilMs = -Infinity;

  constructor(options: HlsFallbackOptions) {
    this.#o = options;
    this.#policy = new FallbackPolicy(options.policy);
    this.#rejoin = new RejoinRule(options.policy);
    this.#feedCfg = { ...DEFAULT_FRAME_FEED, ...options.feed };
    if (!(this.#feedCfg.delayMs >= 0 && this.#feedCfg.delayMs <= 2000)) throw new P2PError('BAD_CONFIG', `feed.delayMs ${this.#feedCfg.delayMs} is outside 0 … 2000 (a frame later than that is past its deadline in the swarm)`);
    if (!(this.#feedCfg.framesExtraLatencyS >= 0 && this.#feedCfg.framesExtraLatencyS <= 5)) throw new P2PError('BAD_CONFIG', `feed.framesExtraLatencyS ${this.#feedCfg.framesExtraLatencyS} is outside 0 … 5`);
    if (!(this.#feedCfg.framesStallMs >= 500 && this.#feedCfg.framesStallMs <= 60_000)) throw new P2PError('BAD_CONFIG', `feed.framesStallMs ${this.#feedCfg.framesStallMs} is outside 500 … 60000`);
    if (!(this.#feedCfg.earlyMs >= 0 && this.#feedCfg.earlyMs <= 5000)) throw new P2PError('BAD_CONFIG', `feed.earlyMs ${this.#feedCfg.earlyMs} is outside 0 … 5000`);
    if (!(this.#feedCfg.maxMsPerStay >= 0 && this.#feedCfg.maxMsPerStay <= 3_600_000)) throw new P2PError('BAD_CONFIG', `feed.maxMsPerStay ${this.#feedCfg.maxMsPerStay} is outside 0 … 3600000`);
    if (!(options.hasMse ?? hasMse)() && options.video.canPlayType('application/vnd.apple.mpegurl')) {
      // Safari on iPhone: no MSE for the P2P player, but native HLS. The element plays the playlist.
      options.player.detachMedia();
      options.video.src = options.url;
      this.#stats.via = 'native';
      this.#set('native-hls', 'no-mse');
      this.#setHttp('playing');
      return;
    }
    this.#timer = setInterval(() => this.#tick(), options.tickMs ?? 200);
    this.#tick();
  }

  get stats(): SourceStats {
    const p2pBytes = this.#p2pBytes();
    let date: Date | null = null;
    try {
      date = this.#hls?.playingDate ?? null;
    } catch {
      // hls.js torn down between the check and the read
    }
    let glassToGlassMs = date && Number.isFinite(date.getTime()) ? Date.now() - date.getTime() : null;
    if (this.#frames) glassToGlassMs = this.#o.player.stats.glassToGlassMs;
    const f = this.#feed?.stats;
    const feed = { ...this.#stats.feed, bytes: f?.bytes ?? 0, frames: f?.frames ?? 0, taken: this.#outsideTotal, refused: f?.refused ?? 0 };
    const httpBytes = this.#hlsBytes.bytes + this.#framesBytesDone + (this.#frames?.feed.stats.bytes ?? 0) + (this.#early?.feed.stats.bytes ?? 0);
    const total = httpBytes + p2pBytes;
    return { ...this.#stats, httpBytes, httpCacheHits: this.#hlsBytes.cacheHits, p2pBytes, shareFromHttp: total === 0 ? 0 : httpBytes / total, glassToGlassMs, feed };
  }

  /**
   * The swarm's media bytes over all sessions: a count lower than the last one read belongs to a new
   * session (after a rejoin the player's session numbers start again at 0), so it adds from 0.
   */
  #p2pBytes(): number {
    const s = this.#o.player.stats.session;
    const cur = s ? (s.mediaBytesDown ?? s.bytesDown) : 0;
    this.#p2pTotal += cur >= this.#p2pSeen ? cur - this.#p2pSeen : cur;
    this.#p2pSeen = cur;
    return this.#p2pTotal;
  }

  /**
   * Turns the frame feed on or off (`fallback-feed`), and whether it may play the HTTP path; off
   * stops a running feed at once. A frame path that plays now is left for hls.js at once when it may
   * no longer play.
   */
  setFeedEnabled(on: boolean, plays = this.#feedCfg.plays): void {
    this.#feedCfg.enabled = on;
    this.#feedCfg.plays = plays;
    if (!on) this.#stopFeed('off');
    if (!(on && plays)) this.#stopEarly();
    if (this.#frames && !(on && plays)) this.#framesToHls();
  }

  /** Whether the browser has WebRTC (the swarm is a path at all). */
  get webrtc(): boolean {
    return this.#webrtc();
  }

  get path(): PlayingPath {
    return this.#stats.path;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const wasHttp = this.#stats.path !== 'p2p';
    this.#stopFeed('off');
    this.#stopEarly();
    this.#stopFrames();
    this.#stopHls();
    if (this.#stats.path === 'native-hls') {
      this.#o.video.removeAttribute('src');
      this.#o.video.load();
    }
    // Leave the element as it was found: the P2P player owns the <video>.
    if (wasHttp && !this.#o.player.media) this.#o.player.attachMedia(this.#o.video);
  }

  #tick(): void {
    if (this.#destroyed) return;
    const { player, video } = this.#o;
    const s = player.stats;
    const nowMs = performance.now();
    // Frames the session took from the edge's feed reach the player like swarm frames: they are no
    // sign of a healthy swarm, so the policy counts only the others.
    const taken = this.#o.outside?.()?.taken() ?? 0;
    this.#outsideTotal += taken >= this.#takenSeen ? taken - this.#takenSeen : taken;
    this.#takenSeen = taken;
    const diff = s.framesIn - this.#outsideTotal;
    if (diff > this.#lastDiff) {
      this.#swarmFrames += diff - this.#lastDiff;
      // The rhythm on P2P only, and not across an early feed (its frames hide the swarm's late ones).
      if (this.#stats.path === 'p2p' && !this.#early) this.#gaps.add(nowMs - this.#lastSwarmFrameMs);
      this.#lastSwarmFrameMs = nowMs;
    }
    this.#lastDiff = diff;
    this.#p2pBytes();
    const webrtc = this.#webrtc();
    const quickSwitch = this.#stats.path === 'p2p' && this.#via(webrtc) === 'frames';
    if (this.#o.onRejoin && this.#rejoin.observe({ nowMs, onHttp: this.#stats.path === 'http', webrtc, swarmFrames: this.#swarmFrames })) this.#rejoinSwarm();
    const d = { nowMs, ...this.#policy.observe({
      nowMs,
      webrtc,
      p2pFrames: this.#swarmFrames,
      bufferAheadS: s.bufferAheadS,
      playing: !video.paused && !video.ended,
      quickSwitch,
    }) };
    if (this.#frames && this.#stats.path === 'http') {
      if (s.framesIn > this.#frames.framesIn) {
        this.#frames.framesIn = s.framesIn;
        this.#frames.lastInMs = nowMs;
      } else if (framesStalled(nowMs, this.#frames.sinceMs, this.#frames.lastInMs, this.#feedCfg.framesStallMs)) {
        // Nothing gets through the frame path (the session refuses the edge's frames, the edge
        // serves another stream, the feed stopped): hls.js plays the rest of this stay.
        this.#stats.framesFailures++;
        this.#framesBlockedUntilMs = nowMs + this.#policy.config.httpRetryMs;
        this.#framesToHls();
      }
    }
    // The P2P player's own stats timer is quiet while it is detached (hls.js or native HLS plays).
    if (this.#stats.path !== 'p2p' && !this.#frames && d.nowMs - this.#lastStatsMs >= 1000) {
      this.#lastStatsMs = d.nowMs;
      this.#o.onHttpStats?.();
    }
    if (d.switched) {
      if (d.path === 'http') void this.#toHttp(d.switched);
      else this.#toP2p(d.switched);
    }
    this.#steerEarly(nowMs);
    this.#steerFeed(nowMs);
  }

  /**
   * The frame path's feed ahead of a switch: started when the swarm has been silent for `earlyMs` on
   * P2P (where HTTP would play through the frame path), once per silence; stopped when the swarm
   * delivers again, or when the silence outlasts the policy's starve time without a switch (HTTP is
   * blocked). At the switch the frame path takes it over (#toHttp).
   */
  #steerEarly(nowMs: number): void {
    if (this.#stats.path !== 'p2p' || this.#loading) return;
    if (this.#early) {
      if (this.#swarmFrames !== this.#early.swarmFrames || nowMs - this.#lastSwarmFrameMs >= this.#policy.config.starveMs + this.#feedCfg.earlyMs) this.#stopEarly();
      return;
    }
    if (this.#earlyAt === this.#swarmFrames) return;
    if (!earlyFeedWanted({ onP2p: true, via: this.#via(this.#webrtc()), swarmSilentMs: nowMs - this.#lastSwarmFrameMs, earlyMs: this.#feedCfg.earlyMs, usualGapMs: this.#gaps.usualMs, starveMs: this.#policy.config.starveMs })) return;
    this.#earlyAt = this.#swarmFrames;
    this.#early = { feed: this.#framesFeed(), swarmFrames: this.#swarmFrames };
    this.#early.feed.start();
    this.#stats.earlyStarts++;
  }

  #stopEarly(): void {
    const e = this.#early;
    this.#early = null;
    if (!e) return;
    e.feed.stop();
    this.#framesBytesDone += e.feed.stats.bytes;
  }

  /** The swarm stayed silent on HTTP: the element replaces the session; its counters start at 0. */
  #rejoinSwarm(): void {
    this.#stats.rejoins++;
    this.#gaps.clear();
    try {
      this.#o.onRejoin?.();
    } catch {
      // a failing rejoin is tried again after the next (longer) wait
    }
    this.#takenSeen = 0;
  }

  /**
   * While hls.js plays and the swarm session is linked (the switch was for a dry swarm or silent
   * peers, not for a browser without WebRTC), the edge's frame feed goes into the session, so its
   * neighbours can still get frames from it and its own P2P player stays fed for the return; at most
   * maxMsPerStay in one stay on HTTP. Stopped on the way back to P2P.
   */
  #steerFeed(nowMs: number): void {
    const last = this.#lastTickMs;
    this.#lastTickMs = nowMs;
    const st = this.#stats.feed;
    if (this.#stats.path !== 'http' || !this.#hls || this.#frames || this.#stats.reason === 'no-webrtc') {
      this.#stopFeed('off');
      if (this.#stats.path !== 'http') st.runMs = 0;
      return;
    }
    if (this.#feed?.running && last !== null) st.runMs += nowMs - last;
    if (st.runMs >= this.#feedCfg.maxMsPerStay) return this.#stopFeed('spent');
    const sink = this.#o.outside?.();
    if (!this.#feedCfg.enabled || !sink || !sink.linked()) return this.#stopFeed('off');
    if (this.#feed?.running) return;
    this.#feed ??= new HttpFrameFeed({
      playlistUrl: this.#o.url,
      delayMs: () => (performance.now() - this.#lastSwarmFrameMs < 2000 ? this.#feedCfg.delayMs : 0),
      onFrame: (m, f) => this.#o.outside?.()?.add(m, f) ?? false,
    });
    this.#feed.start();
    st.state = 'running';
  }

  #stopFeed(state: 'off' | 'spent'): void {
    if (this.#feed?.running) this.#feed.stop();
    this.#stats.feed.state = state;
  }

  #webrtc(): boolean {
    return this.#o.hasWebRtc ? this.#o.hasWebRtc() : typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection === 'function';
  }

  /**
   * The HTTP path cannot be had now. Back to waiting (the policy tries again in httpRetryMs). Only an
   * error when the viewer has no other path: with WebRTC the swarm may still deliver, and a server
   * without an edge is a normal setup, not a failure the viewer should be told about.
   */
  #unavailable(message: string): void {
    this.#policy.httpFailed(performance.now());
    this.#setHttp('unavailable');
    // The frame path gave up and hls.js cannot be had either: the P2P player takes the element again.
    if (this.#stats.path === 'http') this.#toP2p('http-failed');
    if (!this.#webrtc()) this.#fail(message);
  }

  #fail(message: string): void {
    try {
      this.#o.onError?.(new P2PError('FALLBACK_FAILED', message));
    } catch {
      // a throwing listener does not break the safety net
    }
  }

  async #toHttp(reason: SwitchReason): Promise<void> {
    if (this.#loading || this.#hls || this.#frames) return;
    const early = this.#early;
    this.#early = null;
    if (this.#via(this.#webrtc()) === 'frames') {
      // The feed started ahead of the switch already reads the edge's frames: no probe needed.
      if (early) return this.#startFrames(reason, early.feed);
      this.#loading = true;
      this.#setHttp('probing');
      const served = await probeFrameFeed(this.#o.url);
      this.#loading = false;
      if (this.#destroyed || this.#policy.path !== 'http') return;
      if (served) return this.#startFrames(reason);
      // No frame feed at this edge: hls.js (which asks for the playlist itself first).
    } else if (early) {
      early.feed.stop();
      this.#framesBytesDone += early.feed.stats.bytes;
    }
    return this.#toHls(reason);
  }

  /** How HTTP would play if the safety net went there now. */
  #via(webrtc: boolean): HttpVia {
    return chooseHttpVia({
      mse: !!this.#o.player.media && (this.#o.hasMse ?? hasMse)(),
      webrtc,
      feedPlays: this.#feedCfg.enabled && this.#feedCfg.plays,
      verifiable: this.#o.outside?.()?.verifiable?.() ?? false,
      framesBlocked: performance.now() < this.#framesBlockedUntilMs,
    });
  }

  /**
   * The frame path: the P2P player keeps the <video>, its MediaSource and SourceBuffer; the edge's
   * frame feed goes into the swarm session, whose core checks each frame's signature and digest and
   * delivers it to the same player as a swarm frame (and serves it to neighbours). The feed starts
   * with the frames the swarm did not bring since the newest the session has.
   */
  #startFrames(reason: SwitchReason, started?: HttpFrameFeed): void {
    this.#stopFeed('off');
    const nowMs = performance.now();
    const feed = started ?? this.#framesFeed();
    const player = this.#o.player;
    const targetS = player.config.targetLatencyS;
    let raisedS: number | null = null;
    try {
      if (this.#feedCfg.framesExtraLatencyS > 0) {
        player.setTargetLatency(targetS + this.#feedCfg.framesExtraLatencyS);
        raisedS = player.config.targetLatencyS;
      }
    } catch {
      // beyond the player's bounds: the target stays
    }
    this.#frames = { feed, sinceMs: nowMs, lastInMs: nowMs, framesIn: player.stats.framesIn, targetS, raisedS };
    feed.start();
    this.#stats.via = 'frames';
    this.#setHttp('playing');
    this.#set('http', reason);
  }

  /** The frame path's feed (not started): from the frames the session still needs, into the session. */
  #framesFeed(): HttpFrameFeed {
    return new HttpFrameFeed({
      playlistUrl: this.#o.url,
      // While the swarm still delivers (a frame within the policy's starve time), its own copy should
      // win so that the policy sees it recover: a frame from the feed waits, but never past the media
      // buffered ahead less 300 ms (the player must not run dry for it). Right after a switch for a
      // silent swarm, frames go at once.
      delayMs: () => {
        if (performance.now() - this.#lastSwarmFrameMs >= this.#policy.config.starveMs) return 0;
        return Math.min(this.#feedCfg.delayMs, Math.max(0, this.#o.player.stats.bufferAheadS * 1000 - 300));
      },
      onFrame: (m, f) => this.#o.outside?.()?.add(m, f) ?? false,
      rewind: (liveSeq) => rewindFrames(liveSeq, this.#o.outside?.()?.resumeSeq?.() ?? null, MAX_REWIND_FRAMES),
    });
  }

  #stopFrames(): void {
    const f = this.#frames;
    this.#frames = null;
    if (!f) return;
    f.feed.stop();
    this.#framesBytesDone += f.feed.stats.bytes;
    // The target back as it was, unless someone set another meanwhile (the target-latency attribute).
    const player = this.#o.player;
    if (f.raisedS !== null && player.config.targetLatencyS === f.raisedS) {
      try {
        player.setTargetLatency(f.targetS);
      } catch {
        // cannot happen: it was the target before
      }
    }
  }

  /** The frame path gave up within a stay on HTTP: hls.js takes over (the path stays `http`, no sourcechange). */
  #framesToHls(): void {
    const reason = this.#stats.reason;
    this.#stopFrames();
    this.#stats.via = null;
    if (this.#stats.path === 'http') void this.#toHls(reason === 'no-mse' ? 'p2p-dry' : reason, false);
  }

  async #toHls(reason: SwitchReason, announce = true): Promise<void> {
    if (this.#loading || this.#hls) return;
    this.#loading = true;
    this.#setHttp('probing');
    let HlsClass: typeof Hls;
    try {
      HlsClass = (await import('hls.js')).default;
    } catch (e) {
      this.#loading = false;
      if (!this.#destroyed) this.#unavailable(`hls.js could not be loaded: ${String(e)}`);
      return;
    }
    // Ask the edge first: where there is none (no playlist for this stream), the P2P player keeps
    // the element rather than being torn down for nothing.
    const reachable = await fetch(this.#o.url, { cache: 'no-store' }).then((r) => r.ok, () => false);
    this.#loading = false;
    if (this.#destroyed || this.#policy.path !== 'http') return;
    if (!reachable) {
      this.#unavailable(`no HLS edge serves ${this.#o.url}`);
      return;
    }
    if (!HlsClass.isSupported()) {
      this.#unavailable('this browser supports neither MSE for hls.js nor native HLS');
      return;
    }
    const { video, player } = this.#o;
    const wasPlaying = !video.paused;
    player.detachMedia();
    const hls = new HlsClass({ lowLatencyMode: true, backBufferLength: 10, liveSyncDurationCount: 1, maxLiveSyncPlaybackRate: 1.1 });
    this.#hls = hls;
    hls.on(HlsClass.Events.FRAG_LOADED, (_e, data) => {
      const f = data.part ?? data.frag;
      this.#hlsBytes.add(f.url, f.stats.loaded);
    });
    hls.on(HlsClass.Events.ERROR, (_e, data) => {
      if (!data.fatal || this.#hls !== hls) return;
      // The edge cannot serve us: the swarm, however poor, is all there is.
      this.#setHttp('failed');
      this.#fail(`HLS: ${data.details}`);
      const d = this.#policy.httpFailed(performance.now());
      if (d.switched) this.#toP2p(d.switched);
    });
    hls.attachMedia(video);
    hls.loadSource(this.#o.url);
    if (wasPlaying || player.config.autoplay) {
      video.play().catch(() => {
        video.muted = true;
        void video.play().catch(() => {});
      });
    }
    this.#setHttp('playing');
    this.#stats.via = 'hls.js';
    if (announce) this.#set('http', reason);
  }

  #toP2p(reason: SwitchReason): void {
    const { video, player } = this.#o;
    this.#stopFrames();
    this.#stopHls();
    this.#stats.via = null;
    if (!player.media) player.attachMedia(video);
    if (this.#stats.http === 'playing') this.#setHttp('idle');
    this.#set('p2p', reason);
  }

  #stopHls(): void {
    const hls = this.#hls;
    this.#hls = null;
    if (!hls) return;
    try {
      hls.destroy();
    } catch {
      // a failing teardown must not keep the P2P player from the element
    }
  }

  #setHttp(state: HttpState): void {
    if (this.#stats.http === state) return;
    this.#stats.http = state;
    try {
      this.#o.onHttpState?.(state);
    } catch {
      // a throwing listener does not break the safety net
    }
  }

  #set(path: PlayingPath, reason: SourceStats['reason']): void {
    this.#gaps.clear();
    this.#stats.path = path;
    this.#stats.reason = reason;
    this.#stats.switches++;
    try {
      this.#o.onSourceChange({ path, reason });
    } catch {
      // a throwing listener does not break the switch
    }
  }
}

function hasMse(): boolean {
  return typeof MediaSource !== 'undefined' || typeof (globalThis as { ManagedMediaSource?: unknown }).ManagedMediaSource !== 'undefined';
}

/** Whether the edge serves a frame feed for this stream: its live bundle answers 200. */
async function probeFrameFeed(playlistUrl: string): Promise<boolean> {
  try {
    const u = new URL(playlistUrl);
    u.search = '';
    u.hash = '';
    const res = await fetch(u.href.replace(/[^/]*$/, 'frames-live.bin'), { cache: 'no-store' });
    await res.body?.cancel().catch(() => {});
    return res.status === 200;
  } catch {
    return false;
  }
}
