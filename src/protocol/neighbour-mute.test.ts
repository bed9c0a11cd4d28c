// A neighbour that announces keys and never sends them is muted: asked for nothing for a while,
// its offers not counted. An honest neighbour that delivers, even with losses, is not.

import { describe, expect, it } from 'vitest';
import { MUTE_AFTER_KEYS, MUTE_MS, MUTE_NEVER_DELIVERED_KEYS, MUTE_QUIET_MS, NeighbourState } from './neighbour-state.ts';

describe('neighbour mute', () => {
  it('mutes a neighbour that never delivered after its requests time out, then asks it again', () => {
    const n = new NeighbourState('w', 8);
    for (let i = 0; i < MUTE_NEVER_DELIVERED_KEYS - 1; i++) n.timedOut();
    expect(n.isMuted(1000)).toBe(false);
    n.timedOut();
    expect(n.isMuted(1000)).toBe(true);
    expect(n.isMuted(1000 + MUTE_MS)).toBe(true);
    // Asked again after MUTE_MS; a quarter as many timeouts mute it again.
    expect(n.isMuted(1001 + MUTE_MS)).toBe(false);
    expect(n.isMuted(1002 + MUTE_MS)).toBe(false);
    n.timedOut();
    n.timedOut();
    expect(n.isMuted(1003 + MUTE_MS)).toBe(true);
  });

  it('a neighbour that delivers is muted only after many timeouts in a row and a quiet spell', () => {
    const n = new NeighbourState('h', 8);
    n.delivered(true, 50, 100);
    for (let i = 0; i < MUTE_AFTER_KEYS; i++) n.timedOut();
    expect(n.isMuted(100 + MUTE_QUIET_MS - 1)).toBe(false);
    // One delivery resets the count.
    n.delivered(true, 50, 200);
    for (let i = 0; i < MUTE_AFTER_KEYS - 1; i++) n.timedOut();
    expect(n.isMuted(200 + MUTE_QUIET_MS + 1)).toBe(false);
    n.timedOut();
    expect(n.isMuted(200 + MUTE_QUIET_MS + 1)).toBe(true);
    // A late delivery unmutes it at once.
    n.delivered(true, 50, 300 + MUTE_QUIET_MS);
    expect(n.isMuted(301 + MUTE_QUIET_MS)).toBe(false);
  });
});
