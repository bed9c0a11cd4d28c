// servePullRequest on its own, behind a scripted view (no peer core, no wire, no clock): which keys
// a pull request is answered with, in what order, up to its count, within the policy's budget (a
// refused key counts as refused and does not use the count), and which held keys are never passed
// on (excluded, or received from a neighbour with strikes) while the frame is not verified.

import { describe, expect, it } from 'vitest';
import { DEFAULT_PEER_CONFIG, type FrameCodec } from './core-types.ts';
import type { FrameState } from './frame-state.ts';
import { KeySet } from './key-set.ts';
import type { NeighbourState } from './neighbour-state.ts';
import { servePullRequest, type ExchangeView } from './peer-exchange.ts';
import type { WireMessage } from './wire.ts';

const P = 16;
const packetOf = (x: number) => new Uint8Array(P).fill(x & 0xff);

/** A frame in `state` holding `held` keys (each received from `from(x)`), and a view that records what it sends. */
function rig(opts: { state: FrameState['state']; held?: number[]; from?: (x: number) => string; cache?: number; strikes?: Record<string, number>; budget?: (x: number) => boolean }) {
  const held = opts.held ?? [];
  const f = {
    seq: 7,
    state: opts.state,
    have: KeySet.of(held),
    packets: new Map(held.map((x) => [x, packetOf(x)])),
    from: new Map(held.map((x) => [x, opts.from?.(x) ?? 'n1'])),
    exclude: new KeySet(),
    frame: opts.state === 'done' ? new Uint8Array(1000) : undefined,
  } as unknown as FrameState;
  const encoded: number[] = [];
  const codec = {
    feedPacket: (_frame: Uint8Array, x: number) => {
      encoded.push(x);
      return packetOf(x + 1);
    },
  } as unknown as FrameCodec;
  const sent: Array<{ to: string; m: WireMessage; expires: number }> = [];
  const asked: number[] = [];
  const view = {
    cfg: { ...DEFAULT_PEER_CONFIG, cacheEncodedPackets: opts.cache ?? 1 },
    codec,
    frames: new Map([[7, f]]),
    sendMedia: (to: string, m: WireMessage, expires: number) => sent.push({ to, m, expires }),
    strikesOf: (p: string) => opts.strikes?.[p] ?? 0,
    mayServe: (_p: string, _seq: number, x: number) => {
      asked.push(x);
      return (opts.budget?.(x) ?? true) ? 'serve' : 'over';
    },
  } as unknown as ExchangeView;
  const n = { peerId: 'asker' } as NeighbourState;
  const serve = (keys: number[], count = 255, seq = 7, now = 1000) => servePullRequest(view, n, seq, count, KeySet.of(keys), now);
  const keys = () => sent.map((s) => (s.m.type === 'feed' ? s.m.x : -1));
  return { f, view, sent, keys, asked, encoded, serve };
}

describe('servePullRequest', () => {
  it('a collecting frame: the held keys asked for, lowest first, as feed packets of that frame expiring maxRequestTimeoutMs from now', () => {
    const r = rig({ state: 'collecting', held: [1, 3, 5, 70] });
    expect(r.serve([0, 1, 2, 3, 70, 71], 255, 7, 1000)).toEqual({ served: 3, refused: 0 });
    expect(r.keys()).toEqual([1, 3, 70]);
    expect(r.sent.map((s) => s.to)).toEqual(['asker', 'asker', 'asker']);
    expect(r.sent.map((s) => s.expires)).toEqual([1700, 1700, 1700]);
    expect(DEFAULT_PEER_CONFIG.maxRequestTimeoutMs).toBe(700);
    const m = r.sent[1].m;
    expect(m.type === 'feed' && [m.seq, m.x, [...m.payload]]).toEqual([7, 3, [...packetOf(3)]]);
    // Keys not held are not even put to the budget.
    expect(r.asked).toEqual([1, 3, 70]);
  });

  it('count keys at most: count 2 of 3 held gives the lowest 2; count 3 gives 3', () => {
    const r = rig({ state: 'collecting', held: [1, 2, 3] });
    expect(r.serve([1, 2, 3], 2)).toEqual({ served: 2, refused: 0 });
    expect(r.keys()).toEqual([1, 2]);
    // Once count is reached the rest is not put to the budget either.
    expect(r.asked).toEqual([1, 2]);
    const s = rig({ state: 'collecting', held: [1, 2, 3] });
    expect(s.serve([1, 2, 3], 3)).toEqual({ served: 3, refused: 0 });
    expect(s.serve([1, 2, 3], 0)).toEqual({ served: 0, refused: 0 });
  });

  it('a key the budget refuses is counted as refused, does not use the count, and the next keys are still served', () => {
    const r = rig({ state: 'collecting', held: [1, 2, 3, 4], budget: (x) => x !== 2 });
    expect(r.serve([1, 2, 3, 4], 3)).toEqual({ served: 3, refused: 1 });
    expect(r.keys()).toEqual([1, 3, 4]);
  });

  it('unverified keys are not passed on when excluded or received from a neighbour with strikes; keys made here are', () => {
    const r = rig({ state: 'collecting', held: [1, 2, 3, 4], from: (x) => (x === 2 ? 'struck' : x === 4 ? '' : 'n1'), strikes: { struck: 1 } });
    r.f.exclude.add(3);
    expect(r.serve([1, 2, 3, 4])).toEqual({ served: 2, refused: 0 });
    expect(r.keys()).toEqual([1, 4]);
    // None of the skipped ones was put to the budget.
    expect(r.asked).toEqual([1, 4]);
  });

  it('a frame being hashed is served like a collecting one', () => {
    const r = rig({ state: 'hashing', held: [1, 2], from: (x) => (x === 2 ? 'struck' : 'n1'), strikes: { struck: 1 } });
    expect(r.serve([0, 1, 2])).toEqual({ served: 1, refused: 0 });
    expect(r.keys()).toEqual([1]);
  });

  it('a frame decoded but not yet verified (its digest being checked) is still served like a collecting one', () => {
    const r = rig({ state: 'hashing', held: [1, 2, 3], from: (x) => (x === 2 ? 'struck' : 'n1'), strikes: { struck: 1 } });
    r.f.frame = new Uint8Array(1000);
    r.f.exclude.add(3);
    expect(r.serve([0, 1, 2, 3])).toEqual({ served: 1, refused: 0 });
    expect(r.keys()).toEqual([1]);
    expect(r.encoded).toEqual([]);
  });

  it('a verified frame: any key, held packets as they are, others encoded from the frame once and cached', () => {
    const r = rig({ state: 'done', held: [1], from: () => 'struck', strikes: { struck: 5 } });
    r.f.exclude.add(1);
    expect(r.serve([1, 2, 200])).toEqual({ served: 3, refused: 0 });
    expect(r.keys()).toEqual([1, 2, 200]);
    const payloads = r.sent.map((s) => (s.m.type === 'feed' ? s.m.payload[0] : -1));
    // Key 1 is the held packet (its bytes are 1); 2 and 200 were encoded (bytes x + 1).
    expect(payloads).toEqual([1, 3, 201]);
    expect(r.encoded).toEqual([2, 200]);
    expect([...r.f.packets.keys()].sort((a, b) => a - b)).toEqual([1, 2, 200]);
    r.serve([2, 200]);
    expect(r.encoded).toEqual([2, 200]);
  });

  it('with cacheEncodedPackets 0 an encoded packet is not kept: each request encodes it again', () => {
    const r = rig({ state: 'done', cache: 0 });
    r.serve([5]);
    r.serve([5]);
    expect(r.encoded).toEqual([5, 5]);
    expect(r.f.packets.size).toBe(0);
  });

  it('an unknown or missed frame: nothing served, nothing refused', () => {
    const r = rig({ state: 'collecting', held: [1] });
    expect(r.serve([1], 255, 8)).toEqual({ served: 0, refused: 0 });
    const m = rig({ state: 'missed', held: [1] });
    expect(m.serve([1])).toEqual({ served: 0, refused: 0 });
    expect([...r.sent, ...m.sent]).toEqual([]);
  });
});
