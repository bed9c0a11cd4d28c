// The broadcaster's media pipeline: captured camera and microphone tracks → WebCodecs encoders
// (through mediabunny's MediaStream sources) → fragmented MP4 with short fragments → frames of at most
// 64 KiB, emitted as 'frame' events. No signing, no network: the session publishes the frames.
// Used by the broadcast page and by the media loopback browser test.

import {
  MediaStreamAudioTrackSource,
  MediaStreamVideoTrackSource,
  Mp4OutputFormat,
  NullTarget,
  Output,
  Quality,
  canEncodeAudio,
  canEncodeVideo,
  type VideoCodec,
} from 'mediabunny';
import { P2PError } from '../errors.ts';
import { TypedEmitter } from '../typed-emitter.ts';
import { FrameCutter } from '../media/frame-cutter.ts';
import { paddedFrameBytes, type MediaFrame } from '../media/frame-format.ts';
import { repairAvcParameterSets } from '../media/avcc-repair.ts';
import { resolveBroadcasterConfig, type BroadcastAudioCodec, type BroadcasterConfig, type BroadcasterOptions, type RenditionConfig } from './broadcaster-config.ts';

export interface BroadcasterStats {
  state: BroadcasterState;
  /** mediabunny's codec family and the MSE MIME type of the output. */
  videoCodec: VideoCodec | null;
  /** The audio codec chosen ('opus' or 'aac'); null without audio. */
  audioCodec: BroadcastAudioCodec | null;
  mimeType: string | null;
  frames: number;
  bytes: number;
  /** Bytes after padding each frame for the feed code; bytes / paddedBytes is the framing efficiency. */
  paddedBytes: number;
  fragments: number;
  initFrames: number;
  /** Frame bytes per second over the last ~2 s, in bits per second. */
  bitrateBps: number;
}

export type BroadcasterState = 'idle' | 'starting' | 'live' | 'stopping' | 'stopped' | 'failed';

export interface BroadcasterEvents {
  frame: (frame: MediaFrame) => void;
  state: (state: BroadcasterState) => void;
  error: (error: P2PError) => void;
}

/** Codec strings used to ask MSE whether a codec family plays back from MP4 here. */
const MSE_PROBE: Record<string, string> = {
  avc: 'avc1.42e01f',
  vp9: 'vp09.00.31.08',
  av1: 'av01.0.04M.08',
  vp8: 'vp8',
};

/**
 * Opus always runs at 48 kHz, and Opus in MP4 must say so (sample entry and track timescale). The
 * muxer takes those figures from the encoder's input rate, so audio at any other rate is resampled
 * to 48 kHz before the encoder. The Opus header's input-sample-rate field then says 48 kHz too:
 * Chromium's MP4 parser rejects a header whose input rate differs from the sample entry's, although
 * RFC 7845 calls that field informational.
 */
export const OPUS_SAMPLE_RATE = 48_000;

/**
 * AAC-LC is written at the microphone's own rate when it is 44.1 or 48 kHz (every AAC player takes
 * those), else resampled to 48 kHz: the MP4 sample entry holds rates up to 65 535 Hz only, and rates
 * such as 16 kHz are not worth a player's odd path.
 */
export function aacSampleRate(trackRate: number | undefined): number {
  return trackRate === 44_100 || trackRate === 48_000 ? trackRate : OPUS_SAMPLE_RATE;
}

/** The rate each audio codec is encoded at, for a microphone at `trackRate` (undefined: not reported). */
export function audioEncodeRate(codec: BroadcastAudioCodec, trackRate: number | undefined): number {
  return codec === 'aac' ? aacSampleRate(trackRate) : OPUS_SAMPLE_RATE;
}

const AUDIO_MSE_PROBE: Record<BroadcastAudioCodec, string> = { opus: 'opus', aac: 'mp4a.40.2' };

let wasmAac: Promise<boolean> | null = null;
/**
 * Registers mediabunny's WASM AAC-LC encoder (FFmpeg's, `@mediabunny/aac-encoder`), loaded on first
 * need so that pages that stay on Opus never download it. False when it cannot load.
 */
function loadWasmAac(): Promise<boolean> {
  return (wasmAac ??= import('@mediabunny/aac-encoder').then(
    (m) => (m.registerAacEncoder(), true),
    () => {
      wasmAac = null; // a chunk that failed to load (a network blip) is tried again next time
      return false;
    },
  ));
}

/**
 * First audio codec of `preference` that this browser encodes and plays back from fragmented MP4.
 * AAC counts as encodable where the browser's WebCodecs lacks it but the WASM encoder loads.
 */
export async function chooseAudioCodec(preference: readonly BroadcastAudioCodec[], numberOfChannels: number, trackRate: number | undefined, bitrateBps: number): Promise<BroadcastAudioCodec> {
  const mse = globalThis.MediaSource;
  for (const codec of preference) {
    if (mse && !mse.isTypeSupported(`audio/mp4; codecs="${AUDIO_MSE_PROBE[codec]}"`)) continue;
    const options = { numberOfChannels, sampleRate: audioEncodeRate(codec, trackRate), quality: new Quality({ bitrate: bitrateBps }) };
    if (await canEncodeAudio(codec, options)) return codec;
    if (codec === 'aac' && (await loadWasmAac()) && (await canEncodeAudio(codec, options))) return codec;
  }
  throw new P2PError('NO_AUDIO_CODEC', `none of ${preference.join(', ')} can be encoded and played back here (broadcast without the microphone, or from another browser)`);
}

/** H.264 constrained baseline at the lowest level that fits the picture. */
export function avcCodecString(width: number, height: number): string {
  const macroblocks = Math.ceil(width / 16) * Math.ceil(height / 16);
  return macroblocks <= 1620 ? 'avc1.42e01e' : macroblocks <= 3600 ? 'avc1.42e01f' : macroblocks <= 8192 ? 'avc1.42e028' : 'avc1.42e033';
}

/** First codec of `preference` that this browser encodes and plays back from fragmented MP4. */
export async function chooseVideoCodec(preference: readonly VideoCodec[], width: number, height: number, bitrateBps: number): Promise<VideoCodec> {
  const mse = globalThis.MediaSource;
  for (const codec of preference) {
    const probe = MSE_PROBE[codec];
    if (mse && probe && !mse.isTypeSupported(`video/mp4; codecs="${probe}"`)) continue;
    if (await canEncodeVideo(codec, { width, height, quality: new Quality({ bitrate: bitrateBps }) })) return codec;
  }
  throw new P2PError('NO_VIDEO_CODEC', `none of ${preference.join(', ')} can be encoded and played back here`);
}

export class MediaBroadcaster extends TypedEmitter<BroadcasterEvents> {
  readonly config: BroadcasterConfig;
  #state: BroadcasterState = 'idle';
  #output: Output | null = null;
  #cutter: FrameCutter;
  #timer: ReturnType<typeof setInterval> | null = null;
  #ftyp: Uint8Array | null = null;
  #moof: { data: Uint8Array; timestamp: number } | null = null;
  #epochMs: number | null = null;
  #hasVideo = false;
  #recent: Array<{ atMs: number; bytes: number }> = [];
  /** The lower renditions' broadcasters (their own encoders), top excluded; empty with one rendition. */
  readonly lower: MediaBroadcaster[] = [];
  #clones: MediaStreamTrack[] = [];
  #stats: BroadcasterStats = {
    state: 'idle', videoCodec: null, audioCodec: null, mimeType: null, frames: 0, bytes: 0, paddedBytes: 0, fragments: 0, initFrames: 0, bitrateBps: 0,
  };

  constructor(config: BroadcasterOptions = {}) {
    super();
    this.config = resolveBroadcasterConfig(config);
    this.#cutter = new FrameCutter({
      frameIntervalMs: this.config.frameIntervalMs,
      maxCarryTicks: this.config.maxCarryTicks,
      initRepeatMs: this.config.initRepeatMs,
      firstSeq: this.config.firstSeq,
    });
    // Each lower rendition: a broadcaster of its own (encoder, cutter, init segment, frames) with this
    // one's settings but the rendition's height and bitrate.
    for (const r of this.config.renditions.slice(1)) {
      const c = this.config;
      this.lower.push(new MediaBroadcaster({
        fragmentDurationS: c.fragmentDurationS, frameIntervalMs: c.frameIntervalMs, maxCarryTicks: c.maxCarryTicks, initRepeatMs: c.initRepeatMs,
        firstSeq: c.firstSeq, startTimeoutMs: c.startTimeoutMs,
        video: { ...c.video!, codecs: [...c.video!.codecs] },
        audio: c.audio && { ...c.audio, codecs: [...c.audio.codecs] },
        renditions: [{ height: r.height, bitrateBps: r.bitrateBps, name: r.name }],
      }));
    }
  }

  /** This broadcaster's rendition (the top one when there are several); null with the default single rendition. */
  get rendition(): RenditionConfig | null {
    return this.config.renditions[0] ?? null;
  }

  get state(): BroadcasterState {
    return this.#state;
  }

  get stats(): BroadcasterStats {
    const now = Date.now();
    this.#recent = this.#recent.filter((r) => now - r.atMs <= 2000);
    const bytes = this.#recent.reduce((n, r) => n + r.bytes, 0);
    return { ...this.#stats, state: this.#state, bitrateBps: Math.round((bytes * 8) / 2) };
  }

  /** Starts encoding the stream's first video and first audio track. Throws P2PError on failure. */
  async start(stream: MediaStream): Promise<void> {
    if (this.#state !== 'idle') throw new P2PError('BAD_STATE', `start() in state ${this.#state}`);
    this.#setState('starting');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const audio = this.config.audio && stream.getAudioTracks().length > 0;
        reject(new P2PError('ENCODER_FAILED', `the encoders did not start within ${this.config.startTimeoutMs / 1000} s${audio ? ' (a microphone this browser cannot read without a running audio output; try without the microphone)' : ''}`));
      }, this.config.startTimeoutMs);
    });
    try {
      // Each lower rendition encodes its own copy of the tracks (scaled to its height by its encoder's transform).
      const lowerStarts = this.lower.map((b) => {
        const clones = stream.getTracks().map((t) => t.clone());
        this.#clones.push(...clones);
        return b.start(new MediaStream(clones));
      });
      await Promise.race([Promise.all([this.#start(stream), ...lowerStarts]), timeout]);
      clearTimeout(timer);
      this.#timer = setInterval(() => this.#tick(), this.config.frameIntervalMs);
      this.#setState('live');
    } catch (e) {
      clearTimeout(timer);
      const err = e instanceof P2PError ? e : new P2PError('ENCODER_FAILED', `cannot start encoding: ${String(e)}`);
      if (this.#output && this.#output.state !== 'finalized' && this.#output.state !== 'canceled') void this.#output.cancel().catch(() => {});
      for (const b of this.lower) b.destroy();
      this.#stopClones();
      this.#fail(err);
      throw err;
    }
  }

  /** Finishes the last fragment, sends it and an end-of-stream frame. */
  async stop(): Promise<void> {
    if (this.#state !== 'live' && this.#state !== 'starting') return;
    this.#setState('stopping');
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    try {
      await this.#output?.finalize();
    } catch {
      // an encoder that already failed has nothing left to flush
    }
    for (const f of this.#cutter.end(Date.now())) this.#emitFrame(f);
    await Promise.all(this.lower.map((b) => b.stop()));
    this.#stopClones();
    this.#setState('stopped');
  }

  #stopClones(): void {
    for (const t of this.#clones.splice(0)) t.stop();
  }

  /** Stops without flushing and drops all listeners. */
  destroy(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#output && this.#output.state !== 'finalized' && this.#output.state !== 'canceled') void this.#output.cancel().catch(() => {});
    for (const b of this.lower) b.destroy();
    this.#stopClones();
    if (this.#state !== 'stopped' && this.#state !== 'failed') this.#setState('stopped');
    this.removeAllListeners();
  }

  async #start(stream: MediaStream): Promise<void> {
    const c = this.config;
    const videoTrack = c.video ? stream.getVideoTracks()[0] : undefined;
    const audioTrack = c.audio ? stream.getAudioTracks()[0] : undefined;
    if (!videoTrack && !audioTrack) throw new P2PError('BAD_CONFIG', 'the stream has no track to broadcast');
    const output = new Output({
      format: new Mp4OutputFormat({
        fastStart: 'fragmented',
        minimumFragmentDuration: c.fragmentDurationS,
        onFtyp: (data) => {
          this.#ftyp = data.slice();
        },
        onMoov: (data) => this.#onInit(data),
        onMoof: (data, _position, timestamp) => {
          this.#moof = { data: data.slice(), timestamp };
        },
        onMdat: (data) => this.#onMdat(data),
      }),
      target: new NullTarget(),
    });
    const noteEpoch = (timestampS: number) => {
      if (this.#epochMs === null) this.#epochMs = Date.now() - timestampS * 1000;
    };
    const sources: Array<MediaStreamVideoTrackSource | MediaStreamAudioTrackSource> = [];
    if (videoTrack && c.video) {
      const s = videoTrack.getSettings();
      const width = c.video.width ?? s.width ?? 640;
      const height = c.video.height ?? s.height ?? 480;
      const codec = await chooseVideoCodec(c.video.codecs, width, height, c.video.bitrateBps);
      this.#stats.videoCodec = codec;
      const source = new MediaStreamVideoTrackSource(
        videoTrack as MediaStreamVideoTrack,
        {
          codec,
          quality: new Quality({ bitrate: c.video.bitrateBps }),
          keyFrameInterval: c.video.keyFrameIntervalS,
          latencyMode: 'realtime',
          sizeChangeBehavior: 'contain',
          // With renditions, each encoder scales the picture to its rendition's height (width by aspect).
          ...(c.renditions.length > 0 ? { transform: { height: c.renditions[0].height } } : {}),
          ...(codec === 'avc' ? { fullCodecString: avcCodecString(width, height) } : {}),
          onEncodedSample: (sample) => noteEpoch(sample.timestamp),
        },
        { frameRate: c.video.frameRate },
      );
      output.addVideoTrack(source, { frameRate: c.video.frameRate });
      sources.push(source);
      this.#hasVideo = true;
    }
    if (audioTrack && c.audio) {
      const settings = audioTrack.getSettings();
      const rate = settings.sampleRate;
      const codec = await chooseAudioCodec(c.audio.codecs, settings.channelCount ?? 2, rate, c.audio.bitrateBps);
      this.#stats.audioCodec = codec;
      const encodeRate = audioEncodeRate(codec, rate);
      const source = new MediaStreamAudioTrackSource(audioTrack as MediaStreamAudioTrack, {
        codec,
        quality: new Quality({ bitrate: c.audio.bitrateBps }),
        // A browser that does not report the rate is resampled too (a no-op at the encode rate).
        ...(rate === encodeRate ? {} : { transform: { sampleRate: encodeRate } }),
        onEncodedSample: (sample) => noteEpoch(sample.timestamp),
      });
      output.addAudioTrack(source);
      sources.push(source);
    }
    const failed = Promise.race(sources.map((s) => s.errorPromise)).then(
      () => undefined,
      (e: unknown) => {
        const err = new P2PError('ENCODER_FAILED', `encoding failed: ${String(e)}`);
        this.#fail(err);
        throw err;
      },
    );
    failed.catch(() => {});
    this.#output = output;
    await Promise.race([output.start(), failed]);
    this.#stats.mimeType = await output.getMimeType().catch(() => null);
  }

  #onInit(written: Uint8Array): void {
    const ftyp = this.#ftyp ?? new Uint8Array(0);
    let moov = written;
    try {
      // Firefox's H.264 encoder doubles the NAL header byte of its SPS and PPS; Chromium cannot decode that.
      moov = repairAvcParameterSets(written);
    } catch {
      // unreadable boxes: sent as written (the player reports what it cannot use)
    }
    // A 'free' box with 16 random bytes after the moov makes every broadcast's init segment unique,
    // so that players can tell a broadcaster that started over (fragments from 0 again) from a re-send.
    const free = new Uint8Array(24);
    new DataView(free.buffer).setUint32(0, free.length);
    free.set([0x66, 0x72, 0x65, 0x65], 4);
    crypto.getRandomValues(free.subarray(8));
    const init = new Uint8Array(ftyp.length + moov.length + free.length);
    init.set(ftyp, 0);
    init.set(moov, ftyp.length);
    init.set(free, ftyp.length + moov.length);
    try {
      this.#emitFrame(this.#cutter.setInit(init, Date.now()));
    } catch (e) {
      this.#fail(e instanceof P2PError ? e : new P2PError('BAD_INIT_SEGMENT', String(e)));
    }
  }

  #onMdat(mdat: Uint8Array): void {
    const moof = this.#moof;
    this.#moof = null;
    if (!moof) return;
    const bytes = new Uint8Array(moof.data.length + mdat.length);
    bytes.set(moof.data, 0);
    bytes.set(mdat, moof.data.length);
    const mediaTimeMs = Math.max(0, Math.round(moof.timestamp * 1000));
    this.#stats.fragments++;
    try {
      this.#cutter.pushFragment({
        bytes,
        // mediabunny starts every fragment of a stream with video on a key frame; audio-only is all key.
        keyFrame: true,
        mediaTimeMs,
        captureTimeMs: (this.#epochMs ?? Date.now()) + mediaTimeMs,
      });
    } catch (e) {
      this.#fail(e instanceof P2PError ? e : new P2PError('BAD_FRAGMENT', String(e)));
      return;
    }
    // Without carry-over nothing is gained by waiting for the next tick.
    if (this.config.maxCarryTicks === 0 && this.#state === 'live') this.#tick();
  }

  #tick(): void {
    if (this.#state !== 'live') return;
    for (const f of this.#cutter.tick(Date.now())) this.#emitFrame(f);
  }

  #emitFrame(frame: MediaFrame): void {
    this.#stats.frames++;
    this.#stats.bytes += frame.bytes.length;
    this.#stats.paddedBytes += paddedFrameBytes(frame.bytes.length);
    if (frame.flags & 2) this.#stats.initFrames++;
    this.#recent.push({ atMs: Date.now(), bytes: frame.bytes.length });
    this.emit('frame', frame);
  }

  #fail(error: P2PError): void {
    if (this.#state === 'failed' || this.#state === 'stopped') return;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#setState('failed');
    this.emit('error', error);
    void this.#hasVideo;
  }

  #setState(state: BroadcasterState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }
}
