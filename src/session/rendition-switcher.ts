// A viewer of a broadcast with renditions: one ViewerSession for the rendition that plays, a second
// one while switching. Learns the rendition list from the swarm (the signed list), chooses with the
// QualityChooser when the quality is 'auto' (a fixed quality is kept), joins the other rendition's
// swarm, lets the player land the switch at that swarm's first key-frame fragment, then leaves the
// old swarm. Feeds the player's download meter from every session's media packets and delivered
// frames. Clock and sockets live in the sessions; the choice is the pure chooser's.
// Used by connect-player.ts (the <p2p-player> session connector).

import { P2PError } from '../errors.ts';
import { renditionSwarmId, type RenditionInfo } from '../media/renditions.ts';
import type { MediaPlayer } from '../player/media-player.ts';
import type { RenditionState } from '../player/player-config.ts';
import { QualityChooser, checkQualityText, effectiveLevels, startQuality, type QualityMeasures } from '../player/quality-chooser.ts';
import type { ViewerSession } from './viewer-session.ts';

/** Dropped frames and frozen time count over this long (the chooser's dropped and frozen shares), ms. */
const QUALITY_WINDOW_MS = 4000;
/** Fewer decoded frames than this in the window give no dropped share. */
const DROPPED_MIN_FRAMES = 30;
/** A window shorter than this gives no frozen share, ms. */
const FROZEN_MIN_MS = 2000;

export interface RenditionSwitcherOptions {
  player: MediaPlayer;
  /** The watch link's stream id (the top rendition's swarm, and what the key hashes to). */
  streamId: string;
  /** Makes a session for a swarm (the connector's transport and options). */
  makeSession: (swarmId: string, extra: { keyStreamId: string; renditionMessage?: Uint8Array; onMediaPacket: (seq: number, bytes: number, nowMs: number) => void }) => Promise<ViewerSession>;
  /** Called for each session that becomes the playing one (status and stats wiring). */
  onActive: (session: ViewerSession) => void;
  /** The first session could not start (e.g. the page refused the tracker socket). */
  onError?: (error: unknown) => void;
  /** 'auto' (default) or a rendition's name. */
  quality?: string;
  /** How often 'auto' reconsiders, ms. Default 1000. */
  chooseEveryMs?: number;
  /** A switch not landed by then is given up (the old rendition plays on), ms. Default 30 000. */
  switchTimeoutMs?: number;
  /** Download rate the browser reports (navigator.connection.downlink), bits per second; null when none. */
  downlinkBps?: () => number | null;
}

export class RenditionSwitcher {
  readonly #o: RenditionSwitcherOptions;
  readonly #chooser = new QualityChooser();
  #active: ViewerSession | null = null;
  #pending: { session: ViewerSession | null; name: string; timer: ReturnType<typeof setTimeout> } | null = null;
  #list: RenditionInfo[] | null = null;
  #playing: string | null = null;
  #quality: string;
  #switches = 0;
  #troubles = 0;
  /** Sessions opened so far: each one's frame keys in the download meter are numbered apart. */
  #opened = 0;
  #lastQuality: { decoded: number; dropped: number; frozenMs: number; atMs: number } | null = null;
  /** Per tick over the last QUALITY_WINDOW_MS (since the last switch landed): frames decoded and dropped, time frozen and elapsed. */
  #window: Array<{ atMs: number; decoded: number; dropped: number; frozenMs: number; wallMs: number }> = [];
  /** The playing session's media bytes received at the last tick, and the smoothed stream rate (bits/s). */
  #lastBytes: { session: ViewerSession | null; bytes: number; atMs: number } = { session: null, bytes: 0, atMs: 0 };
  #streamBps: number | null = null;
  #listAtMs = 0;
  #lastAuto: RenditionState['lastAuto'];
  #timer: ReturnType<typeof setInterval>;
  #started = false;
  #destroyed = false;
  /** A fragment given up: the viewer fell behind. */
  readonly #onTrouble = () => void this.#troubles++;
  readonly #onSwitched = () => this.#landed();

  constructor(options: RenditionSwitcherOptions) {
    this.#o = options;
    this.#quality = checkQualityText(options.quality ?? 'auto');
    options.player.on('skip', this.#onTrouble);
    options.player.on('switched', this.#onSwitched);
    this.#timer = setInterval(() => this.#tick(), options.chooseEveryMs ?? 1000);
    void this.#open(options.streamId, null).then((s) => {
      if (!s) return;
      this.#active = s;
      options.onActive(s);
    }, (e: unknown) => {
      // Nothing can play: leave nothing running.
      this.destroy();
      options.onError?.(e);
    });
  }

  get qualities(): RenditionInfo[] {
    return this.#list ? this.#list.map((r) => ({ ...r })) : [];
  }

  get playing(): string | null {
    return this.#playing;
  }

  get active(): ViewerSession | null {
    return this.#active;
  }

  /** 'auto', or a rendition's name; throws P2PError('UNKNOWN_QUALITY') for a name the broadcast does not have. */
  setQuality(quality: string): void {
    const q = checkQualityText(quality);
    if (q !== 'auto' && this.#list && !this.#list.some((r) => r.name === q)) {
      throw new P2PError('UNKNOWN_QUALITY', `no rendition named ${q}; this broadcast has ${this.#list.map((r) => r.name).join(', ')}`);
    }
    this.#quality = q;
    this.#report();
    if (q !== 'auto') this.#switchTo(q);
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearInterval(this.#timer);
    this.#o.player.off('skip', this.#onTrouble);
    this.#o.player.off('switched', this.#onSwitched);
    this.#cancelPending();
    this.#active?.destroy();
    this.#active = null;
  }

  // ---- internals ----------------------------------------------------------------------------

  async #open(swarmId: string, message: Uint8Array | null): Promise<ViewerSession | null> {
    let s: ViewerSession;
    // The download meter sees every swarm the viewer is in (one link carries them all): a frame is
    // pending from its first packet until its session delivers it. Keys: session number · 2³² + seq.
    const meter = this.#o.player.download;
    const base = (this.#opened++ % 2 ** 20) * 2 ** 32;
    const onMediaPacket = (seq: number, bytes: number, nowMs: number) => meter.packet(base + seq, bytes, nowMs);
    try {
      s = await this.#o.makeSession(swarmId, { keyStreamId: this.#o.streamId, onMediaPacket, ...(message ? { renditionMessage: message } : {}) });
    } catch (e) {
      if (this.#active === null && this.#pending === null) throw e;
      return null; // a second swarm that cannot be joined: the one playing stays
    }
    if (this.#destroyed) {
      s.destroy();
      return null;
    }
    s.on('frame', (f) => {
      meter.frameDone(base + f.seq, performance.now());
      if (s === this.#active) this.#o.player.pushFrame(f);
      else if (s === this.#pending?.session) this.#o.player.pushSwitchFrame(f);
    });
    s.on('renditions', (list) => this.#onList(list));
    if (s.renditions) this.#onList(s.renditions);
    return s;
  }

  #onList(list: RenditionInfo[]): void {
    if (this.#list) return;
    this.#list = list;
    this.#playing ??= list[0].name;
    this.#report();
    if (this.#quality !== 'auto') {
      if (!list.some((r) => r.name === this.#quality)) this.#quality = 'auto';
      else return this.#switchTo(this.#quality);
    }
    this.#started = false;
    this.#listAtMs = performance.now();
  }

  #measures(nowMs: number): QualityMeasures {
    const p = this.#o.player;
    const s = p.stats;
    const last = this.#lastQuality;
    this.#lastQuality = { decoded: s.decodedFrames, dropped: s.droppedFrames, frozenMs: p.frozenMs, atMs: nowMs };
    // Dropped frames and frozen time over a few seconds, not one: a second of 30 frames with 5
    // dropped is a hiccup of a busy machine, not a viewer that cannot keep up (counters that went
    // back: a new element).
    if (last) {
      const d = { atMs: nowMs, decoded: s.decodedFrames - last.decoded, dropped: s.droppedFrames - last.dropped, frozenMs: p.frozenMs - last.frozenMs, wallMs: nowMs - last.atMs };
      if (d.decoded < 0 || d.dropped < 0) this.#window = [];
      else this.#window.push(d);
    }
    while (this.#window.length > 0 && nowMs - this.#window[0].atMs > QUALITY_WINDOW_MS) this.#window.shift();
    let decoded = 0;
    let dropped = 0;
    let frozenMs = 0;
    let wallMs = 0;
    for (const w of this.#window) {
      decoded += w.decoded;
      dropped += w.dropped;
      frozenMs += w.frozenMs;
      wallMs += w.wallMs;
    }
    const troubles = this.#troubles;
    this.#troubles = 0;
    return {
      nowMs,
      // Measured from the swarm's deliveries; the browser's estimate where nothing was measured yet.
      downloadBps: p.downloadBps ?? this.#o.downlinkBps?.() ?? null,
      decodeLoad: p.appendLoad,
      droppedShare: decoded >= DROPPED_MIN_FRAMES ? dropped / decoded : null,
      frozenShare: wallMs >= FROZEN_MIN_MS ? Math.min(1, frozenMs / wallMs) : null,
      troubles,
    };
  }

  #tick(): void {
    if (this.#destroyed || !this.#list || this.#list.length < 2 || this.#playing === null) return;
    const now = performance.now();
    const m = this.#measures(now);
    this.#measureStream(now);
    if (this.#quality !== 'auto' || this.#pending) return;
    const levels = effectiveLevels(this.#list, Math.max(0, this.#list.findIndex((r) => r.name === this.#playing)), this.#streamBps);
    const cur = levels.findIndex((r) => r.name === this.#playing);
    let next: number;
    if (!this.#started) {
      // The start: what the download rate and the decode time measured so far allow, once the
      // playing rendition's real rate is known (a few seconds at most).
      if (this.#streamBps === null && now - this.#listAtMs < 5000) return;
      this.#started = true;
      next = startQuality(levels, cur, m);
      this.#chooser.switched(now);
    } else next = this.#chooser.choose(levels, cur, m);
    if (next !== cur) {
      this.#lastAuto = { from: levels[cur].name, to: levels[next].name, downloadBps: m.downloadBps, streamBps: this.#streamBps, decodeLoad: m.decodeLoad, droppedShare: m.droppedShare, frozenShare: m.frozenShare ?? null, troubles: m.troubles };
      this.#switchTo(levels[next].name);
    }
  }

  /**
   * The rate the playing rendition really costs this viewer: its session's media bytes as they came
   * (pieces with their headers and the code's redundancy), the same bytes the download meter counts.
   */
  #measureStream(now: number): void {
    const s = this.#active;
    if (!s) return;
    const bytes = s.stats.mediaBytesDown;
    const last = this.#lastBytes;
    this.#lastBytes = { session: s, bytes, atMs: now };
    if (last.session !== s) {
      this.#streamBps = null; // another rendition: measure it afresh
      return;
    }
    if (now - last.atMs < 200 || bytes < last.bytes) return;
    const bps = ((bytes - last.bytes) * 8 * 1000) / (now - last.atMs);
    this.#streamBps = this.#streamBps === null ? bps : 0.8 * this.#streamBps + 0.2 * bps;
  }

  #switchTo(name: string): void {
    if (this.#destroyed || !this.#list) return;
    if (this.#pending?.name === name) return;
    this.#cancelPending();
    if (name === this.#playing) return this.#report();
    const timer = setTimeout(() => this.#cancelPending(), this.#o.switchTimeoutMs ?? 30_000);
    const pending: { session: ViewerSession | null; name: string; timer: ReturnType<typeof setTimeout> } = { session: null, name, timer };
    this.#pending = pending;
    this.#o.player.beginSwitch();
    this.#report();
    const message = this.#active?.renditionMessage ?? null;
    void (async () => {
      const swarmId = name === this.#list![0].name ? this.#o.streamId : await renditionSwarmId(this.#o.streamId, name);
      const s = await this.#open(swarmId, message);
      if (!s) return;
      if (this.#pending !== pending) return s.destroy();
      pending.session = s;
    })();
  }

  #landed(): void {
    const p = this.#pending;
    if (!p || !p.session) return;
    clearTimeout(p.timer);
    this.#pending = null;
    const old = this.#active;
    this.#active = p.session;
    this.#playing = p.name;
    this.#switches++;
    // The other rendition's drops and freezes (and the switch's own moment) say nothing of this one.
    this.#window = [];
    this.#lastQuality = null;
    this.#chooser.switched(performance.now());
    this.#o.onActive(p.session);
    // The new swarm plays: leave the old one.
    old?.destroy();
    this.#report();
  }

  #cancelPending(): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = null;
    clearTimeout(p.timer);
    this.#o.player.cancelSwitch();
    p.session?.destroy();
    this.#report();
  }

  #report(): void {
    if (!this.#list || this.#playing === null) return;
    this.#o.player.setRendition({
      qualities: this.qualities,
      playing: this.#playing,
      quality: this.#quality,
      switchingTo: this.#pending?.name ?? null,
      switches: this.#switches,
      ...(this.#lastAuto ? { lastAuto: this.#lastAuto } : {}),
    });
  }
}
