import { describe, expect, it } from 'vitest';
import { EncodedAudioPacketSource, EncodedPacket, EncodedVideoPacketSource, Mp4OutputFormat, NullTarget, Output } from 'mediabunny';
import { expectCode } from '../expect-code.ts';
import { parseInitSegment } from './init-segment.ts';

// A real init segment written by mediabunny from synthetic packets (no encoder needed).
async function muxInit(video: { codec: 'avc' | 'vp9'; codecString: string; description?: Uint8Array } | null, audio: boolean): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const output = new Output({
    format: new Mp4OutputFormat({
      fastStart: 'fragmented',
      onFtyp: (d) => parts.push(d.slice()),
      onMoov: (d) => parts.push(d.slice()),
    }),
    target: new NullTarget(),
  });
  const v = video ? new EncodedVideoPacketSource(video.codec) : null;
  const a = audio ? new EncodedAudioPacketSource('opus') : null;
  if (v) output.addVideoTrack(v);
  if (a) output.addAudioTrack(a);
  await output.start();
  if (v && video) {
    await v.add(new EncodedPacket(new Uint8Array(100), 'key', 0, 1 / 30), {
      decoderConfig: { codec: video.codecString, codedWidth: 320, codedHeight: 240, description: video.description },
    });
  }
  if (a) {
    const head = new Uint8Array([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64, 1, 1, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]);
    await a.add(new EncodedPacket(new Uint8Array(50), 'key', 0, 0.02), {
      decoderConfig: { codec: 'opus', sampleRate: 48000, numberOfChannels: 1, description: head },
    });
  }
  await output.finalize();
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

const avcC = new Uint8Array([1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 1, 0, 2, 0x68, 0xce]);

describe('parseInitSegment', () => {
  it('reads H.264 and Opus codec strings from a mediabunny init segment', async () => {
    const info = parseInitSegment(await muxInit({ codec: 'avc', codecString: 'avc1.42c01f', description: avcC }, true));
    expect(info.codecs).toEqual(['avc1.42c01f', 'opus']);
    expect(info.mimeType).toBe('video/mp4; codecs="avc1.42c01f,opus"');
    expect(info.hasVideo && info.hasAudio).toBe(true);
  });

  it('reads VP9 profile, level and bit depth', async () => {
    const info = parseInitSegment(await muxInit({ codec: 'vp9', codecString: 'vp09.00.31.08' }, false));
    expect(info.codecs).toEqual(['vp09.00.31.08']);
    expect(info.mimeType).toBe('video/mp4; codecs="vp09.00.31.08"');
  });

  it('reads an audio-only stream', async () => {
    const info = parseInitSegment(await muxInit(null, true));
    expect(info).toMatchObject({ codecs: ['opus'], hasVideo: false, mimeType: 'audio/mp4; codecs="opus"' });
  });

  it('rejects garbage with BAD_INIT_SEGMENT', () => {
    expectCode(() => parseInitSegment(new Uint8Array([0, 0, 0, 3, 1, 2, 3, 4])), 'BAD_INIT_SEGMENT');
    expectCode(() => parseInitSegment(new Uint8Array(0)), 'BAD_INIT_SEGMENT');
  });

  it('rejects every truncation of a real init segment with BAD_INIT_SEGMENT', async () => {
    const good = await muxInit({ codec: 'avc', codecString: 'avc1.42c01f', description: avcC }, true);
    expect(parseInitSegment(good).codecs).toEqual(['avc1.42c01f', 'opus']);
    for (let cut = 0; cut < good.length; cut++) expectCode(() => parseInitSegment(good.subarray(0, cut)), 'BAD_INIT_SEGMENT');
  });

  it('rejects a box that overruns its parent, at any depth, by one byte', async () => {
    const good = await muxInit({ codec: 'avc', codecString: 'avc1.42c01f', description: avcC }, true);
    const view = new DataView(good.buffer, good.byteOffset, good.byteLength);
    const types = ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'avc1', 'avcC', 'Opus'];
    for (const type of types) {
      const at = findBox(good, type);
      expect(at, type).toBeGreaterThan(0);
      const bad = good.slice();
      new DataView(bad.buffer).setUint32(at, view.getUint32(at) + 1);
      expectCode(() => parseInitSegment(bad), 'BAD_INIT_SEGMENT');
    }
  });

  it('rejects boxes shorter than their header', () => {
    expectCode(() => parseInitSegment(new Uint8Array([0, 0, 0, 7, 0x66, 0x74, 0x79, 0x70])), 'BAD_INIT_SEGMENT');
    const large = new Uint8Array(16);
    large.set([0, 0, 0, 1, 0x66, 0x74, 0x79, 0x70, 0, 0, 0, 0, 0, 0, 0, 15]);
    expectCode(() => parseInitSegment(large), 'BAD_INIT_SEGMENT');
  });
});

/** Offset of the size field of the first box of `type` (by its four-character code). */
function findBox(b: Uint8Array, type: string): number {
  const code = [...type].map((c) => c.charCodeAt(0));
  for (let i = 4; i + 4 <= b.length; i++) if (code.every((c, j) => b[i + j] === c)) return i - 4;
  return -1;
}
