import { describe, expect, it } from 'vitest';
import { EncodedAudioPacketSource, EncodedPacket, Mp4OutputFormat, NullTarget, Output } from 'mediabunny';
import { parseInitSegment } from './init-segment.ts';

// An Opus-only init segment written by mediabunny for an encoder that reports `rate` and `channels`.
async function opusInit(rate: number, channels: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const output = new Output({
    format: new Mp4OutputFormat({ fastStart: 'fragmented', onFtyp: (d) => parts.push(d.slice()), onMoov: (d) => parts.push(d.slice()) }),
    target: new NullTarget(),
  });
  const a = new EncodedAudioPacketSource('opus');
  output.addAudioTrack(a);
  await output.start();
  const head = new Uint8Array(19);
  head.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64, 1, channels, 0x38, 1]);
  new DataView(head.buffer).setUint32(12, rate, true);
  await a.add(new EncodedPacket(new Uint8Array(50), 'key', 0, 0.02), { decoderConfig: { codec: 'opus', sampleRate: rate, numberOfChannels: channels, description: head } });
  await output.finalize();
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

describe('parseInitSegment audio track', () => {
  it('reads the Opus sample entry rate, channels, track timescale and header input rate', async () => {
    expect(parseInitSegment(await opusInit(48_000, 2)).audio).toEqual({ codec: 'opus', sampleRate: 48_000, channels: 2, timescale: 48_000, inputSampleRate: 48_000 });
    // What the broadcaster wrote for a 44.1 kHz microphone before it resampled: a rate Opus in MP4 does not allow.
    expect(parseInitSegment(await opusInit(44_100, 1)).audio).toEqual({ codec: 'opus', sampleRate: 44_100, channels: 1, timescale: 44_100, inputSampleRate: 44_100 });
  });

  it('rejects a truncated Opus sample entry with BAD_INIT_SEGMENT', async () => {
    const init = await opusInit(48_000, 1);
    const i = init.findIndex((_, k) => String.fromCharCode(...init.subarray(k, k + 4)) === 'Opus');
    const cut = init.slice();
    // Shrink the Opus sample entry below its fixed 28 bytes (and its parents keep their sizes): unreadable.
    new DataView(cut.buffer).setUint32(i - 4, 8 + 20);
    expect(() => parseInitSegment(cut)).toThrow(/BAD_INIT_SEGMENT/);
  });
});
