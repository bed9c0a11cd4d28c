import { describe, expect, it } from 'vitest';
import { DEFAULT_BROADCASTER_CONFIG, resolveBroadcasterConfig } from './broadcaster-config.ts';
import { avcCodecString } from './media-broadcaster.ts';

describe('resolveBroadcasterConfig', () => {
  it('fills defaults and merges partial video settings', () => {
    expect(resolveBroadcasterConfig()).toEqual(DEFAULT_BROADCASTER_CONFIG);
    const c = resolveBroadcasterConfig({ video: { bitrateBps: 800_000 } as never, audio: null });
    expect(c.video!.bitrateBps).toBe(800_000);
    expect(c.video!.frameRate).toBe(30);
    expect(c.audio).toBeNull();
  });

  it.each([
    [{ video: null, audio: null }, /both off/],
    [{ video: { bitrateBps: 1 } }, /bitrateBps/],
    [{ video: { keyFrameIntervalS: 0 } }, /keyFrameIntervalS/],
    [{ video: { width: 17.5 } }, /video size/],
    [{ video: { codecs: ['h266'] } }, /codecs/],
    [{ fragmentDurationS: 60 }, /fragmentDurationS/],
    [{ maxCarryTicks: -1 }, /maxCarryTicks/],
    [{ audio: { bitrateBps: 1 } }, /audio.bitrateBps/],
  ])('rejects %j', (partial, message) => {
    expect(() => resolveBroadcasterConfig(partial as never)).toThrow(message);
    expect(() => resolveBroadcasterConfig(partial as never)).toThrow(/BAD_CONFIG/);
  });
});

describe('avcCodecString', () => {
  it('picks the lowest constrained-baseline level that fits', () => {
    expect(avcCodecString(640, 480)).toBe('avc1.42e01e');
    expect(avcCodecString(1280, 720)).toBe('avc1.42e01f');
    expect(avcCodecString(1920, 1080)).toBe('avc1.42e028');
  });
});
