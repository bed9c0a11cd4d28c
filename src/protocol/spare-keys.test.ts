// Spare direct-feed keys fitted to loss: the rule (expected loss plus two binomial standard
// deviations, within floor and ceiling), the measure (slot keys asked again ÷ slot keys sent, per
// viewer, over the frames whose repair window has passed) and the broadcaster using them: a lossy
// trusted viewer raises the keys sent (the worst viewer deciding), a liar asking for everything raises
// them to the ceiling and no further, and with the default (the median viewer deciding) not at all;
// a demoted viewer's asks do not count, a lossless swarm stays at the floor.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore, type BroadcasterConfig } from './broadcaster-core.ts';
import type { CoreOutput } from './core-types.ts';
import { directSlotKeys } from './frame-state.ts';
import { KeySet } from './key-set.ts';
import { SlotLossMeter, spareKeysFor } from './spare-keys.ts';

describe('spareKeysFor', () => {
  it('nothing measured or nothing lost: the floor', () => {
    expect(spareKeysFor(NaN, 1, 16)).toBe(1);
    expect(spareKeysFor(0, 1, 16)).toBe(1);
    expect(spareKeysFor(-0.2, 3, 16)).toBe(3);
  });

  it('ceil(64·p/(1−p) + 2·sqrt(64·p)) between the bounds', () => {
    // 5 %: 3.37 + 3.58 = 6.95 → 7; 1 %: 0.65 + 1.6 = 2.25 → 3; 10 %: 7.11 + 5.06 = 12.17 → 13
    expect(spareKeysFor(0.05, 1, 16)).toBe(7);
    expect(spareKeysFor(0.01, 1, 16)).toBe(3);
    expect(spareKeysFor(0.1, 1, 16)).toBe(13);
    expect(spareKeysFor(0.1, 1, 10)).toBe(10);
    expect(spareKeysFor(0.01, 8, 16)).toBe(8);
    // All lost: the ceiling, not Infinity.
    expect(spareKeysFor(1, 1, 16)).toBe(16);
  });

  it('the repairs take the margin above the expected loss, never the expected loss itself', () => {
    // 64 × repairShare 0.08 = 5.12 keys of repairs a frame. 10 %: 7.11 + max(0, 5.06 − 5.12) → 8;
    // 5 %: 3.37 + 0 → 4; 1 %: 0.65 → 1; with 2 keys of repairs, 10 %: 7.11 + 3.06 = 10.17 → 11.
    expect(spareKeysFor(0.1, 1, 16, 5.12)).toBe(8);
    expect(spareKeysFor(0.05, 1, 16, 5.12)).toBe(4);
    expect(spareKeysFor(0.01, 1, 16, 5.12)).toBe(1);
    expect(spareKeysFor(0.1, 1, 16, 2)).toBe(11);
    expect(spareKeysFor(0.1, 1, 16, 1000)).toBe(8);
    expect(spareKeysFor(0.1, 1, 16, -3)).toBe(13);
    fc.assert(
      fc.property(fc.double({ min: 0.0001, max: 0.5, noNaN: true }), fc.double({ min: 0, max: 64, noNaN: true }), (p, r) => {
        const s = spareKeysFor(p, 0, 192, r);
        expect(s).toBeLessThanOrEqual(spareKeysFor(p, 0, 192));
        expect(s).toBeGreaterThanOrEqual(Math.ceil((64 * p) / (1 - p)));
        expect(spareKeysFor(p, 0, 192, r + 1)).toBeLessThanOrEqual(s);
      }),
    );
  });

  it('stays within [floor, ceiling], never falls as the loss rises, and is the formula inside the bounds', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 64 }), (a, b, floor, extra) => {
        const ceiling = floor + extra;
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const s = spareKeysFor(lo, floor, ceiling);
        expect(Number.isInteger(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(floor);
        expect(s).toBeLessThanOrEqual(ceiling);
        expect(spareKeysFor(hi, floor, ceiling)).toBeGreaterThanOrEqual(s);
        const raw = lo > 0 ? Math.ceil((64 * Math.min(lo, 0.5)) / (1 - Math.min(lo, 0.5)) + 2 * Math.sqrt(64 * Math.min(lo, 0.5))) : floor;
        if (raw >= floor && raw <= ceiling) expect(s).toBe(raw);
      }),
    );
  });
});

describe('SlotLossMeter', () => {
  it('slot keys asked again ÷ slot keys sent, over frames whose repair window has passed', () => {
    const m = new SlotLossMeter({ windowFrames: 20, repairWindowMs: 1000, minFrames: 5 });
    // 10 frames, 4 slot keys each for v, 100 ms apart; v asks 1 key again in every other frame.
    for (let seq = 0; seq < 10; seq++) {
      m.sent(seq, 'v', 4, seq * 100);
      m.sent(seq, 'w', 4, seq * 100);
      if (seq % 2 === 0) m.asked(seq, 'v', [seq % 4]);
    }
    // At 1 400 ms, frames 0…4 are past their window (5 frames: 3 asks of 20 keys).
    expect(m.loss('v', 1400)).toBeCloseTo(3 / 20, 12);
    expect(m.loss('w', 1400)).toBe(0);
    // At 1 300 ms only frames 0…3 count: below minFrames, unknown.
    expect(m.loss('v', 1300)).toBeNaN();
    // Later all ten count: 5 asks of 40 keys.
    expect(m.loss('v', 5000)).toBeCloseTo(5 / 40, 12);
    expect(m.worst(['v', 'w', 'nobody'], 5000)).toBeCloseTo(5 / 40, 12);
    expect(m.worst(['nobody'], 5000)).toBeNaN();
  });

  it('the q-quantile of the known losses: 1 the largest, 0.5 the median (nearest rank from below)', () => {
    const m = new SlotLossMeter({ windowFrames: 20, repairWindowMs: 0, minFrames: 1 });
    const shares: Record<string, number> = { a: 0, b: 1, c: 2, d: 4 }; // of 4 keys each
    for (const [v, n] of Object.entries(shares)) {
      m.sent(0, v, 4, 0);
      m.asked(0, v, [0, 1, 2, 3].slice(0, n));
    }
    expect(m.quantile(['a', 'b', 'c', 'd', 'unknown'], 1, 1)).toBe(1);
    expect(m.quantile(['a', 'b', 'c', 'd'], 0.5, 1)).toBe(0.25);
    expect(m.quantile(['a', 'b', 'c'], 0.5, 1)).toBe(0.25);
    expect(m.quantile(['a', 'b', 'c', 'd'], 0, 1)).toBe(0);
    expect(m.quantile(['unknown'], 0.5, 1)).toBeNaN();
  });

  it('a key asked twice counts once; a viewer counts at most the keys it was sent; asks of unknown frames or of another viewer\'s frame count nothing', () => {
    const m = new SlotLossMeter({ windowFrames: 20, repairWindowMs: 0, minFrames: 1 });
    m.sent(0, 'v', 3, 0);
    m.asked(0, 'v', [1, 1, 1]);
    m.asked(0, 'v', [1]);
    expect(m.loss('v', 10)).toBeCloseTo(1 / 3, 12);
    m.asked(0, 'v', [10, 11, 12, 13, 14, 15]);
    expect(m.loss('v', 10)).toBe(1);
    m.asked(7, 'v', [1, 2]); // never sent
    m.asked(0, 'x', [1, 2]); // x had no slot in frame 0
    expect(m.loss('x', 10)).toBeNaN();
    expect(m.loss('v', 10)).toBe(1);
    m.forget('v');
    expect(m.loss('v', 10)).toBeNaN();
  });

  it('keeps at most windowFrames counted frames plus those in their window, and the loss is in 0…1 whatever is asked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 400 }), keys: fc.integer({ min: 0, max: 8 }), ask: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }), late: fc.integer({ min: 0, max: 5 }) }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 30 }),
        (steps, windowFrames) => {
          const repairWindowMs = 500;
          const m = new SlotLossMeter({ windowFrames, repairWindowMs, minFrames: 1 });
          let t = 0;
          let seq = 0;
          const sentAt: number[] = [];
          for (const s of steps) {
            t += s.gap;
            m.sent(seq, 'v', s.keys, t);
            sentAt.push(t);
            m.asked(Math.max(0, seq - s.late), 'v', s.ask);
            seq++;
            const inWindow = sentAt.filter((x) => t - x < repairWindowMs).length;
            expect(m.size).toBeLessThanOrEqual(windowFrames + inWindow);
            const p = m.loss('v', t);
            if (!Number.isNaN(p)) {
              expect(p).toBeGreaterThanOrEqual(0);
              expect(p).toBeLessThanOrEqual(1);
            }
          }
        },
      ),
    );
  });
});

describe('the broadcaster\'s spare keys', () => {
  let codec: Codec;
  beforeAll(() => {
    codec = createReferenceCodec();
  });

  /**
   * A broadcaster in direct feed with viewers v0…v3; every 150 ms a frame goes out and each viewer
   * in `asks` asks again for a share of its slot's keys of that frame. Returns the keys per frame.
   */
  function run(asks: Record<string, number>, frames: number, config: Partial<BroadcasterConfig> = {}, before?: (b: BroadcasterCore) => void) {
    const b = new BroadcasterCore({ codec, config });
    const viewers = ['v0', 'v1', 'v2', 'v3'];
    for (const v of viewers) b.handlePeerConnected(v, 0);
    before?.(b);
    const keys: number[] = [];
    const frame = Uint8Array.from({ length: 8192 }, (_, i) => (i * 7) & 0xff);
    for (let i = 0; i < frames; i++) {
      const now = 150 * i;
      const seq = b.publishFrame(frame, 0, now, now);
      const slots: Record<string, { slot: number; slots: number; keys: number }> = {};
      for (let o: CoreOutput | undefined; (o = b.pollOutput()); ) {
        if (o.type === 'send' && o.message.type === 'direct-slot') slots[o.peerId] = o.message;
      }
      const sent = [...new Set(viewers.map((v) => slots[v]?.keys).filter((k) => k !== undefined))];
      if (sent.length > 0) keys.push(...sent.slice(0, 1));
      for (const [v, share] of Object.entries(asks)) {
        const d = lastSlot.get(v) ?? slots[v];
        if (slots[v]) lastSlot.set(v, slots[v]);
        if (!d) continue;
        const mine = directSlotKeys(seq, d.slot, d.slots, d.keys);
        const ask = mine.slice(0, Math.round(mine.length * share));
        if (ask.length === 0) continue;
        b.handleParsed(v, { type: 'request', seq, count: ask.length, allowed: KeySet.of(ask).toBytes() }, now + 60);
        while (b.pollOutput());
      }
    }
    return { b, keys };
  }
  const lastSlot = new Map<string, { slot: number; slots: number; keys: number }>();

  it('a lossless swarm stays at 64 + directSpareKeys', () => {
    lastSlot.clear();
    const { keys } = run({}, 60);
    expect(new Set(keys)).toEqual(new Set([65]));
  });

  it('a viewer asking again for a quarter of its slot\'s keys raises the keys sent by the rule', () => {
    lastSlot.clear();
    const { b, keys } = run({ v2: 0.25 }, 60, { spareLossQuantile: 1 });
    const p = b.slotLoss.loss('v2', 150 * 59);
    console.log(`v2's measured loss ${p.toFixed(3)}; keys per frame over time: ${[...new Set(keys)].join(' → ')}`);
    expect(p).toBeGreaterThan(0.15);
    expect(b.directSpare).toBe(spareKeysFor(p, 1, 16));
    expect(b.directSpare).toBeGreaterThan(1);
  });

  it('with spareRepairCredit 1 the repair allowance takes the margin: an 11 % loss asks for about the expected loss; by default the full rule', () => {
    lastSlot.clear();
    // The spare is worked out at most once a second: last at the frame of 8 400 ms.
    const { b } = run({ v2: 0.1 }, 60, { spareLossQuantile: 1, spareRepairCredit: 1 });
    const p = b.slotLoss.loss('v2', 150 * 56);
    // p = 0.11: 7.91 + max(0, 5.31 − 5.12) → 9 against 13 for the rule alone.
    expect(p).toBeGreaterThan(0.05);
    expect(b.directSpare).toBe(spareKeysFor(p, 1, 16, 64 * 0.08));
    expect(b.directSpare).toBeLessThanOrEqual(Math.ceil((64 * p) / (1 - p)) + 1);
    expect(b.directSpare).toBeLessThan(spareKeysFor(p, 1, 16) - 2);
    lastSlot.clear();
    const none = run({ v2: 0.1 }, 60, { spareLossQuantile: 1 }).b;
    expect(none.directSpare).toBe(spareKeysFor(none.slotLoss.loss('v2', 150 * 56), 1, 16));
  });

  it('a viewer asking for every key of its slot raises the spare to directSpareKeysMax and no further', () => {
    lastSlot.clear();
    const { b, keys } = run({ v1: 1 }, 60, { directSpareKeysMax: 12, spareLossQuantile: 1 });
    expect(b.directSpare).toBe(12);
    expect(Math.max(...keys)).toBe(64 + 12);
  });

  it('by default the median viewer decides: one viewer asking for everything moves nothing, three of four lossy viewers do', () => {
    lastSlot.clear();
    expect(run({ v1: 1 }, 60).b.directSpare).toBe(1);
    lastSlot.clear();
    const { b } = run({ v0: 0.25, v1: 0.25, v3: 0.25 }, 60);
    expect(b.directSpare).toBe(spareKeysFor(b.slotLoss.quantile(['v0', 'v1', 'v2', 'v3'], 0.5, 150 * 59), 1, 16));
    expect(b.directSpare).toBeGreaterThan(1);
  });

  it('a demoted viewer\'s asks do not count', () => {
    lastSlot.clear();
    // v0 and v2 report v1: it is demoted (no direct slot of its own while the reports last).
    const { b } = run({ v1: 1 }, 30, { spareLossQuantile: 1 }, (b) => {
      b.handleParsed('v0', { type: 'report', peerId: 'v1' }, 0);
      b.handleParsed('v2', { type: 'report', peerId: 'v1' }, 0);
    });
    expect(b.isDemoted('v1', 150 * 29)).toBe(true);
    expect(b.directSpare).toBe(1);
  });
});
