import { describe, expect, it } from 'vitest';
import { LatencyAdapter } from './latency-adapter.ts';

describe('LatencyAdapter', () => {
  it('rises one step per trouble episode, up to the bound', () => {
    const a = new LatencyAdapter({ maxExtraLatencyS: 0.5, latencyStepUpS: 0.2, latencyRelaxAfterMs: 10_000, latencyRelaxStepS: 0.1, startGraceMs: 0 });
    a.trouble(0);
    a.trouble(500); // same episode: the stall a skip causes
    expect(a.extraS).toBeCloseTo(0.2);
    a.trouble(3000);
    expect(a.extraS).toBeCloseTo(0.4);
    a.trouble(6000);
    a.trouble(9000);
    expect(a.extraS).toBeCloseTo(0.5);
    expect(a.raises).toBe(3);
  });

  it('relaxes a step after each calm period, never below zero, and a trouble restarts the calm clock', () => {
    const a = new LatencyAdapter({ maxExtraLatencyS: 1, latencyStepUpS: 0.3, latencyRelaxAfterMs: 10_000, latencyRelaxStepS: 0.2, startGraceMs: 0 });
    a.trouble(0);
    expect(a.update(9_999)).toBeCloseTo(0.3);
    expect(a.update(10_000)).toBeCloseTo(0.1);
    a.trouble(15_000);
    expect(a.extraS).toBeCloseTo(0.4);
    expect(a.update(24_000)).toBeCloseTo(0.4);
    expect(a.update(25_000)).toBeCloseTo(0.2);
    expect(a.update(35_000)).toBeCloseTo(0);
    expect(a.update(99_000)).toBe(0);
  });

  it('stays at zero when adapting is off, and reset forgets the extra', () => {
    const off = new LatencyAdapter({ maxExtraLatencyS: 0, latencyStepUpS: 0.2, latencyRelaxAfterMs: 1000, latencyRelaxStepS: 0.1, startGraceMs: 0 });
    off.trouble(0);
    expect(off.extraS).toBe(0);
    const a = new LatencyAdapter();
    a.trouble(0);
    expect(a.extraS).toBeGreaterThan(0);
    a.reset();
    expect(a.extraS).toBe(0);
    a.trouble(100); // a fresh start: the first trouble counts at once
    expect(a.extraS).toBeGreaterThan(0);
  });

  it('troubles within startGraceMs of start() raise nothing and leave the calm clock alone; later ones raise; reset forgets the start', () => {
    const a = new LatencyAdapter({ maxExtraLatencyS: 1, latencyStepUpS: 0.2, latencyRelaxAfterMs: 15_000, latencyRelaxStepS: 0.1, startGraceMs: 5000 });
    a.start(1000);
    a.trouble(1500);
    a.trouble(3500);
    a.trouble(5999);
    expect(a.extraS).toBe(0);
    expect(a.raises).toBe(0);
    a.trouble(6000); // the grace is over
    expect(a.extraS).toBeCloseTo(0.2);
    a.reset();
    a.trouble(6100); // no start since the reset: no grace
    expect(a.extraS).toBeCloseTo(0.2);
    // Without start() there is no grace at all (as before).
    const b = new LatencyAdapter({ maxExtraLatencyS: 1, latencyStepUpS: 0.2, latencyRelaxAfterMs: 15_000, latencyRelaxStepS: 0.1, startGraceMs: 5000 });
    b.trouble(100);
    expect(b.extraS).toBeCloseTo(0.2);
  });

  it('a trouble exactly 1.5 s after the last one is a new episode; 1 ms sooner is the same one', () => {
    const cfg = { maxExtraLatencyS: 1, latencyStepUpS: 0.25, latencyRelaxAfterMs: 60_000, latencyRelaxStepS: 0.25, startGraceMs: 0 };
    const a = new LatencyAdapter(cfg);
    a.trouble(1000);
    a.trouble(2499);
    expect(a.raises).toBe(1);
    a.trouble(3999); // 1500 after the last trouble (2499)
    expect(a.raises).toBe(2);
    expect(a.extraS).toBe(0.5);
  });

  it('the calm clock starts at the first update when no trouble came before it', () => {
    const a = new LatencyAdapter({ maxExtraLatencyS: 1, latencyStepUpS: 0.25, latencyRelaxAfterMs: 1000, latencyRelaxStepS: 0.25, startGraceMs: 0 });
    a.extraS = 0.5; // as left by an earlier stream
    expect(a.update(5000)).toBe(0.5);
    expect(a.update(5999)).toBe(0.5);
    expect(a.update(6000)).toBe(0.25);
  });
});
