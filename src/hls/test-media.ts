// Test kit: real fragmented MP4 (H.264 + Opus made by ffmpeg from its test sources), split into an
// init segment and fragments, cut into frames by the media layer's own FrameCutter, and wrapped as
// the protocol core delivers them (manifest with the frame's length and SHA-256). Node only; used
// by the HLS tests, the e2e edge server and the benchmark.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FrameCutter, type FragmentInput } from '../media/frame-cutter.ts';
import { FRAME_INIT, readRecords, type MediaFrame } from '../media/frame-format.ts';
import { readFragmentTiming, readTrackTimings } from './fmp4-timing.ts';
import type { DeliveredFrame } from './ll-hls-writer.ts';

export interface SplitFmp4 {
  init: Uint8Array;
  fragments: Array<{ bytes: Uint8Array; keyFrame: boolean; mediaTimeMs: number; durationS: number }>;
}

export interface TestMediaOptions {
  seconds: number;
  /** Key frame (and so fragment) interval in video frames at 30 fps. Default 15 (0.5 s). */
  gop?: number;
  /** Start value of the test pattern's clock, so two runs differ. Default 0. */
  offsetS?: number;
}

/** Runs ffmpeg: 320×180 30 fps H.264 (one fragment per key frame) and 48 kHz Opus, fragmented MP4. */
export function makeTestFmp4(options: TestMediaOptions): Uint8Array {
  const dir = mkdtempSync(path.join(tmpdir(), 'hls-media-'));
  const out = path.join(dir, 'out.mp4');
  const gop = options.gop ?? 15;
  try {
    execFileSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=30:duration=${options.seconds}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${options.seconds}`,
      '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-preset', 'ultrafast', '-tune', 'zerolatency',
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-b:v', '400k',
      '-c:a', 'libopus', '-b:a', '48k', '-strict', 'experimental',
      '-output_ts_offset', String(options.offsetS ?? 0),
      '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', out,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Splits a fragmented MP4 file into its init segment (ftyp + moov) and fragments (moof + mdat). */
export function splitFmp4(file: Uint8Array): SplitFmp4 {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const top: Array<{ type: string; start: number; end: number }> = [];
  for (let at = 0; at + 8 <= file.length;) {
    const size = view.getUint32(at);
    const type = String.fromCharCode(...file.subarray(at + 4, at + 8));
    if (size < 8 || at + size > file.length) throw new Error(`bad top-level box ${type}`);
    top.push({ type, start: at, end: at + size });
    at += size;
  }
  const moov = top.findIndex((b) => b.type === 'moov');
  const init = file.slice(0, top[moov].end);
  const tracks = readTrackTimings(init);
  const fragments: SplitFmp4['fragments'] = [];
  for (let i = moov + 1; i < top.length; i++) {
    if (top[i].type !== 'moof') continue;
    const mdat = top[i + 1];
    const bytes = file.slice(top[i].start, mdat.end);
    const t = readFragmentTiming(bytes, tracks);
    fragments.push({ bytes, keyFrame: true, mediaTimeMs: Math.round(t.startS * 1000), durationS: t.durationS });
  }
  return { init, fragments };
}

/** Cuts split fMP4 into frames as the broadcaster does (one fragment per tick, nothing carried over). */
export function cutFrames(media: SplitFmp4, captureStartMs: number, initRepeatMs = 2000): MediaFrame[] {
  const cutter = new FrameCutter({ maxCarryTicks: 0, initRepeatMs });
  const frames: MediaFrame[] = [cutter.setInit(media.init, captureStartMs)];
  for (const f of media.fragments) {
    const input: FragmentInput = { bytes: f.bytes, keyFrame: f.keyFrame, mediaTimeMs: f.mediaTimeMs, captureTimeMs: captureStartMs + f.mediaTimeMs };
    cutter.pushFragment(input);
    frames.push(...cutter.tick(captureStartMs + f.mediaTimeMs + f.durationS * 1000));
  }
  return frames;
}

/** A frame in the form the protocol core delivers it (the signature is the session's business, not checked here). */
export function asDelivered(frame: MediaFrame): DeliveredFrame {
  const digest = new Uint8Array(createHash('sha256').update(frame.bytes).digest());
  return {
    manifest: { seq: frame.seq, length: frame.bytes.length, captureTimeMs: frame.captureTimeMs, flags: frame.flags, broadcastId: new Uint8Array(8), digest, signature: new Uint8Array(64) },
    frame: frame.bytes,
  };
}

/** The fragment indices a media frame carries (none for init and end frames). */
export function fragmentsIn(frame: MediaFrame): number[] {
  if (frame.flags & FRAME_INIT || frame.flags & 16) return [];
  return [...new Set(readRecords(frame.bytes).map((r) => r.fragmentIndex))];
}

/** The init segment with a 24-byte `free` box of `tag` bytes appended, as the broadcaster marks each broadcast. */
export function markInit(media: SplitFmp4, tag: number): SplitFmp4 {
  const init = new Uint8Array(media.init.length + 24);
  init.set(media.init);
  const view = new DataView(init.buffer);
  view.setUint32(media.init.length, 24);
  init.set([0x66, 0x72, 0x65, 0x65], media.init.length + 4);
  init.fill(tag & 255, media.init.length + 8);
  return { ...media, init };
}
