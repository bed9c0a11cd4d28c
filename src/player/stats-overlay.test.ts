import { describe, expect, it } from 'vitest';
import { formatBytes, statsLines } from './stats-overlay.ts';
import type { PlayerStats } from './player-config.ts';

const base: PlayerStats = {
  status: 'playing', codecs: 'avc1.42c01f,opus', latencyS: 0.81, targetLatencyS: 0.7, glassToGlassMs: 930, bufferAheadS: 0.5, framesIn: 10,
  badFrames: 0, fragmentsAppended: 9, fragmentsSkipped: 1, fragmentsOnTime: 0.9, seeks: 0, resets: 0, playbackRate: 1,
  decodedFrames: 120, droppedFrames: 0, session: null,
};

describe('stats overlay text', () => {
  it('shows the player numbers and dashes where the session has none', () => {
    const lines = statsLines(base);
    expect(lines).toContain('peers       –');
    expect(lines).toContain('latency     0.81 s  (target 0.70 s, glass 0.93 s)');
    expect(lines).toContain('on time     90.0 %  (skipped 1)');
  });

  it('prefers the session numbers when given', () => {
    const lines = statsLines({ ...base, session: { peers: 4, shareFromPeers: 0.875, bytesUp: 2048, bytesDown: 3 * 1024 * 1024, framesOnTime: 0.995 } });
    expect(lines).toContain('peers       4');
    expect(lines).toContain('from peers  87.5 %');
    expect(lines).toContain('on time     99.5 %  (skipped 1)');
    expect(lines).toContain('bytes       ↓ 3.0 MiB  ↑ 2.0 KiB');
  });

  it('says which rendition plays, whether chosen automatically, and a switch under way', () => {
    const qualities = [{ name: '720p', height: 720, bitrateBps: 1_500_000 }, { name: '360p', height: 360, bitrateBps: 400_000 }];
    expect(statsLines(base).some((l) => l.startsWith('quality'))).toBe(false);
    expect(statsLines({ ...base, rendition: { qualities, playing: '720p', quality: 'auto', switchingTo: null, switches: 0 } })).toContain('quality     720p  (auto, 720p / 360p)');
    expect(statsLines({ ...base, rendition: { qualities, playing: '720p', quality: '360p', switchingTo: '360p', switches: 0 } })).toContain('quality     720p → 360p  (fixed, 720p / 360p)');
  });

  it('with the safety net, a feed line says which path plays and the share of media bytes from the swarm and over HTTP', () => {
    const source = { path: 'p2p', shareFromHttp: 0, httpBytes: 0, p2pBytes: 0, switches: 0 };
    expect(statsLines(base).some((l) => l.startsWith('feed'))).toBe(false);
    expect(statsLines({ ...base, source })).toContain('feed        P2P now  (media swarm –, HTTP – of 0 B)');
    // HTTP counts hls.js's fragments and the frame feed's bundles: 1 KiB + 2 KiB against 1 KiB from the swarm.
    const http = { ...source, path: 'http', httpBytes: 1024, p2pBytes: 1024, feed: { bytes: 2048 }, glassToGlassMs: 2100, rejoins: 2 };
    expect(statsLines({ ...base, source: http })).toContain('feed        HTTP now  (media swarm 25.0 %, HTTP 75.0 % of 4.0 KiB, glass 2.10 s, 2 rejoins)');
    expect(statsLines({ ...base, source: { ...source, path: 'p2p', httpBytes: 3072, p2pBytes: 1024, rejoins: 1 } })).toContain('feed        P2P now  (media swarm 25.0 %, HTTP 75.0 % of 4.0 KiB, 1 rejoin)');
    expect(statsLines({ ...base, source: { ...http, via: 'frames' } })).toContain('feed        HTTP (frames) now  (media swarm 25.0 %, HTTP 75.0 % of 4.0 KiB, glass 2.10 s, 2 rejoins)');
    expect(statsLines({ ...base, source: { ...http, via: 'hls.js' } })).toContain('feed        HTTP (hls.js) now  (media swarm 25.0 %, HTTP 75.0 % of 4.0 KiB, glass 2.10 s, 2 rejoins)');
    expect(statsLines({ ...base, source: { ...source, path: 'native-hls', httpBytes: 10 } })).toContain('feed        HTTP (native HLS) now  (media swarm 0.0 %, HTTP 100.0 % of 10 B)');
  });

  it('formats byte counts', () => {
    expect([formatBytes(5), formatBytes(1536), formatBytes(5 * 1024 * 1024)]).toEqual(['5 B', '1.5 KiB', '5.0 MiB']);
  });
});
