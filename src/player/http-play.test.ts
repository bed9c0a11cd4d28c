import { describe, expect, it } from 'vitest';
import { EARLY_MARGIN_MS, HttpMediaBytes, SWARM_GAPS_KEPT, SwarmGaps, chooseHttpVia, earlyFeedWanted, framesStalled, rewindFrames, type EarlyFeedInputs, type HttpPlayInputs } from './http-play.ts';

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

describe('earlyFeedWanted', () => {
  const base: EarlyFeedInputs = { onP2p: true, via: 'frames', swarmSilentMs: 300, earlyMs: 300, usualGapMs: 150, starveMs: 1000 };
  it('starts the frame path\'s feed once the swarm has been silent for earlyMs on P2P, where HTTP would be the frame path', () => {
    expect(earlyFeedWanted(base)).toBe(true);
    expect(earlyFeedWanted({ ...base, swarmSilentMs: 1200 })).toBe(true);
  });
  it('waits past the swarm\'s usual rhythm: a silence as long as its longest recent gap is its bursts, not a stop', () => {
    expect(earlyFeedWanted({ ...base, usualGapMs: 500, swarmSilentMs: 500 })).toBe(false);
    expect(earlyFeedWanted({ ...base, usualGapMs: 500, swarmSilentMs: 500 + EARLY_MARGIN_MS - 1 })).toBe(false);
    expect(earlyFeedWanted({ ...base, usualGapMs: 500, swarmSilentMs: 500 + EARLY_MARGIN_MS })).toBe(true);
  });
  it.each([
    ['the swarm silent for less than earlyMs', { swarmSilentMs: 299 }],
    ['HTTP plays already', { onP2p: false }],
    ['HTTP would play with hls.js (it takes the element: nothing to fill ahead)', { via: 'hls.js' }],
    ['earlyMs 0', { earlyMs: 0 }],
    ['the swarm\'s rhythm not known yet', { usualGapMs: null }],
    ['no swarm frame ever (the no-peers rule)', { swarmSilentMs: Infinity }],
    ['the silence past the starve time and earlyMs (the policy did not switch: HTTP blocked)', { swarmSilentMs: 1300 }],
  ] as const)('not when %s', (_what, change) => {
    expect(earlyFeedWanted({ ...base, ...change })).toBe(false);
  });
});

describe('HttpMediaBytes', () => {
  it('counts each URL once: the edge\'s media is immutable, a second load of a URL is a browser cache hit', () => {
    const b = new HttpMediaBytes();
    b.add('http://e/hls/s/p-part-1-1.m4s', 1000);
    for (let i = 0; i < 50; i++) b.add('http://e/hls/s/p-part-1-2.m4s', 2000);
    b.add('http://e/hls/s/p-seg-1.m4s', 3000);
    b.add('http://e/hls/s/p-seg-2.m4s', 0);
    expect(b.bytes).toBe(6000);
    expect(b.cacheHits).toBe(49);
  });
  it('remembers the newest maxUrls URLs', () => {
    const b = new HttpMediaBytes(2);
    b.add('a', 1);
    b.add('b', 1);
    b.add('c', 1);
    b.add('a', 1);
    expect(b.bytes).toBe(4);
    b.add('c', 1);
    expect(b.cacheHits).toBe(1);
  });
});

describe('SwarmGaps', () => {
  it('knows the swarm\'s usual longest gap once SWARM_GAPS_KEPT gaps are known, over the last that many', () => {
    const g = new SwarmGaps();
    for (let i = 0; i < SWARM_GAPS_KEPT - 1; i++) g.add(i === 0 ? 600 : 200);
    expect(g.usualMs).toBeNull();
    g.add(400);
    expect(g.usualMs).toBe(600);
    g.add(200); // the 600 ms gap is now older than the last SWARM_GAPS_KEPT
    expect(g.usualMs).toBe(400);
    g.add(Infinity);
    g.add(-1);
    expect(g.usualMs).toBe(400);
    g.clear();
    expect(g.usualMs).toBeNull();
  });
});
