import { describe, expect, it } from 'vitest';
import { chooseHttpVia, framesStalled, rewindFrames, type HttpPlayInputs } from './http-play.ts';

const all: HttpPlayInputs = { mse: true, webrtc: true, feedPlays: true, verifiable: true, framesBlocked: false };

describe('chooseHttpVia', () => {
  it('plays the frame feed through the P2P player only when every condition holds', () => {
    expect(chooseHttpVia(all)).toBe('frames');
  });
  it.each([
    ['no MSE (the P2P player cannot play)', { mse: false }],
    ['no WebRTC (no session to check the frames)', { webrtc: false }],
    ['the feed may not play (fallback-feed off or relay)', { feedPlays: false }],
    ['the session cannot check the edge\'s frames (no stream key, or a lower rendition)', { verifiable: false }],
    ['the frame path failed recently', { framesBlocked: true }],
  ] as const)('hls.js when %s', (_what, change) => {
    expect(chooseHttpVia({ ...all, ...change })).toBe('hls.js');
  });
});

describe('rewindFrames', () => {
  it('asks for the frames from the first the session needs to the edge\'s newest, plus a margin of two', () => {
    expect(rewindFrames(120, 111, 64)).toBe(12);
    expect(rewindFrames(120, 121, 64)).toBe(2);
  });
  it('nothing when the session has no frame yet or is well ahead of the edge; at most max', () => {
    expect(rewindFrames(120, null, 64)).toBe(0);
    expect(rewindFrames(100, 120, 64)).toBe(0);
    expect(rewindFrames(1000, 10, 64)).toBe(64);
    expect(rewindFrames(Number.NaN, 10, 64)).toBe(0);
  });
});

describe('framesStalled', () => {
  it('only once on the frame path for stallMs and no frame for stallMs', () => {
    expect(framesStalled(10_000, 8_000, 8_000, 3000)).toBe(false);
    expect(framesStalled(11_000, 8_000, 8_000, 3000)).toBe(true);
    expect(framesStalled(11_000, 8_000, 9_000, 3000)).toBe(false);
    expect(framesStalled(12_000, 8_000, 9_000, 3000)).toBe(true);
  });
});
