import { describe, expect, it } from 'vitest';
import { CapacityMeter } from './capacity-meter.ts';

/** Feeds a meter from a FIFO link of `linkBps` that the peer offers `offerBps` to, every 10 ms. */
function drive(m: CapacityMeter, linkBps: number, offerBps: number, fromMs: number, toMs: number, state = { q: 0 }) {
  for (let t = fromMs; t < toMs; t += 10) {
    const offer = (offerBps * 10) / 8000;
    m.sent(offer, t);
    state.q = Math.max(0, state.q + offer - (linkBps * 10) / 8000);
    m.buffered(state.q, t + 10);
  }
  return state;
}

describe('CapacityMeter', () => {
  it('reports nothing before it has seen a whole sample', () => {
    const m = new CapacityMeter();
    expect(m.report(0).uploadBps).toBeUndefined();
    m.sent(1000, 0);
    m.buffered(0, 100);
    expect(m.report(100).uploadBps).toBeUndefined();
  });

  it('a backed-up link: reports its capacity, not what was offered', () => {
    const m = new CapacityMeter();
    drive(m, 4e6, 6e6, 0, 5000);
    const r = m.report(5000);
    expect(r.uploadBps).toBeGreaterThan(3.9e6);
    expect(r.uploadBps).toBeLessThan(4.1e6);
    expect(r.busyShare).toBeGreaterThan(0.9);
    expect(r.queueMs).toBeGreaterThan(1000);
  });

  it('a link with room to spare: reports what it demonstrated (a lower bound), never the link', () => {
    const m = new CapacityMeter();
    drive(m, 20e6, 1e6, 0, 5000);
    const r = m.report(5000);
    expect(r.uploadBps).toBeGreaterThan(0.95e6);
    expect(r.uploadBps).toBeLessThan(1.05e6);
    expect(r.busyShare).toBe(0);
    expect(r.limitedShare).toBe(0);
  });

  it('forgets a faster past after its window', () => {
    const m = new CapacityMeter({ windowMs: 3000 });
    const s = drive(m, 8e6, 10e6, 0, 3000);
    drive(m, 2e6, 10e6, 3000, 8000, s);
    const r = m.report(8000);
    expect(r.uploadBps).toBeLessThan(2.2e6);
    expect(r.uploadBps).toBeGreaterThan(1.8e6);
  });

  it('a lagging event loop lowers the report to nothing at lagBadMs', () => {
    const m = new CapacityMeter({ lagGain: 1 });
    drive(m, 4e6, 6e6, 0, 2000);
    const full = m.report(2000).uploadBps as number;
    m.lagged(20);
    expect(m.report(2000).uploadBps).toBe(full);
    m.lagged(275);
    const half = m.report(2000);
    expect(half.headroom).toBeCloseTo(0.5, 6);
    expect(half.uploadBps).toBe(Math.round(full * 0.5));
    m.lagged(900);
    expect(m.report(2000).uploadBps).toBe(0);
  });

  it('counts the share of media dropped before sending', () => {
    const m = new CapacityMeter({ dropGain: 1 });
    m.buffered(0, 0);
    m.sent(3000, 10);
    m.droppedBytes(1000, 20);
    m.buffered(0, 300);
    expect(m.report(300).dropShare).toBeCloseTo(0.25, 6);
    expect(m.report(300).uploadBps).toBe(Math.round((3000 * 8000) / 300));
  });
});
