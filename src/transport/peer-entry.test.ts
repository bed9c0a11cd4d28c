import { describe, expect, it } from 'vitest';
import { isP2PError } from '../errors.ts';
import { checkChannel, checkPeerId, newPeerEntry, peerStatsOf, resetProgress, stallOf } from './peer-entry.ts';
import { expectCode } from '../expect-code.ts';

const connectedPeer = () => {
  const p = newPeerEntry<void>('p', true);
  p.state = 'connected';
  resetProgress(p, 0);
  return p;
};

describe('stallOf', () => {
  it('is never stalled with empty buffers and a live path', () => {
    const p = connectedPeer();
    for (const t of [0, 5000, 60_000]) expect(stallOf(p, t, 1000, false, () => 0)).toBeUndefined();
  });

  it('reports a path lost for the limit, and forgets it when the path comes back', () => {
    const p = connectedPeer();
    expect(stallOf(p, 100, 1000, true, () => 0)).toBeUndefined();
    expect(stallOf(p, 900, 1000, true, () => 0)).toBeUndefined();
    expect(stallOf(p, 1000, 1000, false, () => 0)).toBeUndefined();
    expect(stallOf(p, 1500, 1000, true, () => 0)).toBeUndefined();
    expect(stallOf(p, 2500, 1000, true, () => 0)).toBe('path lost for 1000 ms');
  });

  it('reports a buffer with bytes and none leaving, not one that drains slowly', () => {
    const slow = connectedPeer();
    slow.channels.control.bytesOut = 10_000;
    let buffered = 10_000;
    for (let t = 0; t <= 10_000; t += 500) {
      expect(stallOf(slow, t, 1000, false, (ch) => (ch === 'control' ? buffered : 0))).toBeUndefined();
      buffered -= 400; // some bytes leave between checks
    }
    const stuck = connectedPeer();
    stuck.channels.media.bytesOut = 3000;
    const media = (ch: string) => (ch === 'media' ? 3000 : 0);
    expect(stallOf(stuck, 0, 1000, false, media)).toBeUndefined();
    expect(stallOf(stuck, 999, 1000, false, media)).toBeUndefined();
    expect(stallOf(stuck, 1000, 1000, false, media)).toBe('media buffer of 3000 bytes made no progress for 1000 ms');
  });
});

describe('peer entry helpers', () => {
  it('snapshots stats without sharing the counters', () => {
    const p = newPeerEntry<void>('p', false);
    const s = peerStatsOf(p);
    p.channels.media.messagesIn = 5;
    expect(s.media.messagesIn).toBe(0);
    expect(s).toMatchObject({ state: 'connecting', initiator: false, signalsIn: 0 });
  });

  it('rejects bad peer ids and channels with stable codes', () => {
    for (const id of ['', 'x'.repeat(129), 5, undefined]) {
      expectCode(() => checkPeerId(id), 'TRANSPORT_BAD_PEER_ID');
    }
    expect(() => checkPeerId('x'.repeat(128))).not.toThrow();
    expectCode(() => checkChannel('audio'), 'TRANSPORT_BAD_CHANNEL');
    expect(isP2PError(new Error('x'))).toBe(false);
  });
});
