// <p2p-player>: a thin custom element over the DOM-free MediaPlayer. Owns the shadow DOM (a <video>,
// the on-screen state, the optional stats overlay), <video>-like properties, methods and events, and
// the seam where a session attaches (setSessionConnector). It does not import session code and does
// not call customElements.define (define-p2p-player.ts does).

import { P2PError } from '../errors.ts';
import { MediaPlayer } from './media-player.ts';
import { DEFAULT_PLAYER_CONFIG, type PlayerConfig, type PlayerStats, type PlayerStatus, type RenditionState } from './player-config.ts';
import { checkQualityText } from './quality-chooser.ts';
import { StatsOverlay } from './stats-overlay.ts';
import { HlsFallback, defaultFallbackUrl, sourceStateText, type OutsideFrameSink } from './hls-fallback.ts';
import { resolveFallbackPolicy, type FallbackPolicyConfig } from './fallback-policy.ts';
import { liveSeekable, mediaErrorFor } from './live-ranges.ts';
import { rangesOf } from './latency-controller.ts';

export const OBSERVED_ATTRIBUTES = ['tracker', 'stream', 'autoplay', 'muted', 'controls', 'target-latency', 'stats-overlay', 'poster', 'disablepictureinpicture', 'ice-policy', 'fallback', 'fallback-url', 'fallback-feed', 'quality'] as const;
export type P2PPlayerAttribute = (typeof OBSERVED_ATTRIBUTES)[number];

/** Media events of the inner <video> re-dispatched on the element. */
export const MEDIA_EVENTS = [
  'abort', 'canplay', 'canplaythrough', 'durationchange', 'emptied', 'ended', 'error', 'loadeddata', 'loadedmetadata',
  'loadstart', 'pause', 'play', 'playing', 'progress', 'ratechange', 'resize', 'seeked', 'seeking', 'stalled',
  'suspend', 'timeupdate', 'volumechange', 'waiting', 'enterpictureinpicture', 'leavepictureinpicture',
] as const;

/** Media kept behind the playhead by default: the DVR window a viewer can seek back in, seconds. */
export const DEFAULT_DVR_WINDOW_S = 30;


/** What a session gets when the element asks for one. */
export interface SessionRequest {
  element: P2PPlayerElement;
  player: MediaPlayer;
  tracker: string;
  stream: string;
  /** `relay`: connect to peers only through TURN (they never see this viewer's addresses). */
  icePolicy: 'all' | 'relay';
  /** 'auto' or a rendition's name (the `quality` attribute). */
  quality: string;
  /**
   * The stream key the replaced session had learnt (a rejoin of the safety net); the new session
   * takes it only when it hashes to the stream id. Lets it check the edge's frames before a neighbour answers.
   */
  streamKey?: Uint8Array;
}

/** What a connector returns: destroyed when tracker or stream change; setQuality where renditions are handled. */
export interface SessionHandle {
  destroy(): void;
  setQuality?(quality: string): void;
  /** Where the safety net hands frames from the edge's frame feed while HTTP plays (docs/hls.md). */
  outside?: OutsideFrameSink;
}

/** Attaches a session to a player. */
export type SessionConnector = (request: SessionRequest) => SessionHandle;

let sessionConnector: SessionConnector | null = null;

/** Installs the session seam: every connected <p2p-player> with a stream gets a session from it. */
export function setSessionConnector(connector: SessionConnector | null): void {
  sessionConnector = connector;
  for (const el of liveElements) el.reconnectSession();
}

const liveElements = new Set<P2PPlayerElement>();

/** What the element shows in each state: what is happening, then what the viewer can do. */
export const STATUS_TEXT: Record<PlayerStatus, string> = {
  idle: '',
  playing: '',
  'waiting-for-broadcaster': 'Waiting for the broadcaster… The picture appears as soon as they go live; keep this page open.',
  ended: 'The broadcast has ended. Reload the page when the broadcaster is live again.',
  'tracker-unreachable': 'Cannot reach the tracker. Check your connection; the player keeps retrying.',
  'no-peers': 'No peers reachable. A firewall may block WebRTC: try another network; the player keeps trying.',
  error: 'This stream cannot be played here. Reload the page, or try a current Chrome, Edge or Firefox.',
};

/** Shown while the element has no `stream` attribute (nothing to wait for). */
export const NO_STREAM_TEXT = 'No stream chosen. Set the stream attribute to a stream id: the broadcast page shows it under Share.';

/** The error state's text for the error that caused it, when it says more than the generic one. */
const ERROR_TEXT: Record<string, string> = {
  UNSUPPORTED_CODEC: "This browser cannot play the stream's codec. Try a current Chrome, Edge or Firefox, or ask the broadcaster for H.264.",
  APPEND_FAILED: 'This browser rejected the stream. Reload the page; if it persists, try another browser and tell the broadcaster.',
  BUFFER_FULL: 'The player ran out of memory for the stream. Reload the page.',
  SESSION_FAILED: 'The player could not join the stream. Check the tracker and stream attributes, then reload the page.',
};

/** The on-screen text for a status; '' hides the state layer. */
export function stateText(status: PlayerStatus, hasStream: boolean, errorCode: string | null = null): string {
  if (!hasStream && (status === 'idle' || status === 'waiting-for-broadcaster')) return NO_STREAM_TEXT;
  if (status === 'error' && errorCode && ERROR_TEXT[errorCode]) return ERROR_TEXT[errorCode];
  return STATUS_TEXT[status] ?? '';
}

const STYLE = `
:host { display: inline-block; position: relative; width: 640px; aspect-ratio: 16 / 9; background: #000; color: #fff; overflow: hidden; }
:host([hidden]) { display: none; }
video { width: 100%; height: 100%; display: block; object-fit: contain; }
.state { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; text-align: center;
  font: 500 16px/1.4 system-ui, sans-serif; background: rgba(0, 0, 0, 0.55); pointer-events: none; }
.state[hidden], .overlay[hidden] { display: none; }
.overlay { position: absolute; top: 8px; left: 8px; padding: 6px 8px; border-radius: 6px; background: rgba(0, 0, 0, 0.6);
  font: 11px/1.35 ui-monospace, monospace; pointer-events: none; }
.overlay pre { margin: 0 0 4px; font: inherit; white-space: pre; }
.overlay canvas { display: block; }
`;

const Base = (globalThis.HTMLElement ?? class {}) as typeof HTMLElement;

export class P2PPlayerElement extends Base {
  static get observedAttributes(): readonly string[] {
    return OBSERVED_ATTRIBUTES;
  }

  #video: HTMLVideoElement;
  #state: HTMLDivElement;
  #overlay: StatsOverlay;
  #player: MediaPlayer | null = null;
  #config: Partial<PlayerConfig> = {};
  #session: SessionHandle | null = null;
  #rendition: RenditionState | null = null;
  #sessionKey = '';
  #destroyed = false;
  #lastErrorCode: string | null = null;
  #error: { code: number; message: string } | null = null;
  #defaultPlaybackRate = 1;
  #fallback: HlsFallback | null = null;
  #fallbackPolicy: Partial<FallbackPolicyConfig> = {};
  /** The stream key to hand the next session (set by a rejoin, used once). */
  #carryKey: Uint8Array | null = null;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = STYLE;
    this.#video = document.createElement('video');
    this.#video.setAttribute('part', 'video');
    this.#video.playsInline = true;
    this.#state = document.createElement('div');
    this.#state.className = 'state';
    this.#state.setAttribute('part', 'state');
    this.#state.setAttribute('role', 'status');
    this.#overlay = new StatsOverlay();
    this.#overlay.element.hidden = true;
    root.append(style, this.#video, this.#state, this.#overlay.element);
    for (const type of MEDIA_EVENTS) this.#video.addEventListener(type, () => this.dispatchEvent(new Event(type)));
    this.#state.hidden = true;
  }

  connectedCallback(): void {
    if (this.#destroyed) return;
    liveElements.add(this);
    if (!this.#player) {
      this.#replayEarlyProperties();
      this.#createPlayer();
    }
    this.#player!.attachMedia(this.#video);
    this.#overlay.update(this.#player!.stats);
    this.reconnectSession();
    this.#restartFallback();
  }

  disconnectedCallback(): void {
    queueMicrotask(() => {
      if (this.isConnected || this.#destroyed) return;
      liveElements.delete(this);
      this.#dropSession();
      this.#stopFallback();
      this.#player?.detachMedia();
      this.#showStatus('idle');
      this.dispatchEvent(new CustomEvent('statuschange', { detail: 'idle' }));
    });
  }

  attributeChangedCallback(name: P2PPlayerAttribute, _old: string | null, value: string | null): void {
    switch (name) {
      case 'muted':
        this.#video.muted = value !== null;
        break;
      case 'controls':
        this.#video.controls = value !== null;
        break;
      case 'autoplay':
        this.#player?.setAutoplay(value !== null);
        break;
      case 'target-latency': {
        const s = value === null ? DEFAULT_PLAYER_CONFIG.targetLatencyS : Number(value);
        try {
          this.#player?.setTargetLatency(s);
          this.#config.targetLatencyS = s;
        } catch (e) {
          this.#emitError(e instanceof P2PError ? e : new P2PError('BAD_CONFIG', String(e)));
        }
        break;
      }
      case 'stats-overlay':
        this.#overlay.element.hidden = value === null;
        break;
      case 'poster':
        if (value === null) this.#video.removeAttribute('poster');
        else this.#video.poster = value;
        break;
      case 'disablepictureinpicture':
        this.#video.disablePictureInPicture = value !== null;
        break;
      case 'tracker':
      case 'stream':
      case 'ice-policy':
        this.reconnectSession();
        if (this.#player) this.#showStatus(this.#player.status);
        this.#restartFallback();
        break;
      case 'quality':
        try {
          this.#session?.setQuality?.(value ?? 'auto');
        } catch (e) {
          this.#emitError(e instanceof P2PError ? e : new P2PError('UNKNOWN_QUALITY', String(e)));
        }
        break;
      case 'fallback':
      case 'fallback-url':
        this.#restartFallback();
        break;
      case 'fallback-feed':
        this.#fallback?.setFeedEnabled(this.fallbackFeed, this.fallbackFeedMode === 'play');
        break;
    }
  }

  // --- attributes as properties ---
  get tracker(): string { return this.getAttribute('tracker') ?? ''; }
  set tracker(v: string) { this.setAttribute('tracker', String(v)); }
  get stream(): string { return this.getAttribute('stream') ?? ''; }
  set stream(v: string) { this.setAttribute('stream', String(v)); }
  /** `ice-policy="relay"`: TURN only (the tracker hands out the servers); anything else: `all`. */
  get icePolicy(): 'all' | 'relay' { return this.getAttribute('ice-policy') === 'relay' ? 'relay' : 'all'; }
  set icePolicy(v: 'all' | 'relay') { this.setAttribute('ice-policy', String(v)); }
  get autoplay(): boolean { return this.hasAttribute('autoplay'); }
  set autoplay(v: boolean) { this.toggleAttribute('autoplay', Boolean(v)); }
  get muted(): boolean { return this.#video.muted; }
  set muted(v: boolean) { this.#video.muted = Boolean(v); }
  get controls(): boolean { return this.hasAttribute('controls'); }
  set controls(v: boolean) { this.toggleAttribute('controls', Boolean(v)); }
  /** The broadcast's renditions, top first (empty with one rendition or before the list came). */
  get qualities(): Array<{ name: string; height: number; bitrateBps: number }> {
    return this.#rendition?.qualities.map((q) => ({ ...q })) ?? [];
  }

  /** 'auto' (the player chooses from what it measures) or a rendition's name, kept until changed. */
  get quality(): string {
    return this.getAttribute('quality') ?? 'auto';
  }

  set quality(v: string) {
    const q = checkQualityText(v);
    const known = this.qualities;
    if (q !== 'auto' && known.length > 0 && !known.some((k) => k.name === q)) {
      throw new P2PError('UNKNOWN_QUALITY', `no rendition named ${q}; this broadcast has ${known.map((k) => k.name).join(', ')}`);
    }
    this.setAttribute('quality', q);
  }

  /** The rendition playing now; null with one rendition. */
  get playingQuality(): string | null {
    return this.#rendition?.playing ?? null;
  }

  get statsOverlay(): boolean { return this.hasAttribute('stats-overlay'); }
  set statsOverlay(v: boolean) { this.toggleAttribute('stats-overlay', Boolean(v)); }
  get targetLatency(): number { return this.#player?.config.targetLatencyS ?? this.#config.targetLatencyS ?? DEFAULT_PLAYER_CONFIG.targetLatencyS; }
  set targetLatency(v: number) { this.setAttribute('target-latency', String(v)); }

  // --- the HTMLMediaElement surface of a live <video> ---
  // Forwarded to the inner <video> where it means the same; defined for live where it differs.
  get volume(): number { return this.#video.volume; }
  set volume(v: number) { this.#video.volume = v; }
  /** Reflects the `muted` attribute (the muted state at start), as on <video>. */
  get defaultMuted(): boolean { return this.hasAttribute('muted'); }
  set defaultMuted(v: boolean) { this.toggleAttribute('muted', Boolean(v)); }
  get currentTime(): number { return this.#video.currentTime; }
  /** Seeks in the DVR window; a time at (or past) the live edge goes live. */
  set currentTime(v: number) { if (this.#player) this.#player.seek(Number(v)); else this.#video.currentTime = v; }
  fastSeek(t: number): void { this.currentTime = t; }
  /** Infinity while the stream is live; once it ended, the end of the media kept. */
  get duration(): number {
    if (this.status !== 'ended') return this.#video.readyState === 0 && this.status !== 'playing' ? NaN : Infinity;
    const b = this.#video.buffered;
    return b.length > 0 ? b.end(b.length - 1) : NaN;
  }
  /** The DVR window: from the oldest media kept (`config.backBufferS` behind the playhead) to the live edge. */
  get seekable(): TimeRanges { return liveSeekable(rangesOf(this.#video.buffered)); }
  /** Control layers show LIVE when currentTime is at or after this (within catch-up distance of the edge). */
  get liveEdgeStart(): number {
    const b = this.#video.buffered;
    if (b.length === 0 || this.status === 'ended') return NaN;
    const c = this.#player?.config;
    return b.end(b.length - 1) - (c ? c.targetLatencyS + c.seekBeyondS : 3);
  }
  /** True while the player follows the live edge; false while watching behind it. */
  get atLiveEdge(): boolean { return this.#player?.followingLive ?? true; }
  /** Back to the live edge ("go live"). */
  seekToLive(): void { this.#player?.goLive(); }
  get streamType(): 'live' { return 'live'; }
  get paused(): boolean { return this.#video.paused; }
  get ended(): boolean { return this.#player?.status === 'ended'; }
  get seeking(): boolean { return this.#video.seeking; }
  get readyState(): number { return this.#video.readyState; }
  get networkState(): number { return this.#video.networkState; }
  get buffered(): TimeRanges { return this.#video.buffered; }
  get played(): TimeRanges { return this.#video.played; }
  get videoWidth(): number { return this.#video.videoWidth; }
  get videoHeight(): number { return this.#video.videoHeight; }
  get playbackRate(): number { return this.#video.playbackRate; }
  /** Any rate but 1 watches behind live; a rate above 1 returns to following live when it reaches the edge. */
  set playbackRate(v: number) {
    try {
      if (this.#player) this.#player.setPlaybackRate(Number(v));
      else this.#video.playbackRate = Number(v);
      this.dispatchEvent(new Event('ratechange'));
    } catch (e) {
      this.#emitError(e instanceof P2PError ? e : new P2PError('BAD_CONFIG', String(e)));
    }
  }
  get defaultPlaybackRate(): number { return this.#defaultPlaybackRate; }
  set defaultPlaybackRate(v: number) { this.#defaultPlaybackRate = Number(v); }
  get preservesPitch(): boolean { return this.#video.preservesPitch; }
  set preservesPitch(v: boolean) { this.#video.preservesPitch = Boolean(v); }
  /** The inner <video>'s error, or the player's when the <video> never saw the stream (a codec MSE lacks). */
  get error(): MediaError | null { return this.#video.error ?? (this.#error as MediaError | null); }
  get poster(): string { return this.getAttribute('poster') ?? ''; }
  set poster(v: string) { this.setAttribute('poster', String(v)); }
  /** Live media is fetched by the session whatever this says; kept for markup compatibility. */
  get preload(): string { return this.getAttribute('preload') ?? 'auto'; }
  set preload(v: string) { this.setAttribute('preload', String(v)); }
  /** The inner <video> always plays inline; the attribute is reflected for markup compatibility. */
  get playsInline(): boolean { return this.hasAttribute('playsinline'); }
  set playsInline(v: boolean) { this.toggleAttribute('playsinline', Boolean(v)); }
  get crossOrigin(): string | null { return this.getAttribute('crossorigin'); }
  set crossOrigin(v: string | null) { if (v === null) this.removeAttribute('crossorigin'); else this.setAttribute('crossorigin', v); }
  get loop(): boolean { return false; }
  set loop(_v: boolean) { /* a live stream does not loop */ }
  get src(): string { return ''; }
  get currentSrc(): string { return this.stream ? `p2p:${this.stream}` : ''; }
  get disablePictureInPicture(): boolean { return this.hasAttribute('disablepictureinpicture'); }
  set disablePictureInPicture(v: boolean) { this.toggleAttribute('disablepictureinpicture', Boolean(v)); }
  get disableRemotePlayback(): boolean { return this.#video.disableRemotePlayback; }
  set disableRemotePlayback(v: boolean) { this.#video.disableRemotePlayback = Boolean(v); }
  get textTracks(): TextTrackList { return this.#video.textTracks; }
  get audioTracks(): unknown { return (this.#video as unknown as { audioTracks?: unknown }).audioTracks; }
  get videoTracks(): unknown { return (this.#video as unknown as { videoTracks?: unknown }).videoTracks; }
  addTextTrack(kind: TextTrackKind, label?: string, language?: string): TextTrack { return this.#video.addTextTrack(kind, label, language); }
  getVideoPlaybackQuality(): VideoPlaybackQuality { return this.#video.getVideoPlaybackQuality(); }
  /** The wall-clock date of media time 0 (from the broadcaster's capture times), as live <video> offers. */
  getStartDate(): Date {
    const s = this.#player?.stats;
    return s && s.glassToGlassMs !== null ? new Date(Date.now() - s.glassToGlassMs - this.#video.currentTime * 1000) : new Date(NaN);
  }
  requestPictureInPicture(): Promise<PictureInPictureWindow> { return this.#video.requestPictureInPicture(); }
  requestVideoFrameCallback(callback: VideoFrameRequestCallback): number { return this.#video.requestVideoFrameCallback(callback); }
  cancelVideoFrameCallback(handle: number): void { this.#video.cancelVideoFrameCallback(handle); }
  captureStream(): MediaStream { return (this.#video as unknown as { captureStream(): MediaStream }).captureStream(); }
  /** What this browser can play from the stream's MP4 (MSE), else what the <video> says. */
  canPlayType(type: string): CanPlayTypeResult {
    const mse = globalThis.MediaSource;
    if (mse && type && mse.isTypeSupported(type)) return 'probably';
    return this.#video.canPlayType(type);
  }
  /** Starts over: a new session and player pipeline from the live edge (as load() restarts a <video>). */
  load(): void {
    if (!this.#player || this.#destroyed) return;
    this.#error = null;
    this.#lastErrorCode = null;
    this.#dropSession();
    this.#player.detachMedia();
    if (!this.isConnected) return;
    this.dispatchEvent(new Event('emptied'));
    this.#player.attachMedia(this.#video);
    this.reconnectSession();
  }
  play(): Promise<void> { return this.#player ? this.#player.play() : this.#video.play(); }
  pause(): void { if (this.#player) this.#player.pause(); else this.#video.pause(); }

  /** Player options read when the player is made (at first connect); set it before adding the element. */
  get config(): Partial<PlayerConfig> { return { ...this.#config }; }
  set config(v: Partial<PlayerConfig>) { this.#config = { ...(v ?? {}) }; }

  /** The DOM-free player core: the session pushes frames and status into it. */
  get player(): MediaPlayer | null { return this.#player; }
  /** The inner <video>. */
  get video(): HTMLVideoElement { return this.#video; }
  /** 'idle' when not in a document (after remove()) or destroyed. */
  get status(): PlayerStatus { return this.isConnected && !this.#destroyed ? (this.#player?.status ?? 'idle') : 'idle'; }
  get stats(): PlayerStats | null {
    const s = this.#player?.stats ?? null;
    return s && this.#fallback ? { ...s, source: this.#fallback.stats } : s;
  }

  // --- HTTP safety net (hls-fallback.ts) ---
  /** `hls` (default): play from the HLS edge when the swarm cannot; `none`: P2P only. */
  get fallback(): 'hls' | 'none' { return this.getAttribute('fallback') === 'none' ? 'none' : 'hls'; }
  set fallback(v: 'hls' | 'none') { this.setAttribute('fallback', v); }
  /** The playlist the safety net plays; default: /hls/<stream>/index.m3u8 on the tracker's server. */
  get fallbackUrl(): string { return this.getAttribute('fallback-url') ?? defaultFallbackUrl(this.tracker, this.stream) ?? ''; }
  set fallbackUrl(v: string) { this.setAttribute('fallback-url', String(v)); }
  /**
   * True unless `fallback-feed="off"`: the edge's frame feed runs while HTTP plays (see fallbackFeedMode).
   * Setting true gives the default (`relay`) where the feed was off, and leaves `play` or `relay` as set.
   */
  get fallbackFeed(): boolean { return this.fallbackFeedMode !== 'off'; }
  set fallbackFeed(v: boolean) {
    if (!v) this.setAttribute('fallback-feed', 'off');
    else if (!this.fallbackFeed) this.removeAttribute('fallback-feed');
  }
  /**
   * `fallback-feed`: `relay` (default; `on` means the same): hls.js plays HTTP, and while the session
   * is linked the feed hands the edge's frames on to its neighbours. `play` (not the default: in the
   * bench it was not as good as `relay` on every switch figure, docs/hls.md): where the session can
   * check the edge's frames, the HTTP path plays them through the P2P player's own MediaSource (no
   * reload at a switch; the feed starts before the switch when the swarm falls silent past its
   * rhythm); elsewhere hls.js. `off`: hls.js only, no feed.
   */
  get fallbackFeedMode(): 'play' | 'relay' | 'off' {
    const v = this.getAttribute('fallback-feed');
    return v === 'off' ? 'off' : v === 'play' ? 'play' : 'relay';
  }
  set fallbackFeedMode(v: 'play' | 'relay' | 'off') { this.setAttribute('fallback-feed', v === 'off' || v === 'play' ? v : 'relay'); }
  /**
   * The safety net's policy, partial (fallback-policy.ts: switch times, `rejoinAfterMs`, …); the
   * defaults where unset. Setting it starts the safety net again; a bad value throws BAD_CONFIG.
   */
  get fallbackPolicy(): Partial<FallbackPolicyConfig> { return { ...this.#fallbackPolicy }; }
  set fallbackPolicy(v: Partial<FallbackPolicyConfig>) {
    const policy = { ...(v ?? {}) };
    resolveFallbackPolicy(policy);
    this.#fallbackPolicy = policy;
    this.#restartFallback();
  }
  /** Which path plays now: 'p2p', 'http' (hls.js) or 'native-hls'. */
  get sourcePath(): string { return this.#fallback?.path ?? 'p2p'; }

  #restartFallback(): void {
    this.#stopFallback();
    if (!this.#player || !this.isConnected || this.#destroyed || this.fallback === 'none' || !this.stream || !this.fallbackUrl) return;
    this.#fallback = new HlsFallback({
      video: this.#video,
      player: this.#player,
      url: this.fallbackUrl,
      policy: this.#fallbackPolicy,
      outside: () => this.#session?.outside,
      feed: { enabled: this.fallbackFeed, plays: this.fallbackFeedMode === 'play' },
      onSourceChange: (detail) => {
        if (this.#player) this.#showStatus(this.#player.status);
        this.dispatchEvent(new CustomEvent('sourcechange', { detail }));
      },
      onHttpState: () => {
        if (this.#player) this.#showStatus(this.#player.status);
      },
      // The P2P player is detached while HTTP plays, so its stats timer is quiet: the safety net ticks instead.
      onHttpStats: () => this.#emitStats(),
      // Only when the viewer cannot watch: hls.js gave up, or no WebRTC and no edge (hls-fallback.ts).
      onError: (e) => this.#emitError(e),
      // The swarm stayed silent while HTTP plays (its links were cut, its neighbours gone): join again.
      onRejoin: () => this.#rejoinSession(),
    });
  }

  /**
   * A fresh swarm session for the same element, player and <video> (the safety net's rejoin rule):
   * the old one is dropped, the player's session numbers start again at 0 with the new one.
   */
  #rejoinSession(): void {
    if (!this.#player || !this.isConnected || this.#destroyed) return;
    this.#carryKey = this.#session?.outside?.streamKey?.() ?? null;
    this.#dropSession();
    this.#player.setStats({ peers: 0, shareFromPeers: 0, bytesUp: 0, bytesDown: 0, mediaBytesDown: 0, framesOnTime: 1 });
    this.reconnectSession();
  }

  #emitStats(): void {
    const s = this.stats;
    if (!s) return;
    if (this.statsOverlay) this.#overlay.update(s);
    this.dispatchEvent(new CustomEvent('stats', { detail: s }));
  }

  #stopFallback(): void {
    this.#fallback?.destroy();
    this.#fallback = null;
  }

  /** Stops playback, drops the session and the player; the element stays inert afterwards. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    liveElements.delete(this);
    this.#dropSession();
    this.#stopFallback();
    this.#player?.destroy();
    this.#player = null;
  }

  /** (Re)attaches a session when tracker or stream change; called by setSessionConnector too. */
  reconnectSession(): void {
    if (!this.#player || !this.isConnected || this.#destroyed) return;
    const key = `${this.tracker}\n${this.stream}\n${this.icePolicy}`;
    if (key === this.#sessionKey && this.#session) return;
    this.#dropSession();
    this.#sessionKey = key;
    const streamKey = this.#carryKey;
    this.#carryKey = null;
    if (!sessionConnector || !this.stream) return;
    try {
      this.#session = sessionConnector({ element: this, player: this.#player, tracker: this.tracker, stream: this.stream, icePolicy: this.icePolicy, quality: this.quality, ...(streamKey ? { streamKey } : {}) });
    } catch (e) {
      this.#emitError(e instanceof P2PError ? e : new P2PError('SESSION_FAILED', String(e)));
    }
  }

  /**
   * Properties set on the element before it was upgraded shadow the class accessors: replay every
   * one the class defines with a setter (an own property would hide the real accessor for good).
   */
  #replayEarlyProperties(): void {
    for (const prop of settableProperties()) {
      if (Object.prototype.hasOwnProperty.call(this, prop)) {
        const value = (this as Record<string, unknown>)[prop];
        delete (this as Record<string, unknown>)[prop];
        (this as Record<string, unknown>)[prop] = value;
      }
    }
  }

  #createPlayer(): void {
    const config: Partial<PlayerConfig> = { backBufferS: DEFAULT_DVR_WINDOW_S, ...this.#config, autoplay: this.hasAttribute('autoplay') };
    const latency = this.getAttribute('target-latency');
    if (latency !== null && Number.isFinite(Number(latency))) config.targetLatencyS = Number(latency);
    let player: MediaPlayer;
    try {
      player = new MediaPlayer(config);
    } catch (e) {
      this.#emitError(e as P2PError);
      player = new MediaPlayer({ autoplay: config.autoplay });
    }
    this.#player = player;
    player.on('status', (s) => {
      this.#showStatus(s);
      if (s === 'error' && !this.#video.error) {
        // The <video> never saw the failure (e.g. a codec MSE lacks): say it as a media element would.
        this.#error = mediaErrorFor(this.#lastErrorCode ?? 'UNKNOWN', this.#state.textContent ?? '');
        this.dispatchEvent(new Event('error'));
      } else if (s === 'playing') this.#error = null;
      this.dispatchEvent(new CustomEvent('statuschange', { detail: s }));
    });
    player.on('stats', () => this.#emitStats());
    player.on('rendition', (r) => {
      const before = this.#rendition;
      this.#rendition = r;
      if (r && (!before || before.playing !== r.playing || before.quality !== r.quality || before.qualities.length !== r.qualities.length)) {
        this.dispatchEvent(new CustomEvent('qualitychange', { detail: { playing: r.playing, quality: r.quality, qualities: r.qualities } }));
      }
    });
    player.on('error', (e) => this.#emitError(e));
    this.#showStatus(player.status);
  }

  #dropSession(): void {
    const s = this.#session;
    this.#session = null;
    this.#sessionKey = '';
    try {
      s?.destroy();
    } catch {
      // a failing session teardown must not break the element
    }
  }

  #showStatus(s: PlayerStatus): void {
    const p2pText = stateText(s, this.stream !== '', this.#lastErrorCode);
    const fb = this.#fallback;
    const text = fb ? sourceStateText(p2pText, fb.stats, fb.webrtc) : p2pText;
    this.#state.textContent = text;
    this.#state.hidden = text === '';
    this.#state.dataset.status = s;
    this.setAttribute('data-status', s);
  }

  #emitError(e: P2PError): void {
    this.#lastErrorCode = e.code;
    if (this.#player?.status === 'error') this.#showStatus('error');
    this.dispatchEvent(new CustomEvent('playererror', { detail: { code: e.code, message: e.message } }));
  }
}

/** Names of every property of the element with a setter (replayed when set before the upgrade). */
function settableProperties(): string[] {
  const out: string[] = [];
  for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(P2PPlayerElement.prototype))) if (d.set) out.push(name);
  return out;
}
