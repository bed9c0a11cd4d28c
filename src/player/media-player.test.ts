import { describe, expect, it } from 'vitest';
import { expectCode } from '../expect-code.ts';
import { MediaPlayer } from './media-player.ts';

// MediaSource playback itself runs in the browser (e2e/); here only what needs no DOM.
describe('MediaPlayer outside a page', () => {
  it('a destroyed player refuses a media element with DESTROYED, and a bad config with BAD_CONFIG', () => {
    expectCode(() => new MediaPlayer({ targetLatencyS: -1 }), 'BAD_CONFIG');
    expectCode(() => new MediaPlayer({ fastCatchUpRate: 1.02 }), 'BAD_CONFIG'); // below catchUpRate
    expectCode(() => new MediaPlayer({ fastCatchUpBeyondS: -0.1 }), 'BAD_CONFIG');
    expectCode(() => new MediaPlayer({ startGraceMs: -1 }), 'BAD_CONFIG');
    expect(() => new MediaPlayer({ fastCatchUpRate: 1.06, fastCatchUpBeyondS: 0, startGraceMs: 0 })).not.toThrow();
    const player = new MediaPlayer();
    player.destroy();
    expectCode(() => player.attachMedia({} as HTMLMediaElement), 'DESTROYED');
    expect(player.media).toBeNull();
  });
});
