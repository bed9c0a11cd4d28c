// <p2p-player>: a thin custom element over the DOM-free MediaPlayer. Owns the shadow DOM (a <video>,
// the on-screen state, the optional stats overlay), <video>-like properties, methods and events, and
// the seam where a session attaches (setSessionConnector). It does not import session code and does
// not call customElements.define (define-p2p-player.ts does).

import { P2PError } from '../errors.ts';
import { MediaPlayer } from './media-player.ts';
import { DEFAULT_PLAYER_CONFIG, type PlayerConfig, type PlayerStats, type PlayerStatus } from './player-config.ts';
import { StatsOverlay } from './stats-overlay.ts';
import { HlsFallback, defaultFallbackUrl } from './hls-fallback.ts';

export const OBSERVED_ATTRIBUTES = ['tracker', 'stream', 'autoplay', 'muted', 'controls', 'target-latency', 'stats-overlay', 'fallback', 'fallback-url'] as const;
export type P2PPlayerAttribute = (typeof OBSERVED_ATTRIBUTES)[number];

/** Media events of the inner <video> re-dispatched on the element. */
export const MEDIA_EVENTS = [
  'abort', 'canplay', 'canplaythrough', 'durationchange', 'emptied', 'ended', 'error', 'loadeddata', 'loadedmetadata',
  'loadstart', 'pause', 'play', 'playing', 'progress', 'ratechange', 'resize', 'seeked', 'seeking', 'stalled',
  'suspend', 'timeupdate', 'volumechange', 'waiting',
] as const;

/** Properties that may be set on the element before it is upgraded; they are replayed. */
const UPGRADE_PROPERTIES = ['tracker', 'stream', 'autoplay', 'muted', 'controls', 'targetLatency', 'statsOverlay', 'volume', 'config'] as const;

/** What a session gets when the element asks for one. */
export interface SessionRequest {
  element: P2PPlayerElement;
  player: MediaPlayer;
  tracker: string;
  stream: string;
}

/** Attaches a session to a player; the returned handle is destroyed when tracker or stream change. */
export type SessionConnector = (request: SessionRequest) => { destroy(): void };

let sessionConnector: SessionConnector | null = null;

/** Installs the session seam: every connected <p2p-player> with a stream gets a session from it. */
export function setSessionConnector(connector: SessionConnector | null): void {
  sessionConnector = connector;
  for (const el of liveElements) el.reconnectSession();
}

const liveElements = new Set<P2PPlayerElement>();

export const STATUS_TEXT: Record<PlayerStatus, string> = {
  idle: '',
  playing: '',
  'waiting-for-broadcaster': 'Waiting for the broadcaster…',
  ended: 'The broadcast has ended',
  'tracker-unreachable': 'Cannot reach the tracker',
  'no-peers': 'No peers reachable',
  error: 'This stream cannot be played here',
};

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
  #session: { destroy(): void } | null = null;
  #sessionKey = '';
  #destroyed = false;
  #fallback: HlsFallback | null = null;

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
      case 'tracker':
      case 'stream':
        this.reconnectSession();
        this.#restartFallback();
        break;
      case 'fallback':
      case 'fallback-url':
        this.#restartFallback();
        break;
    }
  }

  // --- attributes as properties ---
  get tracker(): string { return this.getAttribute('tracker') ?? ''; }
  set tracker(v: string) { this.setAttribute('tracker', String(v)); }
  get stream(): string { return this.getAttribute('stream') ?? ''; }
  set stream(v: string) { this.setAttribute('stream', String(v)); }
  get autoplay(): boolean { return this.hasAttribute('autoplay'); }
  set autoplay(v: boolean) { this.toggleAttribute('autoplay', Boolean(v)); }
  get muted(): boolean { return this.#video.muted; }
  set muted(v: boolean) { this.#video.muted = Boolean(v); }
  get controls(): boolean { return this.hasAttribute('controls'); }
  set controls(v: boolean) { this.toggleAttribute('controls', Boolean(v)); }
  get statsOverlay(): boolean { return this.hasAttribute('stats-overlay'); }
  set statsOverlay(v: boolean) { this.toggleAttribute('stats-overlay', Boolean(v)); }
  get targetLatency(): number { return this.#player?.config.targetLatencyS ?? this.#config.targetLatencyS ?? DEFAULT_PLAYER_CONFIG.targetLatencyS; }
  set targetLatency(v: number) { this.setAttribute('target-latency', String(v)); }

  // --- <video>-like surface ---
  get volume(): number { return this.#video.volume; }
  set volume(v: number) { this.#video.volume = v; }
  get currentTime(): number { return this.#video.currentTime; }
  set currentTime(v: number) { this.#video.currentTime = v; }
  get paused(): boolean { return this.#video.paused; }
  get ended(): boolean { return this.#player?.status === 'ended'; }
  get readyState(): number { return this.#video.readyState; }
  get buffered(): TimeRanges { return this.#video.buffered; }
  get videoWidth(): number { return this.#video.videoWidth; }
  get videoHeight(): number { return this.#video.videoHeight; }
  get playbackRate(): number { return this.#video.playbackRate; }
  getVideoPlaybackQuality(): VideoPlaybackQuality { return this.#video.getVideoPlaybackQuality(); }
  play(): Promise<void> { return this.#player ? this.#player.play() : this.#video.play(); }
  pause(): void { if (this.#player) this.#player.pause(); else this.#video.pause(); }

  /** Player options read when the player is made (at first connect); set it before adding the element. */
  get config(): Partial<PlayerConfig> { return { ...this.#config }; }
  set config(v: Partial<PlayerConfig>) { this.#config = { ...(v ?? {}) }; }

  /** The DOM-free player core: the session pushes frames and status into it. */
  get player(): MediaPlayer | null { return this.#player; }
  /** The inner <video>. */
  get video(): HTMLVideoElement { return this.#video; }
  get status(): PlayerStatus { return this.#player?.status ?? 'idle'; }
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
  /** Which path plays now: 'p2p', 'http' (hls.js) or 'native-hls'. */
  get sourcePath(): string { return this.#fallback?.path ?? 'p2p'; }

  #restartFallback(): void {
    this.#stopFallback();
    if (!this.#player || !this.isConnected || this.#destroyed || this.fallback === 'none' || !this.stream || !this.fallbackUrl) return;
    this.#fallback = new HlsFallback({
      video: this.#video,
      player: this.#player,
      url: this.fallbackUrl,
      onSourceChange: (detail) => this.dispatchEvent(new CustomEvent('sourcechange', { detail })),
      // The P2P player is detached while HTTP plays, so its stats timer is quiet: the safety net ticks instead.
      onHttpStats: () => this.#emitStats(),
      onError: (message) => this.#emitError(new P2PError('FALLBACK_FAILED', message)),
    });
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
    const key = `${this.tracker}\n${this.stream}`;
    if (key === this.#sessionKey && this.#session) return;
    this.#dropSession();
    this.#sessionKey = key;
    if (!sessionConnector || !this.stream) return;
    try {
      this.#session = sessionConnector({ element: this, player: this.#player, tracker: this.tracker, stream: this.stream });
    } catch (e) {
      this.#emitError(e instanceof P2PError ? e : new P2PError('SESSION_FAILED', String(e)));
    }
  }

  /** Properties set on the element before it was upgraded shadow the class accessors: replay them. */
  #replayEarlyProperties(): void {
    for (const prop of UPGRADE_PROPERTIES) {
      if (Object.prototype.hasOwnProperty.call(this, prop)) {
        const value = (this as Record<string, unknown>)[prop];
        delete (this as Record<string, unknown>)[prop];
        (this as Record<string, unknown>)[prop] = value;
      }
    }
  }

  #createPlayer(): void {
    const config: Partial<PlayerConfig> = { ...this.#config, autoplay: this.hasAttribute('autoplay') };
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
      this.dispatchEvent(new CustomEvent('statuschange', { detail: s }));
    });
    player.on('stats', () => this.#emitStats());
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
    const text = STATUS_TEXT[s] ?? '';
    this.#state.textContent = text;
    this.#state.hidden = text === '';
    this.#state.dataset.status = s;
    this.setAttribute('data-status', s);
  }

  #emitError(e: P2PError): void {
    this.dispatchEvent(new CustomEvent('playererror', { detail: { code: e.code, message: e.message } }));
  }
}
