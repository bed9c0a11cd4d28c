import { describe, expect, it } from 'vitest';
import { expectCode } from '../expect-code.ts';
import { resolveBroadcasterConfig, resolveRenditions } from './broadcaster-config.ts';
import { MediaBroadcaster } from './media-broadcaster.ts';

describe('renditions option', () => {
  it('defaults to one rendition: the config is as without the option', () => {
    const c = resolveBroadcasterConfig({ video: { bitrateBps: 900_000 } });
    expect(c.renditions).toEqual([]);
    expect(c.video!.bitrateBps).toBe(900_000);
    expect(new MediaBroadcaster().lower).toEqual([]);
  });

  it('names, sizes and prices each rendition; the top one sets the video', () => {
    const c = resolveBroadcasterConfig({ video: { bitrateBps: 1_600_000 }, renditions: [{ height: 720 }, { height: 360 }, { height: 180, bitrateBps: 150_000, name: 'tiny' }] });
    expect(c.renditions).toEqual([
      { name: '720p', height: 720, bitrateBps: 1_600_000 },
      { name: '360p', height: 360, bitrateBps: 400_000 },
      { name: 'tiny', height: 180, bitrateBps: 150_000 },
    ]);
    expect(c.video!.height).toBe(720);
    const b = new MediaBroadcaster({ video: { bitrateBps: 1_600_000 }, renditions: [{ height: 720 }, { height: 360 }] });
    expect(b.rendition?.name).toBe('720p');
    expect(b.lower.map((l) => [l.rendition?.name, l.config.video?.height, l.config.video?.bitrateBps])).toEqual([['360p', 360, 400_000]]);
    expect(b.lower[0].lower).toEqual([]);
  });

  it('refuses bad renditions with BAD_RENDITIONS', () => {
    const cases: unknown[] = [
      'two',
      Array.from({ length: 5 }, (_, i) => ({ height: 1000 - 100 * i })),
      [{ height: 360 }, { height: 720 }],
      [{ height: 720 }, { height: 720 }],
      [{ height: 361 }],
      [{ height: 16 }],
      [{ height: 8192 }],
      [{ height: 720 }, { height: 360, bitrateBps: 10 }],
      [{ height: 720, name: 'HD' }],
      [{ height: 720, name: 'a'.repeat(17) }],
      [{ height: 720, name: 'same' }, { height: 360, name: 'same' }],
      [{}],
    ];
    for (const r of cases) expectCode(() => resolveBroadcasterConfig({ renditions: r as never }), 'BAD_RENDITIONS');
    expectCode(() => resolveRenditions([{ height: 720 }], null), 'BAD_RENDITIONS');
    expectCode(() => resolveBroadcasterConfig({ video: null, renditions: [{ height: 720 }] }), 'BAD_RENDITIONS');
  });
});
