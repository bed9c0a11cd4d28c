// The LL-HLS writer on real fragmented MP4 (ffmpeg's H.264 + Opus, cut into frames by the media
// layer's FrameCutter): playlists pass hls.js's own parser and the RFC 8216bis checker, segments
// and parts are read by ffprobe as fMP4, DVR trimming, discontinuities, skips, blocking answers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { M3U8Parser } from 'hls.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { FRAME_END_OF_STREAM, FRAME_INIT, encodeEndOfStream, type MediaFrame } from '../media/frame-format.ts';
import { FIRST_MEDIA_SEQUENCE, LlHlsWriter, resolveLlHlsWriterConfig } from './ll-hls-writer.ts';
import { checkLlHlsPlaylist } from './playlist-rules.ts';
import { asDelivered, cutFrames, fragmentsIn, makeTestFmp4, markInit, splitFmp4, type SplitFmp4 } from './test-media.ts';

let media: SplitFmp4;
let media2: SplitFmp4;
beforeAll(() => {
  media = splitFmp4(makeTestFmp4({ seconds: 8 }));
  media2 = markInit(splitFmp4(makeTestFmp4({ seconds: 3, offsetS: 100 })), 1);
});

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function feed(w: LlHlsWriter, frames: MediaFrame[], nowMs = { t: 0 }, stepMs = 100): void {
  for (const f of frames) {
    nowMs.t += stepMs;
    w.push(asDelivered(f), nowMs.t);
  }
}

function parse(text: string) {
  const d = M3U8Parser.parseLevelPlaylist(text, 'http://127.0.0.1/hls/s/index.m3u8', 0, 'main' as never, 0, null);
  expect(d.playlistParsingError).toBeNull();
  return d;
}

/** `count` fragments made by repeating the test media's fragments on a running media clock. */
function longMedia(count: number): SplitFmp4 {
  const fragments: SplitFmp4['fragments'] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    const f = media.fragments[1 + (i % (media.fragments.length - 1))];
    fragments.push({ ...f, mediaTimeMs: Math.round(t * 1000) });
    t += f.durationS;
  }
  return { init: media.init, fragments };
}

describe('LlHlsWriter', () => {
  it('writes an LL-HLS playlist that hls.js parses and that keeps the RFC 8216bis rules', () => {
    const w = new LlHlsWriter();
    expect(w.playlist()).toBeNull();
    feed(w, cutFrames(media, T0));
    const text = w.playlist()!;
    expect(checkLlHlsPlaylist(text).violations).toEqual([]);
    const d = parse(text);
    expect(d.live).toBe(true);
    expect(d.canBlockReload).toBe(true);
    expect(d.partTarget).toBeCloseTo(w.partTargetS!, 3);
    expect(d.partHoldBack).toBeCloseTo(3 * w.partTargetS!, 3);
    expect(d.targetduration).toBe(2);
    // 8 s of 0.5 s fragments: 4 segments of 2 s (the first carries Opus pre-roll), 16 parts.
    expect(d.fragments.length).toBe(4);
    expect(d.partList!.length).toBe(16);
    expect(d.partList!.every((p) => p.independent)).toBe(true);
    expect(d.fragments[0].initSegment?.relurl).toBe('init-0.mp4');
    expect(d.fragments[0].programDateTime).toBe(T0);
    expect(d.fragments[1].programDateTime).toBe(T0 + media.fragments[4].mediaTimeMs);
    expect(d.startSN).toBe(1);
    expect(d.preloadHint?.URI).toBe('part-5-0.m4s');
    for (const f of d.fragments) expect(f.duration).toBeGreaterThan(1.9);
    expect(w.counters.badFrames + w.counters.badFragments + w.counters.fragmentsSkipped).toBe(0);
  });

  it('never numbers a segment 0: hls.js 1.7.4 reloads a part of segment 0 in a loop (docs/hls.md)', () => {
    expect(FIRST_MEDIA_SEQUENCE).toBeGreaterThan(0);
    const w = new LlHlsWriter();
    const frames = cutFrames(media, T0);
    // From the first part on, as a player that joins a fresh stream sees it.
    for (const [i, f] of frames.entries()) {
      w.push(asDelivered(f), 100 * (i + 1));
      const text = w.playlist();
      if (text === null) continue;
      const d = parse(text);
      expect(d.startSN).toBeGreaterThan(0);
      expect(d.fragments.every((x) => x.sn !== 0)).toBe(true);
      expect(d.partList?.every((p) => p.fragment.sn !== 0) ?? true).toBe(true);
      expect(text).not.toMatch(/(part-0-\d+|seg-0)\.m4s/);
    }
    expect(w.resource('part-0-0.m4s')).toBeNull();
    expect(w.resource('part-1-0.m4s')).not.toBeNull();
  });

  it('keeps the broadcaster bytes: a segment is its parts, ffprobe reads init + segment and init + part as fMP4', () => {
    const w = new LlHlsWriter();
    feed(w, cutFrames(media, T0));
    const seg = w.resource('seg-2.m4s')!;
    const parts = [0, 1, 2, 3].map((i) => w.resource(`part-2-${i}.m4s`)!);
    expect(seg.contentType).toBe('video/iso.segment');
    expect(Buffer.from(seg.bytes).equals(Buffer.concat(parts.map((p) => p.bytes)))).toBe(true);
    expect(Buffer.from(parts[0].bytes).equals(Buffer.from(media.fragments[4].bytes))).toBe(true);
    const dir = mkdtempSync(path.join(tmpdir(), 'hls-probe-'));
    try {
      for (const [name, body] of [['seg.mp4', seg.bytes], ['part.mp4', parts[2].bytes]] as const) {
        const file = path.join(dir, name);
        writeFileSync(file, Buffer.concat([w.resource('init-0.mp4')!.bytes, body]));
        const out = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-count_packets', '-of', 'json', file]).toString());
        expect(out.format.format_name).toContain('mp4');
        expect(out.streams.map((s: { codec_name: string }) => s.codec_name).sort()).toEqual(['h264', 'opus']);
        const video = out.streams.find((s: { codec_name: string }) => s.codec_name === 'h264');
        expect(Number(video.nb_read_packets)).toBe(name === 'seg.mp4' ? 60 : 15);
      }
      // The brands say CMAF-style fragmented MP4 (ISO base media with fragments).
      const brands = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_format', '-of', 'json', path.join(dir, 'seg.mp4')]).toString()).format.tags;
      expect(brands.major_brand).toBeTruthy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(w.resource('seg-9.m4s')).toBeNull();
    expect(w.resource('seg-0.m4s')).toBeNull();
    expect(w.resource('part-2-9.m4s')).toBeNull();
    expect(w.resource('../etc/passwd')).toBeNull();
  });

  it('holds a DVR window: old segments leave, MEDIA-SEQUENCE moves on, their resources go', () => {
    const w = new LlHlsWriter({ dvrWindowS: 20 });
    feed(w, cutFrames(longMedia(120), T0)); // 60 s
    const text = w.playlist()!;
    expect(checkLlHlsPlaylist(text).violations).toEqual([]);
    const d = parse(text);
    const total = d.fragments.reduce((n, f) => n + f.duration, 0);
    expect(total).toBeGreaterThanOrEqual(20);
    expect(total).toBeLessThan(22.1);
    expect(d.startSN).toBe(31 - d.fragments.length);
    expect(w.resource(`seg-${d.startSN - 1}.m4s`)).toBeNull();
    expect(w.resource(`seg-${d.startSN}.m4s`)).not.toBeNull();
    // Parts are listed only near the live edge (three target durations).
    expect(d.partList!.length).toBeLessThanOrEqual(16);
    expect(w.counters.segmentsDropped).toBe(30 - d.fragments.length);
  });

  it('a new init segment (the broadcaster started over) makes a discontinuity with a new EXT-X-MAP', () => {
    const w = new LlHlsWriter();
    const now = { t: 0 };
    feed(w, cutFrames(media, T0), now);
    feed(w, cutFrames(media2, T0 + 10_000).map((f) => ({ ...f, seq: f.seq + 1000 })), now);
    const text = w.playlist()!;
    expect(checkLlHlsPlaylist(text).violations).toEqual([]);
    expect(text).toContain('#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-1.mp4"');
    const d = parse(text);
    expect(d.fragments.map((f) => f.cc)).toEqual([0, 0, 0, 0, 1]); // and the open segment's two parts
    expect(d.fragments[4].programDateTime).toBe(T0 + 10_000);
    expect(w.resource('init-1.mp4')!.bytes.length).toBe(media2.init.length);
    expect(w.counters.discontinuities).toBe(1);
  });

  it('a fragment lost in the swarm is given up after the wait budget and leaves a discontinuity, not a hole', () => {
    const w = new LlHlsWriter({ waitBudgetMs: 500 });
    const frames = cutFrames(media, T0);
    // Drop the frame carrying fragment 6.
    const lost = frames.filter((f) => !fragmentsIn(f).includes(6));
    expect(lost.length).toBe(frames.length - 1);
    const now = { t: 0 };
    feed(w, lost, now, 0);
    w.tick(now.t + 100);
    expect(w.counters.fragmentsSkipped).toBe(0); // still within its budget
    w.tick(now.t + 1000);
    expect(w.counters.fragmentsSkipped).toBe(1);
    const text = w.playlist()!;
    expect(checkLlHlsPlaylist(text).violations).toEqual([]);
    const d = parse(text);
    expect(d.fragments.map((f) => f.cc)).toEqual([0, 0, 1, 1]);
    expect(d.fragments[1].duration).toBeCloseTo(1.0, 2); // fragments 4 and 5, closed early
    expect(d.fragments[2].programDateTime).toBe(T0 + media.fragments[7].mediaTimeMs);
  });

  it('the end of the stream closes the open segment and ends the playlist', () => {
    const w = new LlHlsWriter();
    const frames = cutFrames(media, T0).filter((f) => fragmentsIn(f).every((i) => i <= 5)); // fragments 0 … 5
    frames.push({ seq: 999, bytes: encodeEndOfStream(6), flags: FRAME_END_OF_STREAM, captureTimeMs: T0 + 3000 });
    feed(w, frames);
    const text = w.playlist()!;
    expect(text.endsWith('#EXT-X-ENDLIST\n')).toBe(true);
    expect(text).not.toContain('PRELOAD-HINT');
    expect(checkLlHlsPlaylist(text).violations).toEqual([]);
    const d = parse(text);
    expect(d.live).toBe(false);
    expect(d.fragments.length).toBe(2);
    expect(d.fragments[1].duration).toBeCloseTo(1.0, 2);
    expect(w.blockingState(100, null)).toBe('ready');
  });

  it('answers blocking reloads: ready, wait, or bad request beyond two segments / the advance part limit', () => {
    const w = new LlHlsWriter();
    // Fragments 0 … 5: segment 1 closed, segment 2 has 2 parts.
    const frames = cutFrames(media, T0).filter((f) => fragmentsIn(f).every((i) => i <= 5));
    feed(w, frames);
    expect(w.playlist()).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-2-2.m4s"');
    expect(w.blockingState(1, null)).toBe('ready');
    expect(w.blockingState(2, null)).toBe('wait');
    expect(w.blockingState(2, 1)).toBe('ready');
    expect(w.blockingState(2, 2)).toBe('wait');
    expect(w.blockingState(1, 7)).toBe('ready'); // a closed segment with fewer parts: later parts answer
    expect(w.blockingState(4, 0)).toBe('wait');
    expect(w.blockingState(5, 0)).toBe('bad-request');
    // PART-TARGET 0.572 s: the advance part limit is floor(3 / 0.572) = 5 parts past the last one.
    expect(w.blockingState(2, 6)).toBe('wait');
    expect(w.blockingState(2, 7)).toBe('bad-request');
    expect(w.partMayCome('part-2-2.m4s')).toBe(true);
    expect(w.partMayCome('part-3-0.m4s')).toBe(true);
    expect(w.partMayCome('part-2-1.m4s')).toBe(false); // there already
    expect(w.partMayCome('part-6-0.m4s')).toBe(false);
    expect(w.partMayCome('seg-2.m4s')).toBe(false);
  });

  it('drops what is not a delivered frame and never throws', () => {
    const w = new LlHlsWriter();
    const [init, f0] = cutFrames(media, T0);
    const bad = [
      null, {}, { manifest: asDelivered(init).manifest, frame: init.bytes.subarray(1) }, // length not the manifest's
      { manifest: { ...asDelivered(f0).manifest, seq: 1.5 }, frame: f0.bytes },
    ];
    for (const b of bad) expect(() => w.push(b as never, 1)).not.toThrow();
    expect(w.counters.badFrames).toBe(4);
    // A verified frame that is not fMP4 (a broadcaster bug) is counted, not played.
    const junk = new Uint8Array(300).fill(7);
    w.push(asDelivered({ seq: 0, bytes: junk, flags: FRAME_INIT, captureTimeMs: T0 }), 2);
    expect(w.counters.badFragments).toBe(1);
    expect(w.playlist()).toBeNull();
    expect(() => resolveLlHlsWriterConfig({ segmentTargetS: 0.5 })).toThrow(/BAD_CONFIG/);
    expect(() => resolveLlHlsWriterConfig({ resourcePrefix: '../x' })).toThrow(/BAD_CONFIG/);
  });
});
