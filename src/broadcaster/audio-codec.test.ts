// The broadcaster's audio codec choice and rates, in Node: Node has no WebCodecs AudioEncoder, so
// Opus cannot be encoded here and AAC only through the WASM encoder (@mediabunny/aac-encoder), which
// this test loads for real; MediaSource is a stand-in (isTypeSupported) where a case needs one.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AudioSample, AudioSampleSource, Mp4OutputFormat, NullTarget, Output, Quality } from 'mediabunny';
import { expectCode, expectRejectCode } from '../expect-code.ts';
import { parseInitSegment } from '../media/init-segment.ts';
import { resolveBroadcasterConfig } from './broadcaster-config.ts';
import { aacSampleRate, audioEncodeRate, chooseAudioCodec, OPUS_SAMPLE_RATE } from './media-broadcaster.ts';

function stubMse(plays: (type: string) => boolean) {
  const asked: string[] = [];
  vi.stubGlobal('MediaSource', { isTypeSupported: (t: string) => (asked.push(t), plays(t)) });
  return asked;
}

describe('audio codec choice', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('defaults to Opus first, AAC second, and rejects unknown or empty lists', () => {
    expect(resolveBroadcasterConfig().audio?.codecs).toEqual(['opus', 'aac']);
    expect(resolveBroadcasterConfig({ audio: { codecs: ['aac'] } }).audio).toEqual({ bitrateBps: 64_000, codecs: ['aac'] });
    expectCode(() => resolveBroadcasterConfig({ audio: { codecs: [] } }), 'BAD_CONFIG');
    expectCode(() => resolveBroadcasterConfig({ audio: { codecs: ['mp3' as never] } }), 'BAD_CONFIG');
  });

  it('AAC keeps 44.1 and 48 kHz and resamples any other rate to 48 kHz; Opus always runs at 48 kHz', () => {
    expect([44_100, 48_000, 16_000, 96_000, 22_050, undefined].map(aacSampleRate)).toEqual([44_100, 48_000, 48_000, 48_000, 48_000, 48_000]);
    expect(audioEncodeRate('opus', 44_100)).toBe(OPUS_SAMPLE_RATE);
    expect(audioEncodeRate('aac', 44_100)).toBe(44_100);
  });

  it('takes AAC through the WASM encoder where Opus cannot be encoded (Node has no AudioEncoder)', async () => {
    expect(await chooseAudioCodec(['opus', 'aac'], 2, 44_100, 64_000)).toBe('aac');
    expect(await chooseAudioCodec(['aac', 'opus'], 1, 48_000, 64_000)).toBe('aac');
  });

  it('NO_AUDIO_CODEC when none of the list can be encoded, or MSE plays none of it', async () => {
    await expectRejectCode(chooseAudioCodec(['opus'], 2, 48_000, 64_000), 'NO_AUDIO_CODEC');
    const asked = stubMse(() => false);
    await expectRejectCode(chooseAudioCodec(['opus', 'aac'], 2, 48_000, 64_000), 'NO_AUDIO_CODEC');
    expect(asked).toEqual(['audio/mp4; codecs="opus"', 'audio/mp4; codecs="mp4a.40.2"']);
  });

  it('skips a codec MSE does not play even when it can be encoded', async () => {
    stubMse((t) => !t.includes('mp4a'));
    await expectRejectCode(chooseAudioCodec(['aac'], 2, 48_000, 64_000), 'NO_AUDIO_CODEC');
  });

  it('AAC-LC from the WASM encoder muxes into an init segment the player reads, at each rate it keeps', async () => {
    await chooseAudioCodec(['aac'], 2, 48_000, 64_000); // registers the WASM encoder
    for (const [trackRate, channels] of [[44_100, 1], [44_100, 2], [48_000, 2], [16_000, 1], [96_000, 2]] as const) {
      const rate = aacSampleRate(trackRate);
      const parts: Uint8Array[] = [];
      let fragments = 0;
      const output = new Output({
        format: new Mp4OutputFormat({ fastStart: 'fragmented', minimumFragmentDuration: 0.2, onFtyp: (d) => parts.push(d.slice()), onMoov: (d) => parts.push(d.slice()), onMdat: () => fragments++ }),
        target: new NullTarget(),
      });
      const source = new AudioSampleSource({ codec: 'aac', bitrate: new Quality(64_000) });
      output.addAudioTrack(source);
      await output.start();
      // 1 s of a 440 Hz tone at the encode rate (the broadcaster resamples to it before the encoder).
      for (let i = 0; i < 50; i++) {
        const n = rate / 50;
        const data = new Float32Array(n * channels);
        for (let j = 0; j < n; j++) for (let c = 0; c < channels; c++) data[j * channels + c] = 0.3 * Math.sin((2 * Math.PI * 440 * (i * n + j)) / rate);
        await source.add(new AudioSample({ data, format: 'f32', numberOfChannels: channels, sampleRate: rate, timestamp: i / 50 }));
      }
      await output.finalize();
      const init = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
      parts.reduce((at, p) => (init.set(p, at), at + p.length), 0);
      const info = parseInitSegment(init);
      expect(info.mimeType).toBe('audio/mp4; codecs="mp4a.40.2"');
      expect(info.audio).toEqual({ codec: 'mp4a.40.2', sampleRate: rate, channels, timescale: rate });
      expect(fragments).toBeGreaterThan(1);
    }
  });
});
