// Test page: a fake camera plus an audio track made by Web Audio at a chosen sample rate and channel
// count (an oscillator into createMediaStreamDestination), through the real broadcaster pipeline,
// handed in-page to a real player. Tests drive it through window.audioRates.
import type { BroadcastAudioCodec } from '../../src/broadcaster/broadcaster-config.ts';
import { MediaBroadcaster } from '../../src/broadcaster/media-broadcaster.ts';
import { openCapture } from '../../src/broadcaster/media-devices.ts';
import { MediaPlayer } from '../../src/player/media-player.ts';
import { FRAME_INIT } from '../../src/media/frame-format.ts';
import { parseInitSegment } from '../../src/media/init-segment.ts';

let broadcaster: MediaBroadcaster | null = null;
let player: MediaPlayer | null = null;
let video: HTMLVideoElement | null = null;
let init: Uint8Array | null = null;
let trackRate: number | null = null;
const errors: string[] = [];

const api = {
  async start(sampleRate: number, channels: number, codec: BroadcastAudioCodec = 'opus') {
    const ctx = new AudioContext({ sampleRate });
    const osc = ctx.createOscillator();
    osc.frequency.value = 440;
    const dest = ctx.createMediaStreamDestination();
    dest.channelCount = channels;
    dest.channelCountMode = 'explicit';
    osc.connect(dest);
    osc.start();
    await ctx.resume();
    const camera = await openCapture({ microphoneId: null, width: 160, height: 120, frameRate: 15 });
    const audio = dest.stream.getAudioTracks()[0];
    trackRate = audio.getSettings().sampleRate ?? ctx.sampleRate;
    const stream = new MediaStream([camera.getVideoTracks()[0], audio]);
    video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    document.getElementById('players')!.append(video);
    player = new MediaPlayer({ targetLatencyS: 1 });
    player.on('error', (e) => errors.push(`player ${e.code}: ${e.message}`));
    player.attachMedia(video);
    broadcaster = new MediaBroadcaster({
      video: { width: 160, height: 120, frameRate: 15, bitrateBps: 200_000, keyFrameIntervalS: 0.5, codecs: ['avc', 'vp9', 'av1', 'vp8'] },
      audio: { bitrateBps: 32_000, codecs: [codec] },
    });
    broadcaster.on('error', (e) => errors.push(`broadcaster ${e.code}: ${e.message}`));
    broadcaster.on('frame', (f) => {
      if (f.flags & FRAME_INIT) init ??= f.bytes.slice();
      player!.pushFrame(f);
    });
    await broadcaster.start(stream);
    return { contextRate: ctx.sampleRate, trackRate };
  },
  summary() {
    const info = init ? parseInitSegment(init) : null;
    const v = video as (HTMLVideoElement & { webkitAudioDecodedByteCount?: number }) | null;
    return {
      status: player?.status ?? null,
      currentTime: v?.currentTime ?? 0,
      audioDecodedBytes: v?.webkitAudioDecodedByteCount ?? null,
      videoFrames: v?.getVideoPlaybackQuality().totalVideoFrames ?? 0,
      mediaError: v?.error?.message ?? null,
      errors: errors.slice(),
      audio: info?.audio ?? null,
      audioCodec: broadcaster?.stats.audioCodec ?? null,
      trackRate,
    };
  },
};

declare global {
  interface Window {
    audioRates: typeof api;
  }
}
window.audioRates = api;
document.title = 'audio rates ready';
