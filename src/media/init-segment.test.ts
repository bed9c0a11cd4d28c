import { describe, expect, it } from 'vitest';
import { EncodedAudioPacketSource, EncodedPacket, EncodedVideoPacketSource, Mp4OutputFormat, NullTarget, Output } from 'mediabunny';
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

  it('rejects garbage with BAD_INIT_SEGMENT and never loops on it', async () => {
    const good = await muxInit({ codec: 'avc', codecString: 'avc1.42c01f', description: avcC }, false);
    expect(() => parseInitSegment(new Uint8Array([0, 0, 0, 3, 1, 2, 3, 4]))).toThrow(/BAD_INIT_SEGMENT/);
    expect(() => parseInitSegment(new Uint8Array(0))).toThrow(/BAD_INIT_SEGMENT/);
    for (let cut = 1; cut < good.length; cut += 7) {
      try {
        parseInitSegment(good.subarray(0, cut));
      } catch (e) {
        expect(String(e)).toMatch(/BAD_INIT_SEGMENT/);
      }
    }
  });
});
