import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DownloadMeter } from './download-meter.ts';

describe('DownloadMeter', () => {
  it('turns the spread of a fragment\'s frame arrivals into a rate', () => {
    const m = new DownloadMeter();
    expect(m.rateBps(0)).toBeNull();
    // Fragment 0: 3 frames of 64 KiB, the later two over 100 ms: 2 × 65536 × 8 bits / 0.1 s.
    m.frame(0, 65536, 1000);
    m.frame(0, 65536, 1050);
    m.frame(0, 65536, 1100);
    m.done(0, 1100);
    expect(m.rateBps(1100)).toBeCloseTo((2 * 65536 * 8) / 0.1);
  });

  it('ignores one-frame fragments and arrivals within one burst, and forgets old rates', () => {
    const m = new DownloadMeter();
    m.frame(1, 30_000, 0);
    m.done(1, 0);
    m.frame(2, 65536, 10);
    m.frame(2, 65536, 12);
    m.done(2, 12);
    expect(m.rateBps(20)).toBeNull();
    m.frame(3, 65536, 100);
    m.frame(3, 8192, 200);
    m.done(3, 200);
    expect(m.rateBps(200)).toBeCloseTo(8192 * 8 * 10);
    expect(m.rateBps(200 + 30_001)).toBeNull();
    m.done(99, 0); // never seen: nothing
  });

  it('reports the median of the recent rates, within their range, and keeps bounded state', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 65536 }), fc.integer({ min: 15, max: 5000 })), { minLength: 1, maxLength: 40 }), (frags) => {
      const m = new DownloadMeter();
      let t = 0;
      const rates: number[] = [];
      frags.forEach(([bytes, spread], i) => {
        m.frame(i, 65536, t);
        m.frame(i, bytes, t + spread);
        m.done(i, t + spread);
        rates.push((bytes * 8 * 1000) / spread);
        t += spread + 1;
      });
      const recent = rates.slice(-8);
      const r = m.rateBps(t)!;
      expect(r).toBeGreaterThanOrEqual(Math.min(...recent) - 1e-6);
      expect(r).toBeLessThanOrEqual(Math.max(...recent) + 1e-6);
    }));
  });
});
