// The broadcaster's start rules, reached in Node with stand-ins for the browser APIs it asks
// (WebCodecs' VideoEncoder.isConfigSupported, MSE's MediaSource.isTypeSupported) and a stand-in
// camera stream: codec choice, the start timeout, start() in the wrong state. Encoding itself runs
// in the browser (e2e/).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectRejectCode, expectReportedCode } from '../expect-code.ts';
import type { P2PError } from '../errors.ts';
import { MediaBroadcaster, chooseVideoCodec } from './media-broadcaster.ts';

/** A VideoEncoder whose isConfigSupported answers `supported(codecString)`. */
function stubEncoder(supported: (codec: string) => boolean | Promise<never>) {
  const asked: string[] = [];
  vi.stubGlobal('VideoEncoder', {
    isConfigSupported: (config: { codec: string }) => {
      asked.push(config.codec);
      const s = supported(config.codec);
      return s instanceof Promise ? s : Promise.resolve({ supported: s, config });
    },
  });
  return asked;
}

function stubMse(plays: (type: string) => boolean) {
  const asked: string[] = [];
  vi.stubGlobal('MediaSource', { isTypeSupported: (t: string) => (asked.push(t), plays(t)) });
  return asked;
}

/** A camera (and microphone) stream as MediaBroadcaster reads it. */
function stream(width: number, withAudio: boolean): MediaStream {
  const video = { kind: 'video', getSettings: () => ({ width, height: 360 }) };
  const audio = { kind: 'audio', getSettings: () => ({ sampleRate: 48_000 }) };
  return { getVideoTracks: () => [video], getAudioTracks: () => (withAudio ? [audio] : []) } as unknown as MediaStream;
}

// mediabunny memoizes encoder answers per configuration: each case uses its own width.
describe('chooseVideoCodec', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('NO_VIDEO_CODEC when the encoder supports none of the codecs, after asking for each', async () => {
    stubMse(() => true);
    const asked = stubEncoder(() => false);
    await expectRejectCode(chooseVideoCodec(['avc', 'vp9', 'av1'], 642, 360, 800_000), 'NO_VIDEO_CODEC');
    expect(new Set(asked.map((c) => c.slice(0, 4)))).toEqual(new Set(['avc1', 'vp09', 'av01']));
  });

  it('NO_VIDEO_CODEC when MSE plays none of them, without asking the encoder', async () => {
    const mse = stubMse(() => false);
    const asked = stubEncoder(() => true);
    await expectRejectCode(chooseVideoCodec(['avc', 'vp9'], 644, 360, 800_000), 'NO_VIDEO_CODEC');
    expect(mse).toEqual(['video/mp4; codecs="avc1.42e01f"', 'video/mp4; codecs="vp09.00.31.08"']);
    expect(asked).toEqual([]);
  });

  it('takes the first codec both the encoder and MSE accept', async () => {
    stubMse((t) => !t.includes('av01'));
    stubEncoder((c) => !c.startsWith('avc1'));
    expect(await chooseVideoCodec(['avc', 'av1', 'vp9'], 646, 360, 800_000)).toBe('vp9');
  });
});

describe('MediaBroadcaster.start', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('ENCODER_FAILED when the encoders have not started within startTimeoutMs; the error names the microphone when there is one', async () => {
    vi.useFakeTimers();
    stubMse(() => true);
    stubEncoder(() => new Promise<never>(() => {})); // an encoder that never answers
    for (const withAudio of [false, true]) {
      const b = new MediaBroadcaster({ startTimeoutMs: 2000 });
      const errors: P2PError[] = [];
      b.on('error', (e) => errors.push(e));
      const started = b.start(stream(withAudio ? 650 : 648, withAudio));
      const outcome = expectRejectCode(started, 'ENCODER_FAILED');
      await vi.advanceTimersByTimeAsync(1999);
      expect(b.state).toBe('starting');
      await vi.advanceTimersByTimeAsync(1);
      expect(b.state).toBe('failed');
      await outcome;
      expect(errors).toHaveLength(1);
      expectReportedCode(errors[0], 'ENCODER_FAILED');
      expect(errors[0].message.includes('try without the microphone')).toBe(withAudio);
    }
  });

  it('BAD_STATE for start() while starting and after a failed start', async () => {
    stubMse(() => false); // no codec plays: the first start fails with NO_VIDEO_CODEC
    const b = new MediaBroadcaster();
    const first = b.start(stream(652, false));
    await expectRejectCode(b.start(stream(652, false)), 'BAD_STATE');
    await expectRejectCode(first, 'NO_VIDEO_CODEC');
    expect(b.state).toBe('failed');
    await expectRejectCode(b.start(stream(652, false)), 'BAD_STATE');
  });
});
