import { describe, expect, it } from 'vitest';
import { statsLines } from './stats-overlay.ts';
import type { PlayerStats } from './player-config.ts';

const playing: PlayerStats = {
  status: 'playing', codecs: 'avc1.42c01f,opus', latencyS: 0.81, targetLatencyS: 0.7, glassToGlassMs: 930, bufferAheadS: 0.5, framesIn: 10,
  badFrames: 0, fragmentsAppended: 9, fragmentsSkipped: 1, fragmentsOnTime: 0.9, seeks: 0, resets: 0, playbackRate: 1,
  decodedFrames: 120, droppedFrames: 0, session: null,
};

describe('stats overlay after the broadcast stops', () => {
  it('shows no latency or glass-to-glass figure unless playing (it would climb with the clock)', () => {
    for (const status of ['ended', 'waiting-for-broadcaster', 'error', 'no-peers'] as const) {
      const lines = statsLines({ ...playing, status, glassToGlassMs: 42_000, latencyS: 0.2 });
      expect(lines).toContain('latency     –  (target 0.70 s, glass –)');
    }
    expect(statsLines(playing)).toContain('latency     0.81 s  (target 0.70 s, glass 0.93 s)');
  });
});
