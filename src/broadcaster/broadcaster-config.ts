// The broadcaster's one typed config: defaults field by field with units in the names, and a
// resolve step that rejects bad combinations with a precise P2PError('BAD_CONFIG'). Pure.
// Used by MediaBroadcaster and the broadcast page.

import type { AudioCodec, VideoCodec } from 'mediabunny';
import { P2PError } from '../errors.ts';
import { MAX_RENDITIONS, RENDITION_NAME_RE, renditionName } from '../media/renditions.ts';

export interface VideoConfig {
  /** Encoded size; undefined takes the camera's. */
  width?: number;
  height?: number;
  frameRate: number;
  bitrateBps: number;
  /** A key frame (and so a new fragment) this often, seconds. */
  keyFrameIntervalS: number;
  /** Codec families in order of preference; the first one this browser encodes and plays is used. */
  codecs: VideoCodec[];
}

/** Audio codecs the broadcaster writes: Opus (every browser's WebCodecs) and AAC-LC (natively where the browser has it, else a WASM encoder loaded on demand). */
export type BroadcastAudioCodec = Extract<AudioCodec, 'opus' | 'aac'>;

export interface AudioConfig {
  bitrateBps: number;
  /**
   * Codecs in order of preference; the first one this browser encodes and plays back from MP4 is
   * used. Default ['opus', 'aac']: Opus where it works, AAC where Opus cannot be encoded or played
   * (players and HLS clients that take only AAC: put 'aac' first).
   */
  codecs: BroadcastAudioCodec[];
}

export interface BroadcasterConfig {
  /** null: no video. */
  video: VideoConfig | null;
  /** null: no audio. */
  audio: AudioConfig | null;
  /** Shortest fragment, seconds; fragments close on the first key frame after it. Default 0.5. */
  fragmentDurationS: number;
  /** How often frames are closed, ms. Default 100. */
  frameIntervalMs: number;
  /**
   * Ticks a byte may wait to fill an 8 KiB multiple. Default 0: the muxer hands over whole fragments,
   * so a carried remainder is always a fragment's tail and would only delay that fragment; with 0 each
   * fragment is framed the moment it is complete.
   */
  maxCarryTicks: number;
  /** Init segment sent again this often, ms. Default 2000. */
  initRepeatMs: number;
  /** Sequence number of the first frame. Default 0 (the session may continue a previous numbering). */
  firstSeq: number;
  /**
   * start() fails with ENCODER_FAILED when the encoders have not started by then, ms. Default 15 000:
   * an audio track that never delivers samples (Firefox's microphone path needs a running
   * AudioContext, which a machine without audio output never gets) would otherwise hang for good.
   */
  startTimeoutMs: number;
  /**
   * Renditions, top first: each its own encoder (the picture scaled to its height) and its own swarm
   * under the same stream key (`docs/media.md`, Renditions). Empty (the default): one rendition at
   * `video`'s size and bitrate, as without this option.
   */
  renditions: RenditionConfig[];
}

/** One rendition as resolved: name (default `<height>p`), encoded height, video bitrate. */
export interface RenditionConfig {
  name: string;
  height: number;
  bitrateBps: number;
}

/** What callers pass per rendition: the height; bitrate and name default. */
export interface RenditionOptions {
  height: number;
  /** Default: the top rendition's bitrate scaled by the picture area, at least 100 000. */
  bitrateBps?: number;
  name?: string;
}

/** What callers pass: any field left out takes its default, within `video` and `audio` too. */
export type BroadcasterOptions = Partial<Omit<BroadcasterConfig, 'video' | 'audio' | 'renditions'>> & {
  video?: Partial<VideoConfig> | null;
  audio?: Partial<AudioConfig> | null;
  /** e.g. `[{ height: 720 }, { height: 360, bitrateBps: 400_000 }]`; top first, 1 … 4. */
  renditions?: RenditionOptions[];
};

export const DEFAULT_VIDEO_CONFIG: VideoConfig = {
  frameRate: 30,
  bitrateBps: 1_500_000,
  keyFrameIntervalS: 0.5,
  codecs: ['avc', 'vp9', 'av1', 'vp8'],
};

export const DEFAULT_BROADCASTER_CONFIG: BroadcasterConfig = {
  video: DEFAULT_VIDEO_CONFIG,
  audio: { bitrateBps: 64_000, codecs: ['opus', 'aac'] },
  fragmentDurationS: 0.5,
  frameIntervalMs: 100,
  maxCarryTicks: 0,
  initRepeatMs: 2000,
  firstSeq: 0,
  startTimeoutMs: 15_000,
  renditions: [],
};

const KNOWN_CODECS: readonly string[] = ['avc', 'vp9', 'av1', 'vp8', 'hevc'];
const KNOWN_AUDIO_CODECS: readonly string[] = ['opus', 'aac'];

export function resolveBroadcasterConfig(partial: BroadcasterOptions = {}): BroadcasterConfig {
  const video = partial.video === null ? null : { ...DEFAULT_VIDEO_CONFIG, ...(partial.video ?? {}) };
  const audio = partial.audio === null ? null : { ...DEFAULT_BROADCASTER_CONFIG.audio!, ...(partial.audio ?? {}) };
  const bad = (msg: string): never => {
    throw new P2PError('BAD_CONFIG', msg);
  };
  const renditions = resolveRenditions(partial.renditions, video);
  if (renditions.length > 0 && video) {
    video.height = renditions[0].height;
    video.width = undefined;
    video.bitrateBps = renditions[0].bitrateBps;
  }
  const c: BroadcasterConfig = { ...DEFAULT_BROADCASTER_CONFIG, ...partial, video, audio, renditions } as BroadcasterConfig;
  if (!c.video && !c.audio) bad('video and audio are both off');
  if (c.video) {
    const v = c.video;
    if (!(v.frameRate >= 1 && v.frameRate <= 120)) bad(`video.frameRate ${v.frameRate} is outside 1 … 120`);
    if (!(v.bitrateBps >= 50_000 && v.bitrateBps <= 50_000_000)) bad(`video.bitrateBps ${v.bitrateBps} is outside 50 000 … 50 000 000`);
    if (!(v.keyFrameIntervalS >= 0.1 && v.keyFrameIntervalS <= 10)) bad(`video.keyFrameIntervalS ${v.keyFrameIntervalS} is outside 0.1 … 10`);
    for (const d of [v.width, v.height]) if (d !== undefined && !(Number.isInteger(d) && d >= 16 && d <= 4096)) bad(`video size ${d} is not an integer in 16 … 4096`);
    if (v.codecs.length === 0 || v.codecs.some((k) => !KNOWN_CODECS.includes(k))) bad(`video.codecs ${JSON.stringify(v.codecs)} must name known codecs`);
  }
  if (c.audio && !(c.audio.bitrateBps >= 6_000 && c.audio.bitrateBps <= 510_000)) bad(`audio.bitrateBps ${c.audio.bitrateBps} is outside 6 000 … 510 000`);
  if (c.audio && (!Array.isArray(c.audio.codecs) || c.audio.codecs.length === 0 || c.audio.codecs.some((k) => !KNOWN_AUDIO_CODECS.includes(k)))) {
    bad(`audio.codecs ${JSON.stringify(c.audio.codecs)} must name opus or aac`);
  }
  if (!(c.fragmentDurationS >= 0.1 && c.fragmentDurationS <= 10)) bad(`fragmentDurationS ${c.fragmentDurationS} is outside 0.1 … 10`);
  if (!(c.frameIntervalMs >= 10 && c.frameIntervalMs <= 5000)) bad(`frameIntervalMs ${c.frameIntervalMs} is outside 10 … 5000`);
  if (!(Number.isInteger(c.maxCarryTicks) && c.maxCarryTicks >= 0 && c.maxCarryTicks <= 10)) bad(`maxCarryTicks ${c.maxCarryTicks} is not an integer in 0 … 10`);
  if (!(c.initRepeatMs >= 100)) bad(`initRepeatMs ${c.initRepeatMs} is below 100`);
  if (!(c.startTimeoutMs >= 1000 && c.startTimeoutMs <= 120_000)) bad(`startTimeoutMs ${c.startTimeoutMs} is outside 1 000 … 120 000`);
  if (!(Number.isSafeInteger(c.firstSeq) && c.firstSeq >= 0)) bad(`firstSeq ${c.firstSeq} is not a non-negative integer`);
  return c;
}

/**
 * Resolves the `renditions` option; throws P2PError('BAD_RENDITIONS') naming the first fault: not an
 * array, more than MAX_RENDITIONS, renditions without video, a height that is not an even integer in
 * 32 … 4096 or not below the one before, a bitrate outside 50 000 … 50 000 000, a name that is not
 * 1 … 16 of a-z 0-9 _ - or is used twice.
 */
export function resolveRenditions(options: readonly RenditionOptions[] | undefined, video: VideoConfig | null): RenditionConfig[] {
  if (options === undefined) return [];
  const bad = (msg: string): never => {
    throw new P2PError('BAD_RENDITIONS', msg);
  };
  if (!Array.isArray(options)) return bad(`renditions must be an array, got ${typeof options}`);
  if (options.length === 0) return [];
  if (options.length > MAX_RENDITIONS) bad(`at most ${MAX_RENDITIONS} renditions, got ${options.length}`);
  if (!video) bad('renditions need video (video is off)');
  const topBitrate = options[0]?.bitrateBps ?? video!.bitrateBps;
  const out: RenditionConfig[] = [];
  const names = new Set<string>();
  options.forEach((o, i) => {
    const h = o?.height;
    if (!(Number.isInteger(h) && h >= 32 && h <= 4096 && h % 2 === 0)) bad(`renditions[${i}].height ${String(h)} is not an even integer in 32 … 4096`);
    if (i > 0 && !(h < out[i - 1].height)) bad(`renditions[${i}].height ${h} is not below renditions[${i - 1}].height ${out[i - 1].height} (top first)`);
    const name = o.name ?? renditionName(h);
    if (typeof name !== 'string' || !RENDITION_NAME_RE.test(name)) bad(`renditions[${i}].name ${JSON.stringify(String(name).slice(0, 40))} is not 1 … 16 of a-z 0-9 _ -`);
    if (names.has(name)) bad(`renditions[${i}].name ${name} is used twice`);
    names.add(name);
    const bitrateBps = o.bitrateBps ?? (i === 0 ? topBitrate : Math.max(100_000, Math.round((topBitrate * (h / options[0].height) ** 2) / 1000) * 1000));
    if (!(Number.isInteger(bitrateBps) && bitrateBps >= 50_000 && bitrateBps <= 50_000_000)) bad(`renditions[${i}].bitrateBps ${String(bitrateBps)} is not an integer in 50 000 … 50 000 000`);
    out.push({ name, height: h, bitrateBps });
  });
  return out;
}
