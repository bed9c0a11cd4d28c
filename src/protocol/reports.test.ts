// REPORTs are a neighbour's word: they demote a direct viewer for a while, never cut it off. The
// broadcaster drops a neighbour only on its own evidence (bad messages sent to it).

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

describe('reports', () => {
  it('two lying reporters cannot starve an honest direct viewer; their reports expire', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, config: { manifestFanout: 1 } });
    h.add('b', b);
    const viewers = ['honest', 'liar1', 'liar2'];
    for (const v of viewers) {
      h.add(v, new PeerCore({ peerId: v, codec }));
      h.link('b', v);
    }
    h.link('honest', 'liar1');
    h.link('honest', 'liar2');
    h.link('liar1', 'liar2');
    for (const liar of ['liar1', 'liar2']) h.inject(liar, 'b', encodeMessage({ type: 'report', peerId: 'honest' }));
    await h.drive(20);
    expect(b.isDemoted('honest', h.now)).toBe(true);
    for (let i = 0; i < 6; i++) {
      b.publishFrame(frameBytes(6000, i), 0, h.now, h.now);
      h.flush('b');
      await h.drive(h.now + 150);
    }
    // Demoted, it has no slot for a while but still gets every frame from its neighbours.
    expect((h.delivered.get('honest') ?? []).map((d) => d.manifest.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    await h.drive(h.now + b.cfg.reportTtlMs + 10);
    expect(b.isDemoted('honest', h.now)).toBe(false);
    // The reports expired: its slot is back, never lost for good.
    b.publishFrame(frameBytes(6000, 9), 0, h.now, h.now);
    h.flush('b');
    await h.drive(h.now + 150);
    const keys = h.sent.filter((s) => s.from === 'b' && s.to === 'honest' && s.message.type === 'feed' && s.message.seq === 6).length;
    // (A third of the 47 data parts of 6000 bytes and the spare key; the implied zero keys are not sent.)
    expect(keys).toBeGreaterThanOrEqual(16);
    expect((h.delivered.get('honest') ?? []).map((d) => d.manifest.seq)).toContain(6);
  });

  it('a demoted viewer is not a manifest target while others are', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, config: { manifestFanout: 1 } });
    h.add('b', b);
    for (const v of ['a', 'c', 'd']) {
      h.add(v, new PeerCore({ peerId: v, codec }));
      h.link('b', v);
    }
    for (const r of ['c', 'd']) h.inject(r, 'b', encodeMessage({ type: 'report', peerId: 'a' }));
    await h.drive(20);
    for (let i = 0; i < 6; i++) {
      b.publishFrame(frameBytes(3000, i), 0, h.now, h.now);
      h.flush('b');
      await h.drive(h.now + 50);
    }
    const targets = h.sent.filter((s) => s.from === 'b' && s.type === 'manifest').map((s) => s.to);
    expect(targets).toHaveLength(6);
    expect(targets).not.toContain('a');
    // One reporter is not enough.
    const h2 = await CoreHarness.create();
    const b2 = new BroadcasterCore({ codec });
    h2.add('b', b2);
    for (const v of ['a', 'c']) {
      h2.add(v, new PeerCore({ peerId: v, codec }));
      h2.link('b', v);
    }
    h2.inject('c', 'b', encodeMessage({ type: 'report', peerId: 'a' }));
    await h2.drive(20);
    expect(b2.isDemoted('a', h2.now)).toBe(false);
  });

  it('the broadcaster drops a neighbour on its own evidence: the 50th bad message, not the 49th', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const v of ['a', 'evil']) {
      h.add(v, new PeerCore({ peerId: v, codec }));
      h.link('b', v);
    }
    for (let i = 0; i < 49; i++) h.inject('evil', 'b', new Uint8Array([1, 0x7f]));
    await h.drive(20);
    expect(h.badPeers.filter((x) => x.by === 'b')).toEqual([]);
    h.inject('evil', 'b', encodeMessage({ type: 'feed', seq: 0, x: 0, payload: new Uint8Array(128) }));
    await h.drive(40);
    expect(h.badPeers.filter((x) => x.by === 'b').map((x) => [x.peerId, x.banned])).toEqual([['evil', true]]);
    b.publishFrame(frameBytes(3000, 1), 0, h.now, h.now);
    h.flush('b');
    expect(h.sent.filter((s) => s.from === 'b' && s.to === 'evil' && s.type === 'feed')).toEqual([]);
  });
  it('a reporter weighs as much as an honest one: its newest maxReportedPerReporter reports count, so two liars naming every viewer demote four, not all', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    const honest = ['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7'];
    for (const v of [...honest, 'liar1', 'liar2']) {
      h.add(v, new PeerCore({ peerId: v, codec }));
      h.link('b', v);
    }
    for (const liar of ['liar1', 'liar2']) for (const v of honest) h.inject(liar, 'b', encodeMessage({ type: 'report', peerId: v }));
    await h.drive(20);
    expect(b.cfg.maxReportedPerReporter).toBe(4);
    // Without the bound all eight honest viewers were demoted (each named by both liars).
    expect(honest.filter((v) => b.isDemoted(v, h.now))).toEqual(['v4', 'v5', 'v6', 'v7']);
    // An honest reporter's report of one peer still counts with another's.
    h.inject('v0', 'b', encodeMessage({ type: 'report', peerId: 'liar1' }));
    h.inject('v1', 'b', encodeMessage({ type: 'report', peerId: 'liar1' }));
    await h.drive(40);
    expect(b.isDemoted('liar1', h.now)).toBe(true);
    // Reports are still claims: nobody was dropped by the broadcaster for them.
    expect(h.badPeers.filter((x) => x.by === 'b')).toEqual([]);
  });

  it('a viewer counts a REPORT sent to it as a bad message (reports go to the broadcaster alone): a liar flooding them is banned, the honest reporter is not', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const v of ['v', 'liar', 'w']) {
      h.add(v, new PeerCore({ peerId: v, codec }));
      h.link('b', v);
    }
    h.link('v', 'liar');
    h.link('v', 'w');
    const bad = () => (h.cores.get('v') as PeerCore).stats.badMessages;
    h.inject('liar', 'v', encodeMessage({ type: 'report', peerId: 'w' }));
    await h.drive(20);
    expect(bad()).toBe(1);
    for (let i = 0; i < 48; i++) h.inject('liar', 'v', encodeMessage({ type: 'report', peerId: 'w' }));
    await h.drive(40);
    expect(h.badPeers.filter((x) => x.by === 'v' && x.banned)).toEqual([]);
    h.inject('liar', 'v', encodeMessage({ type: 'report', peerId: 'w' }));
    await h.drive(60);
    expect(h.badPeers.filter((x) => x.by === 'v' && x.banned).map((x) => x.peerId)).toEqual(['liar']);
  });
  it('a ban is for good, so its report is renewed while it lasts: the banned peer stays demoted past the report lifetime', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const v of ['v', 'w', 'evil']) {
      h.add(v, new PeerCore({ peerId: v, codec }));
      h.link('b', v);
    }
    h.link('v', 'evil');
    h.link('w', 'evil');
    h.link('v', 'w');
    for (const victim of ['v', 'w']) for (let i = 0; i < 50; i++) h.inject('evil', victim, new Uint8Array([1, 0x7f]));
    await h.drive(20);
    expect(h.badPeers.filter((x) => x.banned && x.peerId === 'evil').map((x) => x.by).sort()).toEqual(['v', 'w']);
    expect(b.isDemoted('evil', h.now)).toBe(true);
    // Frames keep the viewers ticking, well past the broadcaster's report lifetime.
    for (let i = 0; h.now < b.cfg.reportTtlMs + 3000; i++) {
      b.publishFrame(frameBytes(3000, i), 0, h.now, h.now);
      h.flush('b');
      await h.drive(h.now + 150);
    }
    const reports = h.sent.filter((s) => s.from === 'v' && s.to === 'b' && s.message.type === 'report' && s.message.peerId === 'evil');
    expect(reports.length).toBeGreaterThanOrEqual(3);
    // Without renewal the two reports expired at 10 s and evil had its slot back (keys nobody takes from it).
    expect(b.isDemoted('evil', h.now)).toBe(true);
    const last = h.sent.filter((s) => s.from === 'b' && s.message.type === 'feed').at(-1);
    const seq = last?.message.type === 'feed' ? last.message.seq : -1;
    expect(h.sent.filter((s) => s.from === 'b' && s.to === 'evil' && s.message.type === 'feed' && s.message.seq === seq)).toEqual([]);
  });
});
