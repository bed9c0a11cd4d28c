import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { expectCode } from '../expect-code.ts';
import { DEFAULT_QUALITY_CHOOSER, QualityChooser, checkQualityText, effectiveLevels, scaledLoad, startQuality, type QualityLevel, type QualityMeasures } from './quality-chooser.ts';

const LEVELS: QualityLevel[] = [
  { height: 720, bitrateBps: 1_500_000 },
  { height: 360, bitrateBps: 400_000 },
  { height: 180, bitrateBps: 120_000 },
];
const calm = (nowMs: number, o: Partial<QualityMeasures> = {}): QualityMeasures => ({ nowMs, downloadBps: null, decodeLoad: null, droppedShare: null, troubles: 0, ...o });

describe('startQuality', () => {
  it('starts on the highest rendition the download and decode time allow', () => {
    expect(startQuality(LEVELS, 0, calm(0, { downloadBps: 10e6, decodeLoad: 0.1 }))).toBe(0);
    expect(startQuality(LEVELS, 0, calm(0, { downloadBps: 2e6 }))).toBe(1); // 2 < 1.5 × 1.5 Mbit/s
    expect(startQuality(LEVELS, 0, calm(0, { downloadBps: 0.3e6 }))).toBe(2);
    expect(startQuality(LEVELS, 0, calm(0, { downloadBps: 0.1e6 }))).toBe(2); // nothing fits: the lowest
    // Decoding the 720p took 0.9 of real time: 360p is estimated at a quarter of it.
    expect(startQuality(LEVELS, 0, calm(0, { downloadBps: 10e6, decodeLoad: 0.9 }))).toBe(1);
    expect(startQuality(LEVELS, 0, calm(0))).toBe(0); // nothing measured: the top
  });

  it('scales decode load by picture area', () => {
    expect(scaledLoad(0.8, LEVELS[0], LEVELS[1])).toBeCloseTo(0.2);
    expect(scaledLoad(0.2, LEVELS[1], LEVELS[0])).toBeCloseTo(0.8);
  });
});

describe('QualityChooser', () => {
  it('moves down when the viewer falls behind, up after a calm spell with headroom', () => {
    const q = new QualityChooser();
    expect(q.choose(LEVELS, 0, calm(0))).toBe(0);
    expect(q.choose(LEVELS, 0, calm(1000, { troubles: 1 }))).toBe(1); // a stall: down
    expect(q.choose(LEVELS, 1, calm(2000, { troubles: 1 }))).toBe(1); // settling: not two steps at once
    expect(q.choose(LEVELS, 1, calm(4100, { troubles: 2 }))).toBe(2);
    expect(q.choose(LEVELS, 2, calm(8000, { downloadBps: 5e6 }))).toBe(2); // calm, but not for long enough
    expect(q.choose(LEVELS, 2, calm(14_200, { downloadBps: 5e6 }))).toBe(1);
    expect(q.choose(LEVELS, 1, calm(20_000, { downloadBps: 5e6 }))).toBe(1);
    expect(q.choose(LEVELS, 1, calm(24_300, { downloadBps: 5e6 }))).toBe(0);
  });

  it('does not move up without headroom, and moves down on a slow download, decode load, dropped frames or a frozen picture', () => {
    const q = new QualityChooser();
    q.switched(0);
    expect(q.choose(LEVELS, 1, calm(60_000, { downloadBps: 2e6 }))).toBe(1); // 2 < 1.5 × 1.5
    expect(new QualityChooser().choose(LEVELS, 0, calm(0, { downloadBps: 1.4e6 }))).toBe(1);
    expect(new QualityChooser().choose(LEVELS, 0, calm(0, { decodeLoad: 0.9 }))).toBe(1);
    expect(new QualityChooser().choose(LEVELS, 0, calm(0, { droppedShare: 0.3 }))).toBe(1);
    expect(new QualityChooser().choose(LEVELS, 0, calm(0, { frozenShare: 0.25 }))).toBe(1);
    expect(new QualityChooser().choose(LEVELS, 0, calm(0, { frozenShare: 0.05 }))).toBe(0);
    expect(new QualityChooser().choose(LEVELS, 2, calm(0, { troubles: 5 }))).toBe(2); // the lowest stays
    expect(new QualityChooser().choose([LEVELS[0]], 0, calm(0, { troubles: 5 }))).toBe(0);
  });

  const measures = fc.record({
    downloadBps: fc.option(fc.double({ min: 0, max: 2e7, noNaN: true }), { nil: null }),
    decodeLoad: fc.option(fc.double({ min: 0, max: 3, noNaN: true }), { nil: null }),
    droppedShare: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    frozenShare: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    troubles: fc.nat(3),
  });

  it('stays in range, moves one step at most, never up right after trouble or a switch', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20_000 }), measures), { minLength: 1, maxLength: 60 }), (steps) => {
      const q = new QualityChooser();
      let cur = 0;
      let now = 0;
      let lastSwitch = -Infinity;
      let lastTrouble = -Infinity;
      for (const [dt, m] of steps) {
        now += dt;
        const next = q.choose(LEVELS, cur, { nowMs: now, ...m });
        expect(next).toBeGreaterThanOrEqual(0);
        expect(next).toBeLessThan(LEVELS.length);
        expect(Math.abs(next - cur)).toBeLessThanOrEqual(1);
        if (next < cur) {
          expect(m.troubles).toBe(0);
          expect(now - Math.max(lastSwitch, lastTrouble)).toBeGreaterThanOrEqual(DEFAULT_QUALITY_CHOOSER.upAfterMs);
        }
        if (next > cur) expect(now - lastSwitch).toBeGreaterThanOrEqual(DEFAULT_QUALITY_CHOOSER.downSettleMs);
        if (m.troubles > 0) lastTrouble = now;
        if (next !== cur) lastSwitch = now;
        cur = next;
      }
    }));
  });

  it('with steady measures it never goes back and forth (hysteresis)', () => {
    fc.assert(fc.property(measures, fc.integer({ min: 100, max: 5000 }), fc.integer({ min: 0, max: 2 }), (m, dt, start) => {
      const q = new QualityChooser();
      let cur = start;
      const dirs = new Set<number>();
      for (let i = 0; i < 200; i++) {
        const next = q.choose(LEVELS, cur, { nowMs: i * dt, ...m, troubles: m.troubles });
        if (next !== cur) dirs.add(Math.sign(next - cur));
        cur = next;
      }
      expect(dirs.size).toBeLessThanOrEqual(1);
    }));
  });
});

describe('checkQualityText', () => {
  it("takes 'auto' or a rendition-shaped name, refuses the rest with UNKNOWN_QUALITY", () => {
    expect(checkQualityText('auto')).toBe('auto');
    expect(checkQualityText('360p')).toBe('360p');
    for (const bad of ['', 'HD', 'x'.repeat(17), 3, null, '-a']) expectCode(() => checkQualityText(bad), 'UNKNOWN_QUALITY');
  });
});

describe('effectiveLevels', () => {
  it('scales every configured bitrate by the share the playing rendition really uses', () => {
    // The 360p runs at 100 kbit/s of its 400: the 720p is reckoned at 375 kbit/s, not 1.5 Mbit/s.
    expect(effectiveLevels(LEVELS, 1, 100_000).map((l) => l.bitrateBps)).toEqual([375_000, 100_000, 30_000]);
    expect(effectiveLevels(LEVELS, 1, 10e6).map((l) => l.bitrateBps)).toEqual(LEVELS.map((l) => l.bitrateBps)); // never above
    expect(effectiveLevels(LEVELS, 0, null)).toEqual(LEVELS);
    expect(effectiveLevels(LEVELS, 0, 1).map((l) => l.bitrateBps)).toEqual(LEVELS.map((l) => l.bitrateBps * 0.05));
    // On those figures a 1.3 Mbit/s link starts on the top rendition.
    expect(startQuality(effectiveLevels(LEVELS, 1, 100_000), 1, calm(0, { downloadBps: 1.3e6 }))).toBe(0);
    expect(startQuality(LEVELS, 1, calm(0, { downloadBps: 1.3e6 }))).toBe(1);
  });
});
