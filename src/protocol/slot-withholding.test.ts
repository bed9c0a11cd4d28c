// A direct-feed viewer that announces its slot's keys but never sends them: its slot's keys exist
// nowhere else, so without a defence no honest viewer decodes again. Viewers tell the broadcaster
// which keys never came (MISSING); it moves the slot once enough of them say so (slot-judge.ts).

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { PeerCore } from './peer-core.ts';
import { SlotJudge } from './slot-judge.ts';
import { encodeMessage, parseMessage } from './wire.ts';
import { KeySet } from './key-set.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

describe('direct-feed withholders', () => {
  it('a viewer that withholds its slot keys loses its slot; the honest viewers play again', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, config: { manifestFanout: 2 } });
    h.add('b', b);
    const honest = ['v1', 'v2', 'v3', 'v4', 'v5'];
    const all = [...honest, 'w'];
    for (const v of all) h.add(v, new PeerCore({ peerId: v, codec, config: { seed: v.charCodeAt(1) || 99 } }));
    for (const v of all) h.link('b', v);
    for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) h.link(all[i], all[j]);
    // The withholder receives and announces like anyone, but no feed packet ever leaves it.
    h.dropMedia = (from) => from === 'w';
    const frames = 40;
    for (let s = 0; s < frames; s++) {
      b.publishFrame(frameBytes(6000, s), 0, h.now, h.now);
      h.flush('b');
      await h.drive(h.now + 100);
    }
    await h.drive(h.now + 3000);
    expect(b.slotJudge.isShunned('w', h.now)).toBe(true);
    for (const v of honest) expect(b.slotJudge.isShunned(v, h.now)).toBe(false);
    // The last frames, sent after the slot moved, reach every honest viewer.
    for (const v of honest) {
      const seqs = new Set((h.delivered.get(v) ?? []).map((d) => d.manifest.seq));
      for (let s = frames - 10; s < frames; s++) expect(seqs.has(s)).toBe(true);
    }
    // The reports are bounded: at most one per viewer and frame.
    const missing = h.sent.filter((m) => m.type === 'missing');
    expect(missing.length).toBeGreaterThan(0);
    const perFrame = new Set(missing.map((m) => `${m.from}:${m.message.type === 'missing' ? m.message.seq : -1}`));
    expect(perFrame.size).toBe(missing.length);
  }, 60_000);

  it('two liars naming an honest viewer\'s keys never move its slot; a second report of a frame is counted as bad', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    const all = ['a', 'l1', 'l2', 'c', 'd', 'e'];
    for (const v of all) {
      h.add(v, new PeerCore({ peerId: v, codec }));
      h.link('b', v);
    }
    for (let s = 0; s < 12; s++) {
      b.publishFrame(frameBytes(3000, s), 0, h.now, h.now);
      h.flush('b');
      // Both liars say every key of the direct set but their own never came.
      for (const liar of ['l1', 'l2']) h.inject(liar, 'b', encodeMessage({ type: 'missing', seq: s, keys: KeySet.of(Array.from({ length: 65 }, (_, k) => k)).toBytes() }));
      // And that a's keys never came (a's slot of this frame).
      const slotOfA = h.sent.filter((m) => m.from === 'b' && m.to === 'a' && m.message.type === 'feed' && m.message.seq === s).map((m) => (m.message.type === 'feed' ? m.message.x : -1));
      for (const liar of ['l1', 'l2']) h.inject(liar, 'b', encodeMessage({ type: 'missing', seq: s, keys: KeySet.of(slotOfA).toBytes() }));
      await h.drive(h.now + 100);
    }
    for (const v of ['a', 'c', 'd', 'e']) expect(b.slotJudge.isShunned(v, h.now)).toBe(false);
    expect(b.policy.badScore('l1', h.now)).toBeGreaterThan(5);
    // A garbled MISSING (no key) is refused by the parser.
    const bytes = encodeMessage({ type: 'missing', seq: 1, keys: new Uint8Array(32).fill(1) });
    bytes.fill(0, 6);
    expect(parseMessage(bytes).ok).toBe(false);
  }, 30_000);

  it('the judge: accusers must be distinct, repeat over frames, reach 3 and half the direct viewers; reports expire', () => {
    const j = new SlotJudge();
    // Three reporters, framesToAccuse frames each, among 6 direct viewers: moved.
    const n = j.cfg.framesToAccuse;
    let moved: string[] = [];
    for (let f = 0; f < n; f++) for (const r of ['r1', 'r2', 'r3']) moved = moved.concat(j.report(r, ['x'], 6, f * 100));
    expect(moved).toEqual(['x']);
    expect(j.isShunned('x', n * 100)).toBe(true);
    expect(j.isShunned('x', n * 100 + j.cfg.shunSlotMs)).toBe(false);
    // Among 20 direct viewers three are not half.
    const k = new SlotJudge();
    for (let f = 0; f < n + 2; f++) for (const r of ['r1', 'r2', 'r3']) expect(k.report(r, ['y'], 20, f * 100)).toEqual([]);
    // Reports older than witnessTtlMs do not add up.
    const t = new SlotJudge();
    for (let f = 0; f < n - 1; f++) for (const r of ['r1', 'r2', 'r3']) t.report(r, ['z'], 4, f);
    for (const r of ['r1', 'r2', 'r3']) expect(t.report(r, ['z'], 4, n + t.cfg.witnessTtlMs + 1)).toEqual([]);
    // A report naming more holders than maxHoldersPerReport, or only the reporter, counts for nothing.
    const u = new SlotJudge();
    for (let f = 0; f < n; f++) for (const r of ['r1', 'r2', 'r3']) expect(u.report(r, ['a', 'b', 'c', 'd'], 4, f)).toEqual([]);
    expect(u.report('r1', ['r1'], 4, 5)).toEqual([]);
  });
});
