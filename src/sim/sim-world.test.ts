import { describe, expect, it } from 'vitest';
import { SeededRng } from '../rng.ts';
import { burstLoss, drawProfile, pairKind, queueLoss, REAL_WORLD, type BurstState } from './sim-world.ts';

describe('the harsh world (sim-world.ts)', () => {
  it('draws uplinks from its classes: about a fifth of viewers below the stream rate, none below 0.3 ×', () => {
    const rng = new SeededRng(3);
    const ps = Array.from({ length: 20_000 }, () => drawProfile(REAL_WORLD, 2.5e6, rng));
    const below = ps.filter((p) => p.upBps < 2.5e6).length / ps.length;
    expect(below).toBeGreaterThan(0.18);
    expect(below).toBeLessThan(0.22);
    expect(Math.min(...ps.map((p) => p.upBps))).toBeGreaterThanOrEqual(0.3 * 2.5e6);
    expect(ps.filter((p) => p.crashes).length / ps.length).toBeCloseTo(0.5, 1);
    expect(ps.filter((p) => p.cpuFactor === 8).length / ps.length).toBeCloseTo(0.1, 1);
    // Queues hold 100-600 ms of the peer's own uplink (16 KiB at least).
    for (const p of ps.slice(0, 200)) expect(p.queueBytes).toBeGreaterThanOrEqual(Math.min(16_384, p.upBps / 80) - 1e-6);
  });

  it('bursty loss: long-run mean as asked, losses come in runs (far more back-to-back than independent loss)', () => {
    const rng = new SeededRng(5);
    const s: BurstState = { bad: true, nextMs: 0 };
    let lost = 0;
    let pairs = 0;
    let prev = false;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const l = rng.next() < burstLoss(REAL_WORLD, 0.05, s, i * 2, rng);
      if (l) lost++;
      if (l && prev) pairs++;
      prev = l;
    }
    expect(lost / n).toBeGreaterThan(0.04);
    expect(lost / n).toBeLessThan(0.06);
    // Independent 5 % loss would lose two in a row 0.25 % of the time.
    expect(pairs / n).toBeGreaterThan(0.01);
  });

  it('loss from queue fill rises from half full to queueLoss at full; pair kinds by their shares', () => {
    expect(queueLoss(REAL_WORLD, 0.4)).toBe(0);
    expect(queueLoss(REAL_WORLD, 0.75)).toBeCloseTo(REAL_WORLD.queueLoss / 2, 9);
    expect(queueLoss(REAL_WORLD, 1)).toBeCloseTo(REAL_WORLD.queueLoss, 9);
    expect(pairKind(REAL_WORLD, 0.01)).toBe('blocked');
    expect(pairKind(REAL_WORLD, 0.1)).toBe('relayed');
    expect(pairKind(REAL_WORLD, 0.5)).toBe('direct');
    expect(pairKind(undefined, 0.01)).toBe('direct');
  });
});
