// A viewer that its neighbours stop delivering to must get frames again by itself once they can.
// Two ways it could not (pair harness, virtual time, real bytes and crypto):
// - its inbound media lost while its links and control messages stay up (a neighbourhood that
//   cannot upload to it, the browser test's dropped media): every key it asked timed out and was
//   asked again, past each neighbour's serving budget, and every refused request counted as a bad
//   message against it: its neighbours banned it for good within about 2 s, and it got nothing
//   after the loss ended;
// - its links cut for longer than its frame window (maxAheadFrames): every frame it had expired,
//   its core stopped waking (no frame open), and the probe that moves the window to a neighbour's
//   newer frames runs only at a tick: relinked to viewers only, it got nothing again.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { NeighbourPolicy, DEFAULT_POLICY } from './neighbour-policy.ts';
import { NeighbourState } from './neighbour-state.ts';
import { DEFAULT_PEER_CONFIG } from './core-types.ts';
import { PeerCore } from './peer-core.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

/**
 * Broadcaster b and viewers a, c, e, all linked (a to b only when `aToB`); a frame every 100 ms
 * until `untilMs`; `at(seq)` runs before each frame. Returns when each frame was published.
 */
async function swarm(untilMs: number, at: (h: CoreHarness, seq: number) => void, aToB = true) {
  const h = await CoreHarness.create();
  h.delayMs = 10;
  const b = new BroadcasterCore({ codec });
  h.add('b', b);
  const viewers = ['a', 'c', 'e'];
  for (const [i, v] of viewers.entries()) h.add(v, new PeerCore({ peerId: v, codec, config: { seed: 11 + i } }));
  for (const v of viewers) if (aToB || v !== 'a') h.link('b', v);
  for (let i = 0; i < viewers.length; i++) for (let j = i + 1; j < viewers.length; j++) h.link(viewers[i], viewers[j]);
  const published = new Map<number, number>();
  for (let s = 0; h.now < untilMs; s++) {
    at(h, s);
    published.set(b.publishFrame(frameBytes(6000, s), 0, h.now, h.now), h.now);
    h.flush('b');
    await h.drive(h.now + 100);
  }
  await h.drive(h.now + 3000);
  /** Frames published from `fromMs` on, and how many of them `v` delivered. */
  const since = (v: string, fromMs: number) => {
    const seqs = new Set([...published].filter(([, t]) => t >= fromMs).map(([seq]) => seq));
    return { published: seqs.size, delivered: (h.delivered.get(v) ?? []).filter((d) => seqs.has(d.manifest.seq)).length };
  };
  return { h, since };
}

describe('a viewer its neighbours stop delivering to', () => {
  it('inbound media lost for 15 s, links and control up: no neighbour bans it, and it gets frames again once the media comes back', async () => {
    // Before: c and e banned a 2.2 s into the loss ("request beyond its budget"), and a got none of
    // the 200 frames published from 2 s after the loss ended.
    const { h, since } = await swarm(40_000, (hh) => {
      hh.dropMedia = (_from, to) => to === 'a' && hh.now >= 5000 && hh.now < 20_000;
    });
    expect(h.badPeers.filter((x) => x.peerId === 'a' && x.banned)).toEqual([]);
    for (const v of ['c', 'e']) expect((h.core(v) as PeerCore).stats.badMessages, `bad messages counted by ${v}`).toBe(0);
    const after = since('a', 22_000);
    expect(after.delivered).toBe(after.published);
  }, 60_000);

  it('links cut for longer than its frame window, then back to viewers only: it moves its window and plays on', async () => {
    // 35 s at 10 frames a second is 350 frames, beyond maxAheadFrames (128). Before: a's core had
    // no frame left and never woke again; it got none of the frames published after the cut.
    const { h, since } = await swarm(60_000, (hh, s) => {
      if (s === 50) for (const v of ['c', 'e']) hh.unlink('a', v);
      if (s === 400) for (const v of ['c', 'e']) hh.link('a', v);
    }, false);
    expect((h.core('a') as PeerCore).cfg.maxAheadFrames).toBeLessThan(350);
    const after = since('a', 42_000);
    expect(after.delivered).toBe(after.published);
  }, 60_000);
});

describe('serving budgets, asker and server agree', () => {
  it('the asker asks a key at most serveKeyTimes and a frame serveKeysPerFrame keys of one neighbour', () => {
    const n = new NeighbourState('c', 8);
    const cfg = DEFAULT_PEER_CONFIG;
    expect(n.askBudget(7, cfg)).toEqual({ spent: undefined, left: cfg.serveKeysPerFrame });
    n.noteAsked(7, [0, 1, 2]);
    n.noteAsked(7, [1, 2]);
    const b = n.askBudget(7, cfg);
    expect(b.spent?.toArray()).toEqual([1, 2]);
    expect(b.left).toBe(cfg.serveKeysPerFrame - 5);
    expect(n.askBudget(8, cfg).left).toBe(cfg.serveKeysPerFrame);
    // With serveKeyTimes 1 a key asked once is spent.
    expect(n.askBudget(7, { ...cfg, serveKeyTimes: 1 }).spent?.toArray()).toEqual([0, 1, 2]);
  });

  it('the server refuses keys pushes used up without counting them; only asks past the budget count', () => {
    const p = new NeighbourPolicy(DEFAULT_POLICY);
    // Key 0 pushed, then asked twice (the push and the first answer lost): the second ask is refused, not counted.
    expect(p.serveKey('a', 3, 0, 0)).toBe(true);
    expect(p.serveAsked('a', 3, 0, 0)).toBe('serve');
    expect(p.serveAsked('a', 3, 0, 0)).toBe('spent');
    // A third ask is over the asker's own budget.
    expect(p.serveAsked('a', 3, 0, 0)).toBe('over');
    // serveKeysPerFrame asks of distinct keys in all; the next is over.
    const q = new NeighbourPolicy(DEFAULT_POLICY);
    for (let x = 0; x < DEFAULT_POLICY.serveKeysPerFrame; x++) expect(q.serveAsked('a', 3, x, 0)).toBe('serve');
    expect(q.serveAsked('a', 3, 200, 0)).toBe('over');
  });
});
