// The DOM-free player core: takes verified frames (any order, with gaps) and session status,
// rebuilds fragments, feeds Media Source Extensions through a one-at-a-time queue, holds the target
// latency, jumps gaps, trims the buffer and reports stats. Creates no elements and knows nothing of
// peers: the <p2p-player> element (or a page) attaches a media element; the session pushes frames.

import { P2PError } from '../errors.ts';
import { TypedEmitter } from '../typed-emitter.ts';
import { FragmentAssembler, type AssembledFragment, type AssemblerOutput } from '../media/fragment-assembler.ts';
import type { MediaFrame } from '../media/frame-format.ts';
import { DownloadMeter } from './download-meter.ts';
import { parseInitSegment, type InitSegmentInfo } from '../media/init-segment.ts';
import { AppendQueue } from './append-queue.ts';
import { LatencyAdapter } from './latency-adapter.ts';
import { decideLatency, rangesOf, waitBudgetMs } from './latency-controller.ts';

/** The playhead standing still this long while playing, with nothing buffered ahead, is a stall. */
const STALL_MS = 300;
/** Frozen time added per tick at most (ticks wait on a busy page; a long gap between them is no measure), ms. */
const MAX_FROZEN_STEP_MS = 5000;
import {
  SESSION_STATUSES,
  resolvePlayerConfig,
  type PlayerConfig,
  type PlayerEvents,
  type PlayerStats,
  type PlayerStatus,
  type SessionStats,
  type SessionStatus,
  type RenditionState,
} from './player-config.ts';

interface Pipeline {
  mediaSource: MediaSource;
  queue: AppendQueue;
  info: InitSegmentInfo;
}

export class MediaPlayer extends TypedEmitter<PlayerEvents> {
  readonly config: PlayerConfig;
  /**
   * This viewer's download meter (packet arrivals while frames are pending; download-meter.ts). The
   * player has no packets: the session glue feeds it (the rendition switcher, from every swarm the
   * viewer is in), and it lives as long as the player, across rendition switches.
   */
  readonly download = new DownloadMeter();
  #assembler = new FragmentAssembler();
  #media: HTMLMediaElement | null = null;
  #ready: Promise<Pipeline | null> = Promise.resolve(null);
  #pipeline: Pipeline | null = null;
  #init: Uint8Array | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #statsTimer: ReturnType<typeof setInterval> | null = null;
  #pumpQueued = false;
  #sessionStatus: SessionStatus = 'waiting-for-broadcaster';
  #status: PlayerStatus = 'idle';
  #ended = false;
  #failed = false;
  #userPaused = false;
  /** Following the live edge (latency control on); false while the viewer watches behind live (DVR). */
  #followLive = true;
  /** The viewer's playback rate while behind live; following live the player sets the rate itself. */
  #userRate = 1;
  #lastFragmentAtMs = -Infinity;
  #epochMs: number | null = null;
  #latencyS: number | null = null;
  #adapter: LatencyAdapter;
  #lastPlayhead = -1;
  #playheadMovedMs = 0;
  /** Time the playhead stood still while playing, past the first STALL_MS of each stop, ms. */
  #frozenMs = 0;
  #lastTickMs: number | null = null;
  #session: SessionStats | null = null;
  #counts = { appended: 0, skipped: 0, seeks: 0, resets: 0 };
  /** Distance behind the buffered edge over the last fragment period: [atMs, seconds]. */
  #lagSamples: Array<[number, number]> = [];
  #appendIntervalMs = 500;
  #destroyed = false;
  /** timestampOffset of the SourceBuffer: 0 until a rendition switch maps another encoder's media time onto this timeline. */
  #offsetS = 0;
  /** A rendition switch under way: the new swarm's frames, until its init segment and first key fragment. */
  #pending: { assembler: FragmentAssembler; init: Uint8Array | null; info: InitSegmentInfo | null; since: number } | null = null;
  #rendition: RenditionState | null = null;
  /** Wall time spent appending per second of media appended, smoothed (the decode / append load). */
  #appendLoad: number | null = null;

  constructor(config: Partial<PlayerConfig> = {}) {
    super();
    this.config = resolvePlayerConfig(config);
    this.#adapter = new LatencyAdapter(this.config);
  }

  get status(): PlayerStatus {
    return this.#status;
  }

  get media(): HTMLMediaElement | null {
    return this.#media;
  }

  /** Connects a <video> (or <audio>) element; the player drives its src, position and rate. */
  attachMedia(media: HTMLMediaElement): void {
    if (this.#destroyed) throw new P2PError('DESTROYED', 'the player was destroyed');
    if (this.#media === media) return;
    this.detachMedia();
    this.#media = media;
    this.#timer = setInterval(() => this.#tick(), this.config.tickMs);
    this.#statsTimer = setInterval(() => this.emit('stats', this.stats), this.config.statsIntervalMs);
    this.#assembler.restart();
    this.#updateStatus();
    this.#schedulePump();
  }

  detachMedia(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#timer = this.#statsTimer = null;
    this.#teardown();
    if (this.#media) {
      this.#media.removeAttribute('src');
      this.#media.load();
    }
    this.#media = null;
  }

  /** Takes one verified frame from the session. Never throws; bad frames are counted. */
  pushFrame(frame: MediaFrame): void {
    if (this.#destroyed) return;
    this.#assembler.pushFrame(frame, performance.now());
    this.#schedulePump();
  }

  /** The download meter's figure, bits per second; null while it has too little to say. */
  get downloadBps(): number | null {
    return this.download.rateBps(performance.now());
  }

  /**
   * Starts a switch to another rendition of the same broadcast: frames of its swarm go to
   * pushSwitchFrame() until its init segment and first key-frame fragment are complete; then that
   * init segment goes into the same SourceBuffer (changeType where the codec string differs), the
   * fragment's media time is mapped onto this timeline by capture time, and from then on pushFrame()
   * takes the new swarm's frames ('switched' event). The old swarm's frames are ignored after it.
   */
  beginSwitch(): void {
    this.#pending = { assembler: new FragmentAssembler(), init: null, info: null, since: performance.now() };
  }

  /** A verified frame of the rendition being switched to. */
  pushSwitchFrame(frame: MediaFrame): void {
    if (this.#destroyed || !this.#pending) return;
    this.#pending.assembler.pushFrame(frame, performance.now());
    this.#schedulePump();
  }

  /** Gives a switch up (the old rendition plays on). */
  cancelSwitch(): void {
    this.#pending = null;
  }

  get switching(): boolean {
    return this.#pending !== null;
  }

  /** What the session says about renditions: shown in stats and the overlay, and the 'rendition' event. */
  setRendition(r: RenditionState | null): void {
    this.#rendition = r;
    this.emit('rendition', r);
  }

  /**
   * Time the picture stood still while playing (not paused, seeking or ended), counted past the
   * first 300 ms of each stop, ms in total: media ahead or not (the browser fell behind decoding, or
   * the stream came late). The quality choice reads its growth over a few seconds.
   */
  get frozenMs(): number {
    return this.#frozenMs;
  }

  /** Measured append load: wall time spent appending per second of media (null before two fragments). */
  get appendLoad(): number | null {
    return this.#appendLoad;
  }

  /** The session's view of the swarm; shown on screen while no media flows. */
  setStatus(status: SessionStatus): void {
    if (!SESSION_STATUSES.includes(status)) return;
    this.#sessionStatus = status;
    this.#updateStatus();
  }

  /** Swarm numbers from the session, merged into 'stats' events. */
  setStats(stats: Partial<SessionStats>): void {
    this.#session = { peers: 0, shareFromPeers: 0, bytesUp: 0, bytesDown: 0, framesOnTime: 1, ...(this.#session ?? {}), ...stats };
  }

  /** Changes the target latency (seconds) while playing; throws P2PError('BAD_CONFIG') when out of range. */
  setTargetLatency(seconds: number): void {
    resolvePlayerConfig({ ...this.config, targetLatencyS: seconds });
    this.config.targetLatencyS = seconds;
    this.#adapter.reset();
  }

  /** Turns autoplay on or off. */
  setAutoplay(on: boolean): void {
    this.config.autoplay = on;
  }

  play(): Promise<void> {
    this.#userPaused = false;
    return this.#media ? this.#media.play() : Promise.resolve();
  }

  pause(): void {
    this.#userPaused = true;
    this.#media?.pause();
  }

  /** True while the player holds the target latency; false after a seek back or a rate change (DVR). */
  get followingLive(): boolean {
    return this.#followLive;
  }

  /**
   * Seeks within the media kept (the DVR window: `backBufferS` behind the playhead). A position more
   * than the catch-up distance behind the live edge stops latency control until goLive(); one near
   * the edge is the same as goLive().
   */
  seek(seconds: number): void {
    const m = this.#media;
    if (!m || !Number.isFinite(seconds)) return;
    const ranges = rangesOf(m.buffered);
    const edge = ranges.length > 0 ? ranges[ranges.length - 1][1] : null;
    if (edge === null || seconds >= edge - (this.config.targetLatencyS + this.config.seekBeyondS)) {
      this.goLive();
      return;
    }
    this.#followLive = false;
    m.currentTime = Math.max(ranges[0][0], seconds);
  }

  /** Back to the live edge at the target latency, rate 1. */
  goLive(): void {
    this.#followLive = true;
    this.#userRate = 1;
    this.#lagSamples = [];
    const m = this.#media;
    if (!m) return;
    const ranges = rangesOf(m.buffered);
    if (ranges.length > 0) m.currentTime = Math.max(ranges[ranges.length - 1][0], ranges[ranges.length - 1][1] - this.config.targetLatencyS);
    m.playbackRate = 1;
  }

  /** The viewer's rate: 1 follows live; any other rate watches off the edge until it catches up. */
  setPlaybackRate(rate: number): void {
    if (!(Number.isFinite(rate) && rate > 0 && rate <= 16)) throw new P2PError('BAD_CONFIG', `playback rate ${rate} is outside (0, 16]`);
    this.#userRate = rate;
    if (rate !== 1) this.#followLive = false;
    if (this.#media) this.#media.playbackRate = rate;
  }

  get stats(): PlayerStats {
    const m = this.#media;
    const c = this.#assembler.counters;
    const q = (m as HTMLVideoElement | null)?.getVideoPlaybackQuality?.();
    const ahead = this.#bufferAheadS();
    const total = this.#counts.appended + this.#counts.skipped;
    return {
      status: this.#status,
      codecs: this.#pipeline?.info.codecs.join(',') ?? null,
      latencyS: this.#latencyS,
      targetLatencyS: this.config.targetLatencyS + this.#adapter.extraS,
      glassToGlassMs: m && this.#epochMs !== null && m.readyState >= 2 ? Date.now() - (this.#epochMs + m.currentTime * 1000) : null,
      bufferAheadS: ahead,
      framesIn: c.framesIn,
      badFrames: c.badFrames + c.badRecords,
      fragmentsAppended: this.#counts.appended,
      fragmentsSkipped: this.#counts.skipped,
      fragmentsOnTime: total === 0 ? 1 : this.#counts.appended / total,
      seeks: this.#counts.seeks,
      resets: this.#counts.resets,
      playbackRate: m?.playbackRate ?? 1,
      decodedFrames: q?.totalVideoFrames ?? 0,
      droppedFrames: q?.droppedVideoFrames ?? 0,
      session: this.#session,
      ...(this.#rendition ? { rendition: this.#rendition } : {}),
    };
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.detachMedia();
    this.#destroyed = true;
    this.removeAllListeners();
  }

  #schedulePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    // Still polled after a failure: a new init segment (a restarted broadcaster) may play here.
    if (!this.#media || this.#destroyed) return;
    const budget = waitBudgetMs(this.#bufferAheadS(), this.config.minWaitMs, this.config.maxWaitMs);
    for (const out of this.#assembler.poll(performance.now(), budget)) this.#handle(out);
    const pend = this.#pending;
    if (!pend) return;
    for (const out of pend.assembler.poll(performance.now(), budget)) {
      if (out.kind === 'init') {
        try {
          pend.info = parseInitSegment(out.bytes);
          pend.init = out.bytes;
        } catch {
          // an init segment we cannot read: wait for the next one
        }
      } else if (out.kind === 'fragment' && pend.init && pend.info && this.#pending === pend) {
        this.#swap(pend.assembler, pend.init, pend.info, out.fragment);
        // The rest of this poll belongs to the new timeline.
        for (const rest of pend.assembler.poll(performance.now(), budget)) this.#handle(rest);
        return;
      }
    }
  }

  /**
   * The switch itself: the new rendition's assembler becomes the player's, its init segment goes to
   * the same SourceBuffer behind what is queued (changeType first when the codec string differs;
   * a fresh MediaSource only where the browser has no changeType), and timestampOffset places its
   * media where the same capture time plays on this timeline, so playback runs on without a seek.
   */
  #swap(assembler: FragmentAssembler, init: Uint8Array, info: InitSegmentInfo, first: AssembledFragment): void {
    this.#pending = null;
    this.#assembler = assembler;
    this.#init = init;
    const epoch = this.#epochMs;
    const offsetS = epoch === null || first.captureTimeMs === null ? 0 : (first.captureTimeMs - epoch - first.mediaTimeMs) / 1000;
    const before = this.#ready;
    this.#ready = before.then(async (p) => {
      if (p && p === this.#pipeline && epoch !== null) {
        try {
          await p.queue.reconfigure((sb) => {
            if (p.info.mimeType !== info.mimeType) {
              if (typeof sb.changeType !== 'function') throw new Error('no SourceBuffer.changeType');
              sb.changeType(info.mimeType);
            }
            sb.timestampOffset = offsetS;
          });
          await p.queue.append(init);
          p.info = info;
          this.#offsetS = offsetS;
          return p;
        } catch {
          // fall through: a new MediaSource with the new init segment (a short stall)
        }
      }
      this.#teardown();
      this.#offsetS = 0;
      this.#epochMs = null;
      return this.#setup(info, init);
    });
    this.#offsetS = offsetS;
    this.#lagSamples = [];
    this.#handle({ kind: 'fragment', fragment: first });
    this.emit('switched', { codecs: info.codecs.join(','), offsetS });
  }

  #handle(out: AssemblerOutput): void {
    if (out.kind === 'init') {
      if (this.#init && sameBytes(this.#init, out.bytes) && this.#pipeline) return;
      if (!this.#init || !sameBytes(this.#init, out.bytes)) {
        // A new init segment: the broadcaster started over (or changed its encoding); so do we.
        this.#ended = false;
        this.#failed = false;
        this.#epochMs = null;
        this.#lagSamples = [];
      }
      this.#init = out.bytes;
      this.#teardown();
      let info: InitSegmentInfo;
      try {
        info = parseInitSegment(out.bytes);
      } catch (e) {
        this.#fail(e as P2PError);
        return;
      }
      this.#ready = this.#setup(info, out.bytes);
    } else if (out.kind === 'fragment') {
      const { index, bytes, mediaTimeMs, captureTimeMs } = out.fragment;
      if (captureTimeMs !== null) this.#epochMs = captureTimeMs - mediaTimeMs - this.#offsetS * 1000;
      void this.#ready.then((p) => p && this.#append(p, bytes, index, mediaTimeMs));
    } else if (out.kind === 'skip') {
      this.#counts.skipped++;
      this.#adapter.trouble(performance.now());
      this.emit('skip', { index: out.index, reason: out.reason });
    } else {
      void this.#ready.then(async (p) => {
        if (!p) return;
        for (let i = 0; i < 100 && p.queue.length > 0; i++) await new Promise((r) => setTimeout(r, 50));
        if (p === this.#pipeline && p.mediaSource.readyState === 'open' && p.queue.length === 0) p.mediaSource.endOfStream();
        this.#ended = true;
        this.#updateStatus();
      });
    }
  }

  async #setup(info: InitSegmentInfo, init: Uint8Array): Promise<Pipeline | null> {
    const media = this.#media;
    if (!media) return null;
    if (typeof MediaSource === 'undefined' || !MediaSource.isTypeSupported(info.mimeType)) {
      this.#fail(new P2PError('UNSUPPORTED_CODEC', `this browser cannot play ${info.mimeType}`));
      return null;
    }
    const mediaSource = new MediaSource();
    const url = URL.createObjectURL(mediaSource);
    media.src = url;
    await new Promise<void>((resolve) => mediaSource.addEventListener('sourceopen', () => resolve(), { once: true }));
    URL.revokeObjectURL(url);
    if (this.#media !== media || media.src !== url) return null;
    const sb = mediaSource.addSourceBuffer(info.mimeType);
    sb.mode = 'segments';
    this.#offsetS = 0;
    const pipeline: Pipeline = { mediaSource, queue: new AppendQueue(sb), info };
    this.#pipeline = pipeline;
    try {
      await pipeline.queue.append(init);
    } catch (e) {
      // A rejected init segment: nothing of this stream can play until a different one arrives.
      if (this.#pipeline === pipeline) this.#fail(e instanceof P2PError ? e : new P2PError('APPEND_FAILED', String(e)));
      return null;
    }
    return pipeline;
  }

  async #append(p: Pipeline, bytes: Uint8Array, index: number, mediaTimeMs: number): Promise<void> {
    if (p !== this.#pipeline) return;
    try {
      await p.queue.append(bytes);
      if (p.queue.lastAppendMs !== null) this.#noteAppend(p.queue.lastAppendMs);
    } catch (e) {
      if (p !== this.#pipeline) return;
      if ((e as P2PError).code === 'BUFFER_FULL' && this.#media) {
        // Make room behind the playhead once, then try again; give the fragment up if it still fails.
        await p.queue.remove(0, Math.max(0, this.#media.currentTime - 1)).catch(() => {});
        try {
          await p.queue.append(bytes);
        } catch {
          this.#counts.skipped++;
          this.emit('skip', { index, reason: 'buffer-full' });
          return;
        }
      } else if ((e as P2PError).code === 'APPEND_FAILED') {
        this.#recover(e as P2PError);
        return;
      } else return;
    }
    this.#counts.appended++;
    const now = performance.now();
    if (Number.isFinite(this.#lastFragmentAtMs)) this.#appendIntervalMs = 0.8 * this.#appendIntervalMs + 0.2 * Math.min(5000, now - this.#lastFragmentAtMs);
    this.#lastFragmentAtMs = now;
    this.emit('fragment', { index, mediaTimeMs, bytes: bytes.length });
    this.#updateStatus();
    this.#tick();
  }

  /** Append time per second of media: the fragments' spacing in media time stands for their duration. */
  #noteAppend(ms: number): void {
    const perS = ms / Math.max(100, this.#appendIntervalMs);
    this.#appendLoad = this.#appendLoad === null ? perS : 0.8 * this.#appendLoad + 0.2 * perS;
  }

  /** A broken SourceBuffer: start again from the init segment and the newest key-frame fragment. */
  #recover(error: P2PError): void {
    this.#counts.resets++;
    this.emit('error', error);
    this.#teardown();
    this.#assembler.restart();
    this.#schedulePump();
  }

  #tick(): void {
    const m = this.#media;
    const p = this.#pipeline;
    if (!m || !p || this.#destroyed) return;
    this.#pump();
    const ranges = rangesOf(m.buffered);
    const now = performance.now();
    const windowMs = Math.min(5000, Math.max(300, 1.5 * this.#appendIntervalMs));
    this.#lagSamples = this.#lagSamples.filter(([at]) => now - at <= windowMs);
    if (ranges.length > 0) this.#lagSamples.push([now, ranges[ranges.length - 1][1] - m.currentTime]);
    const peakLatencyS = this.#lagSamples.length > 0 ? Math.max(...this.#lagSamples.map(([, lag]) => lag)) : undefined;
    // Playing, but the playhead has stood still for a while with nothing ahead of it (a stall): the
    // jitter allowance grows a step. A moment of no data right after play() or a seek is not one.
    // Still with media ahead, the browser fell behind decoding: frozen time all the same.
    const sinceTick = this.#lastTickMs === null ? 0 : now - this.#lastTickMs;
    this.#lastTickMs = now;
    if (m.paused || m.seeking || m.currentTime !== this.#lastPlayhead) {
      this.#lastPlayhead = m.currentTime;
      this.#playheadMovedMs = now;
    } else if (!this.#ended && now - this.#playheadMovedMs > STALL_MS) {
      this.#frozenMs += Math.min(sinceTick, now - this.#playheadMovedMs - STALL_MS, MAX_FROZEN_STEP_MS);
      if (this.#bufferAheadS() < 0.1) this.#adapter.trouble(now);
    }
    const target = this.config.targetLatencyS + this.#adapter.update(now);
    if (!this.#followLive && this.#behindLive(m, ranges)) return this.#updateStatus();
    const stalled = !m.paused && !m.seeking && !this.#ended && now - this.#playheadMovedMs > STALL_MS;
    const d = decideLatency({ currentTime: m.currentTime, ranges, peakLatencyS, stalled }, target === this.config.targetLatencyS ? this.config : { ...this.config, targetLatencyS: target });
    this.#latencyS = d.latencyS;
    if (d.seekTo !== null) this.#lagSamples = [];
    // Playback starts (or starts over): its first seconds' troubles do not raise the target.
    if (d.reason === 'start') this.#adapter.start(now);
    // Paused by the viewer: keep the position (a live stream resumes behind live, then catches up).
    const held = m.paused && this.#userPaused && d.reason !== 'start';
    // A seek still pending towards media that is not (or no longer) buffered never completes: the
    // decision above already points at buffered media, so it replaces that seek.
    const pendingSeekStuck = m.seeking && !ranges.some(([a, b]) => m.currentTime >= a - 0.05 && m.currentTime < b);
    if (d.seekTo !== null && (!m.seeking || pendingSeekStuck) && !held) {
      m.currentTime = d.seekTo;
      this.#counts.seeks++;
    }
    if (!m.paused && m.playbackRate !== d.playbackRate) m.playbackRate = d.playbackRate;
    if (d.removeBefore !== null && p.queue.length === 0) void p.queue.remove(0, d.removeBefore).catch(() => {});
    if (this.config.autoplay && m.paused && !this.#userPaused && !this.#ended && d.latencyS !== null && m.readyState >= 2) this.#autoplay(m);
    this.#updateStatus();
  }

  /**
   * Watching behind live (DVR): gaps are still jumped and the buffer is trimmed `backBufferS` behind
   * the playhead, but the position and the viewer's rate are kept. Returns false (follow live again)
   * once a rate above 1 has caught up with the edge. A playhead left further behind than the window
   * (a long pause) moves to the oldest media kept.
   */
  #behindLive(m: HTMLMediaElement, ranges: ReturnType<typeof rangesOf>): boolean {
    if (ranges.length === 0) return true;
    const edge = ranges[ranges.length - 1][1];
    if (this.#userRate > 1 && edge - m.currentTime <= this.config.targetLatencyS) {
      this.goLive();
      return false;
    }
    this.#latencyS = Math.max(0, edge - m.currentTime);
    const inside = ranges.some(([a, b]) => m.currentTime >= a - 0.1 && m.currentTime < b);
    if (!inside && !m.seeking) {
      const next = ranges.find(([a]) => a > m.currentTime)?.[0] ?? ranges[0][0];
      m.currentTime = next;
      this.#counts.seeks++;
    } else if (edge - m.currentTime > this.config.backBufferS && !m.seeking) {
      m.currentTime = edge - this.config.backBufferS + 1;
      this.#counts.seeks++;
    }
    if (!m.paused && m.playbackRate !== this.#userRate) m.playbackRate = this.#userRate;
    const p = this.#pipeline;
    const trim = m.currentTime - this.config.backBufferS;
    if (p && p.queue.length === 0 && trim > ranges[0][0] + 1) void p.queue.remove(0, trim).catch(() => {});
    if (this.config.autoplay && m.paused && !this.#userPaused && !this.#ended && m.readyState >= 2) this.#autoplay(m);
    return true;
  }

  #autoplay(m: HTMLMediaElement): void {
    m.play().catch((e: { name?: string }) => {
      if (e?.name === 'NotAllowedError' && !m.muted) {
        m.muted = true;
        void m.play().catch(() => {});
      }
    });
  }

  #bufferAheadS(): number {
    const m = this.#media;
    if (!m) return 0;
    const t = m.currentTime;
    for (const [s, e] of rangesOf(m.buffered)) if (t >= s - 0.05 && t < e) return e - t;
    return 0;
  }

  #teardown(): void {
    const p = this.#pipeline;
    this.#pipeline = null;
    this.#ready = Promise.resolve(null);
    if (!p) return;
    p.queue.destroy();
    if (p.mediaSource.readyState === 'open') {
      try {
        p.mediaSource.endOfStream();
      } catch {
        // already closing
      }
    }
  }

  #fail(error: P2PError): void {
    if (this.#failed) return;
    this.#failed = true;
    this.emit('error', error);
    this.#updateStatus();
  }

  #updateStatus(): void {
    let s: PlayerStatus;
    if (this.#failed) s = 'error';
    else if (this.#ended || this.#sessionStatus === 'ended') s = 'ended';
    else if (performance.now() - this.#lastFragmentAtMs < this.config.stalledAfterMs) s = 'playing';
    else s = this.#sessionStatus === 'playing' ? 'waiting-for-broadcaster' : this.#sessionStatus;
    if (s === this.#status) return;
    this.#status = s;
    this.emit('status', s);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
