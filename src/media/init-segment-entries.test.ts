import { describe, expect, it } from 'vitest';
import { concatBytes } from '../bytes.ts';
import { expectCode } from '../expect-code.ts';
import { parseInitSegment } from './init-segment.ts';

// Init segments built box by box here, independent of any muxer, so that every sample entry the
// parser knows (not only the H.264, VP9 and Opus that mediabunny writes) has its codec string,
// its bounds and its audio fields checked against the codec-string rules written out by hand:
// vp09.PP.LL.DD (decimal, two digits), av01.P.LLT.DD (level two digits, tier M/H, depth from the
// profile and the high-bitdepth/twelve-bit flags), avc1/avc3.PPCCLL (hex), mp4a.40.2, opus, flac.

const bytes = (...parts: (Uint8Array | number[])[]): Uint8Array => concatBytes(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p))));
const u16 = (n: number): number[] => [(n >> 8) & 255, n & 255];
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const fourcc = (t: string): number[] => [...t].map((c) => c.charCodeAt(0));

/** A box with a 32-bit size. */
function box(type: string, ...payload: (Uint8Array | number[])[]): Uint8Array {
  const body = bytes(...payload);
  return bytes(u32(8 + body.length), fourcc(type), body);
}

/** A box with the 64-bit "largesize" header (size field 1). */
function largeBox(type: string, ...payload: (Uint8Array | number[])[]): Uint8Array {
  const body = bytes(...payload);
  return bytes(u32(1), fourcc(type), u32(0), u32(16 + body.length), body);
}

/** A visual sample entry: 78 fixed bytes, then its configuration boxes. */
const visualEntry = (type: string, ...children: Uint8Array[]): Uint8Array => box(type, new Uint8Array(78), ...children);

/** An audio sample entry: 28 fixed bytes (channels at 16, rate at 24 as 16.16), then its boxes. */
function audioEntry(type: string, channels: number, rate: number, ...children: Uint8Array[]): Uint8Array {
  const fixed = new Uint8Array(28);
  fixed.set(u16(channels), 16);
  fixed.set(u16(16), 18);
  fixed.set(u16(rate), 24);
  return box(type, fixed, ...children);
}

const stsd = (...entries: Uint8Array[]): Uint8Array => box('stsd', [0, 0, 0, 0], u32(entries.length), ...entries);
/** mdhd version 0 (timescale at 12) or 1 (timescale at 20). */
const mdhd = (timescale: number, version = 0): Uint8Array =>
  version === 1 ? box('mdhd', [1, 0, 0, 0], new Uint8Array(16), u32(timescale), new Uint8Array(12)) : box('mdhd', [0, 0, 0, 0], new Uint8Array(8), u32(timescale), new Uint8Array(8));
const trak = (entry: Uint8Array, timescale = 90_000, mdhdVersion = 0): Uint8Array =>
  box('trak', box('mdia', mdhd(timescale, mdhdVersion), box('minf', box('stbl', stsd(entry)))));
const init = (...traks: Uint8Array[]): Uint8Array => bytes(box('ftyp', fourcc('iso6'), u32(0)), box('moov', ...traks));

const vpcC = (profile: number, level: number, bitDepth: number): Uint8Array => box('vpcC', [1, 0, 0, 0], [profile, level, (bitDepth << 4) | 2, 0, 0, 0, 0, 0]);
const av1C = (profile: number, level: number, tier: number, high: number, twelve: number): Uint8Array =>
  box('av1C', [0x81, (profile << 5) | level, (tier << 7) | (high << 6) | (twelve << 5) | 0x0c, 0]);
const avcC = (profile: number, compat: number, level: number): Uint8Array => box('avcC', [1, profile, compat, level, 0xff, 0xe0, 0]);

describe('parseInitSegment sample entries built box by box', () => {
  it('writes VP9 profile, level and bit depth as two decimal digits each', () => {
    expect(parseInitSegment(init(trak(visualEntry('vp09', vpcC(0, 31, 8))))).codecs).toEqual(['vp09.00.31.08']);
    expect(parseInitSegment(init(trak(visualEntry('vp09', vpcC(2, 51, 10))))).codecs).toEqual(['vp09.02.51.10']);
    expect(parseInitSegment(init(trak(visualEntry('vp09', vpcC(1, 9, 12))))).codecs).toEqual(['vp09.01.09.12']);
  });

  it('writes AV1 profile, level, tier and the depth its flags give', () => {
    const av1 = (p: number, l: number, t: number, h: number, tw: number) => parseInitSegment(init(trak(visualEntry('av01', av1C(p, l, t, h, tw))))).codecs[0];
    expect(av1(0, 8, 0, 0, 0)).toBe('av01.0.08M.08');
    expect(av1(0, 13, 1, 0, 0)).toBe('av01.0.13H.08');
    expect(av1(0, 4, 0, 1, 0)).toBe('av01.0.04M.10');
    // twelve_bit counts only in the professional profile; elsewhere high bit depth is 10 bits.
    expect(av1(1, 5, 0, 1, 1)).toBe('av01.1.05M.10');
    expect(av1(2, 20, 1, 1, 1)).toBe('av01.2.20H.12');
    expect(av1(2, 20, 0, 1, 0)).toBe('av01.2.20M.10');
    expect(av1(2, 31, 0, 0, 1)).toBe('av01.2.31M.08');
  });

  it('writes H.264 profile, constraints and level in hex for avc1 and avc3', () => {
    expect(parseInitSegment(init(trak(visualEntry('avc1', avcC(0x42, 0xc0, 0x1f))))).codecs).toEqual(['avc1.42c01f']);
    expect(parseInitSegment(init(trak(visualEntry('avc3', avcC(0x64, 0x00, 0x0a))))).codecs).toEqual(['avc3.64000a']);
  });

  it('names VP8, HEVC, FLAC and AAC entries, and skips entries it does not know', () => {
    expect(parseInitSegment(init(trak(visualEntry('vp08')))).codecs).toEqual(['vp8']);
    expect(parseInitSegment(init(trak(visualEntry('hvc1')))).codecs).toEqual(['hvc1']);
    expect(parseInitSegment(init(trak(visualEntry('hev1')))).codecs).toEqual(['hev1']);
    const flac = parseInitSegment(init(trak(audioEntry('fLaC', 2, 44_100), 44_100)));
    expect(flac).toMatchObject({ codecs: ['flac'], hasVideo: false, hasAudio: true, mimeType: 'audio/mp4; codecs="flac"' });
    expect(flac.audio).toEqual({ codec: 'flac', sampleRate: 44_100, channels: 2, timescale: 44_100 });
    const aac = parseInitSegment(init(trak(audioEntry('mp4a', 1, 48_000), 48_000)));
    expect(aac.codecs).toEqual(['mp4a.40.2']);
    expect(aac.audio).toEqual({ codec: 'mp4a.40.2', sampleRate: 48_000, channels: 1, timescale: 48_000 });
    // An unknown entry beside a known one is skipped; alone it leaves no track.
    expect(parseInitSegment(init(box('trak', box('mdia', box('minf', box('stbl', stsd(visualEntry('xyz1'), visualEntry('vp08')))))))).codecs).toEqual(['vp8']);
    expectCode(() => parseInitSegment(init(trak(visualEntry('xyz1')))), 'BAD_INIT_SEGMENT');
  });

  it('lists tracks in order with a video MIME type, and keeps the first audio track\'s fields', () => {
    const info = parseInitSegment(init(
      trak(visualEntry('avc1', avcC(0x42, 0xe0, 0x1e))),
      trak(audioEntry('mp4a', 2, 44_100), 44_100),
      trak(audioEntry('fLaC', 1, 48_000), 96_000),
    ));
    expect(info.codecs).toEqual(['avc1.42e01e', 'mp4a.40.2', 'flac']);
    expect(info.mimeType).toBe('video/mp4; codecs="avc1.42e01e,mp4a.40.2,flac"');
    expect(info).toMatchObject({ hasVideo: true, hasAudio: true });
    expect(info.audio).toEqual({ codec: 'mp4a.40.2', sampleRate: 44_100, channels: 2, timescale: 44_100 });
  });

  it('reads the timescale of a version 1 mdhd, and each track\'s own', () => {
    expect(parseInitSegment(init(trak(audioEntry('mp4a', 2, 48_000), 48_000, 1))).audio?.timescale).toBe(48_000);
    // A video track's timescale does not leak into the audio track after it.
    const two = parseInitSegment(init(trak(visualEntry('vp08'), 90_000), box('trak', box('mdia', box('minf', box('stbl', stsd(audioEntry('mp4a', 2, 48_000))))))));
    expect(two.audio?.timescale).toBe(0);
  });

  it('reads Opus input rate from dOps only when dOps is whole', () => {
    const dOps = box('dOps', [0, 2], u16(312), u32(44_100), [0, 0, 0]);
    expect(parseInitSegment(init(trak(audioEntry('Opus', 2, 48_000, dOps), 48_000))).audio).toEqual({ codec: 'opus', sampleRate: 48_000, channels: 2, timescale: 48_000, inputSampleRate: 44_100 });
    const shortDOps = box('dOps', [0, 2, 1, 56, 0, 0, 172]);
    expect(parseInitSegment(init(trak(audioEntry('Opus', 1, 48_000, shortDOps), 48_000))).audio).toEqual({ codec: 'opus', sampleRate: 48_000, channels: 1, timescale: 48_000 });
  });

  it('walks largesize boxes and a last box whose size 0 runs to the end', () => {
    const moov = box('moov', trak(visualEntry('vp09', vpcC(0, 10, 8))));
    expect(parseInitSegment(bytes(box('ftyp', fourcc('iso6')), largeBox('moov', trak(visualEntry('vp09', vpcC(0, 10, 8)))))).codecs).toEqual(['vp09.00.10.08']);
    const toEnd = moov.slice();
    toEnd.set(u32(0), 0);
    expect(parseInitSegment(bytes(box('ftyp', fourcc('iso6')), toEnd)).codecs).toEqual(['vp09.00.10.08']);
    // A largesize header cut short at the end is not read as a box (and then nothing is found).
    expectCode(() => parseInitSegment(bytes(u32(1), fourcc('moov'), u32(0))), 'BAD_INIT_SEGMENT');
    // A largesize box that claims more than its parent holds is rejected.
    const big = largeBox('moov', trak(visualEntry('vp08')));
    big.set(u32(big.length + 1), 12);
    expectCode(() => parseInitSegment(big), 'BAD_INIT_SEGMENT');
  });

  it('rejects configuration boxes too short for the fields it reads', () => {
    expectCode(() => parseInitSegment(init(trak(visualEntry('avc1', box('avcC', [1, 0x42, 0xc0]))))), 'BAD_INIT_SEGMENT');
    expectCode(() => parseInitSegment(init(trak(visualEntry('avc1')))), 'BAD_INIT_SEGMENT');
    expectCode(() => parseInitSegment(init(trak(visualEntry('vp09', box('vpcC', [1, 0, 0, 0, 0, 31]))))), 'BAD_INIT_SEGMENT');
    expectCode(() => parseInitSegment(init(trak(visualEntry('av01', box('av1C', [0x81, 8]))))), 'BAD_INIT_SEGMENT');
    // The shortest readable ones are read.
    expect(parseInitSegment(init(trak(visualEntry('avc1', box('avcC', [1, 0x42, 0xc0, 0x1e]))))).codecs).toEqual(['avc1.42c01e']);
    expect(parseInitSegment(init(trak(visualEntry('vp09', box('vpcC', [1, 0, 0, 0, 0, 31, 0x80]))))).codecs).toEqual(['vp09.00.31.08']);
    expect(parseInitSegment(init(trak(visualEntry('av01', box('av1C', [0x81, 8, 0]))))).codecs).toEqual(['av01.0.08M.08']);
  });

  it('rejects a short stsd, a short mdhd, a short audio entry, too deep nesting and too many boxes', () => {
    expectCode(() => parseInitSegment(bytes(box('moov', box('trak', box('mdia', box('minf', box('stbl', box('stsd', [0, 0, 0, 0, 0, 0, 0])))))))), 'BAD_INIT_SEGMENT');
    expectCode(() => parseInitSegment(bytes(box('moov', box('trak', box('mdia', box('mdhd', new Uint8Array(15)), box('minf', box('stbl', stsd(visualEntry('vp08'))))))))), 'BAD_INIT_SEGMENT');
    // The v0 mdhd's 16th byte is the timescale's last: 16 bytes read.
    expect(parseInitSegment(bytes(box('moov', box('trak', box('mdia', box('mdhd', new Uint8Array(16)), box('minf', box('stbl', stsd(visualEntry('vp08'))))))))).codecs).toEqual(['vp8']);
    expectCode(() => parseInitSegment(init(trak(box('mp4a', new Uint8Array(27))))), 'BAD_INIT_SEGMENT');
    expect(parseInitSegment(init(trak(box('mp4a', new Uint8Array(28))))).codecs).toEqual(['mp4a.40.2']);
    // The walk reads boxes down to the ninth level (depth 8): four containers around a track put its
    // stsd there, five one level deeper.
    const nested = (n: number) => {
      let b = trak(visualEntry('vp08'));
      for (let i = 0; i < n; i++) b = box('moov', b);
      return b;
    };
    expect(parseInitSegment(nested(4)).codecs).toEqual(['vp8']);
    expectCode(() => parseInitSegment(nested(5)), 'BAD_INIT_SEGMENT');
    const free = box('free');
    const many = (n: number) => bytes(...Array.from({ length: n }, () => free), init(trak(visualEntry('vp08'))));
    expect(parseInitSegment(many(998)).codecs).toEqual(['vp8']);
    expectCode(() => parseInitSegment(many(999)), 'BAD_INIT_SEGMENT');
  });
});
