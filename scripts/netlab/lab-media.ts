// Real media for the network lab's broadcaster, so that a browser in the lab can play the stream:
// ffmpeg's test pattern and a tone, H.264 (baseline, a key frame every 0.48 s, one fragment per key
// frame) and Opus in fragmented MP4, cut into frames by the media layer's FrameCutter as the
// browser's broadcaster cuts its own (a tick every 100 ms, the init segment again every 2 s; bytes
// carried one tick to reach 8 KiB multiples unless told otherwise), paced in real time from the
// fragments' media times. Node only; needs ffmpeg.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_BROADCASTER_CONFIG } from '../../src/broadcaster/broadcaster-config.ts';
import { FrameCutter } from '../../src/media/frame-cutter.ts';
import type { MediaFrame } from '../../src/media/frame-format.ts';
import { splitFmp4, type SplitFmp4 } from '../../src/hls/test-media.ts';

/** `seconds` of 320×180, 25 fps test pattern at about `bitrateBps` in all (video and 32 kbit/s Opus). */
export function makeLabMedia(seconds: number, bitrateBps: number): SplitFmp4 {
  if (!(seconds >= 1 && seconds <= 3600)) throw new Error(`media seconds must be 1 … 3600, got ${seconds}`);
  const videoBps = Math.max(64_000, bitrateBps - 40_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'p2plab-media-'));
  const out = path.join(dir, 'out.mp4');
  try {
    execFileSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=25:duration=${seconds}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-preset', 'ultrafast', '-tune', 'zerolatency',
      '-g', '12', '-keyint_min', '12', '-sc_threshold', '0',
      '-b:v', String(videoBps), '-maxrate', String(Math.round(videoBps * 1.2)), '-bufsize', String(Math.round(videoBps / 2)),
      '-c:a', 'libopus', '-b:a', '32k',
      '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', out,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    return splitFmp4(new Uint8Array(readFileSync(out)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Publishes `media` in real time through `publish`: the init frame at once (and again every
 * initRepeatMs, as the cutter repeats it), each fragment when its last sample would have been
 * captured, frames closed every frameIntervalMs (the browser broadcaster's defaults). `carryTicks`
 * (default 1, as every lab run so far): ticks a byte may wait to fill an 8 KiB multiple; the
 * browser's default is 0 (each whole fragment one frame), while 1 cuts each fragment into an 8 KiB
 * multiple and a tail sent 100 ms later: twice the frames, manifests and feed headers, the same
 * padding (docs/netlab.md, the broadcaster's upload by cause); `initRepeatMs` (default the
 * browser's, 2 s): how often the init segment goes again. Returns a stop function; `onEnd`
 * runs when the media is used up.
 */
export function playLabMedia(media: SplitFmp4, publish: (f: MediaFrame) => void, onEnd: () => void, carryTicks = 1, initRepeatMs = DEFAULT_BROADCASTER_CONFIG.initRepeatMs): () => void {
  const { frameIntervalMs } = DEFAULT_BROADCASTER_CONFIG;
  const cutter = new FrameCutter({ frameIntervalMs, maxCarryTicks: carryTicks, initRepeatMs });
  const start = Date.now();
  publish(cutter.setInit(media.init, start));
  let next = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    while (next < media.fragments.length) {
      const f = media.fragments[next];
      const endMs = start + f.mediaTimeMs + f.durationS * 1000;
      if (endMs > now) break;
      cutter.pushFragment({ bytes: f.bytes, keyFrame: f.keyFrame, mediaTimeMs: f.mediaTimeMs, captureTimeMs: start + f.mediaTimeMs });
      next++;
    }
    for (const frame of cutter.tick(now)) publish(frame);
    if (next >= media.fragments.length) {
      clearInterval(timer);
      onEnd();
    }
  }, frameIntervalMs);
  return () => clearInterval(timer);
}
