import { describe, expect, it } from 'vitest';
import { DEFAULT_LATENCY_CONFIG, decideLatency, waitBudgetMs } from './latency-controller.ts';

const cfg = { ...DEFAULT_LATENCY_CONFIG, targetLatencyS: 0.8, toleranceS: 0.15, seekBeyondS: 1.5 }; // pinned: the table does not follow default changes

describe('decideLatency', () => {
  it.each([
    // currentTime, ranges, seekTo, rate, reason
    ['nothing buffered', 0, [], null, 1, null],
    ['start: jump to target behind the edge', 0, [[10, 12]], 11.2, 1, 'start'],
    ['start on a short range: its start', 0, [[10, 10.5]], 10, 0.96, 'start'],
    ['just under target: no change', 11.3, [[10, 12]], null, 1, null],
    ['on target', 11.2, [[10, 12]], null, 1, null],
    ['a little behind: speed up', 10.9, [[10, 12]], null, 1.06, null],
    ['too close to the edge: slow down', 11.8, [[10, 12]], null, 0.96, null],
    ['far behind: seek', 10, [[9, 13]], 12.2, 1, 'far-behind'],
    ['stuck at a gap: jump it', 12, [[10, 12], [12.5, 13.4]], 12.5, 1, 'gap'],
    ['tiny gap ahead is left to the browser', 11.97, [[10, 12], [12.02, 12.8]], null, 1, null],
  ] as const)('%s', (_name, currentTime, ranges, seekTo, rate, reason) => {
    const d = decideLatency({ currentTime, ranges: ranges as never }, cfg);
    if (seekTo === null) expect(d.seekTo).toBeNull();
    else expect(d.seekTo).toBeCloseTo(seekTo, 6);
    expect(d.playbackRate).toBe(rate);
    expect(d.reason).toBe(reason);
  });

  it('a playhead stalled a little short of the end of its range, with a range after it, jumps the hole', () => {
    // As seen in Chromium at a switch to HTTP: a fragment lost, the playhead stood at 36.43 in
    // 6.51-36.51 for 3 s with 37.01-39.51 buffered, until the far-behind seek.
    const ranges = [[6.51, 36.51], [37.01, 38.51]] as const;
    const d = decideLatency({ currentTime: 36.43, ranges, stalled: true }, cfg);
    expect(d.seekTo).toBeCloseTo(37.01, 6);
    expect(d.reason).toBe('gap');
    // Still moving: the browser may yet play to the end of the range.
    expect(decideLatency({ currentTime: 36.43, ranges }, cfg).seekTo).toBeNull();
    // Stalled with more ahead in its range (decoding fell behind), or with nothing after it (the
    // buffer ran out): no hole to jump.
    expect(decideLatency({ currentTime: 36.1, ranges: [[6.51, 36.51], [37.01, 37.6]], stalled: true }, cfg).seekTo).toBeNull();
    expect(decideLatency({ currentTime: 36.43, ranges: [[35.5, 36.51]], stalled: true }, cfg).seekTo).toBeNull();
  });

  it('seeks to the target only beyond targetLatencyS + seekBeyondS behind the edge, not at it', () => {
    // Binary-exact numbers so that the edge is the edge: 0.75 + 1.5 = 2.25 s behind 12.
    const c = { ...cfg, targetLatencyS: 0.75, seekBeyondS: 1.5 };
    const at = (currentTime: number) => decideLatency({ currentTime, ranges: [[9, 12]] }, c);
    expect(at(9.75)).toMatchObject({ seekTo: null, reason: null, playbackRate: c.fastCatchUpRate, latencyS: 2.25 });
    expect(at(9.75 - 1 / 1024)).toMatchObject({ seekTo: 11.25, reason: 'far-behind', latencyS: 0.75, playbackRate: 1 });
    // The threshold moves with each of its two terms.
    expect(at(9.75 - 1 / 1024 + 0.25).seekTo).toBeNull();
    expect(decideLatency({ currentTime: 10, ranges: [[9, 12]] }, { ...c, seekBeyondS: 1.25 - 1 / 1024 }).seekTo).toBe(11.25);
    expect(decideLatency({ currentTime: 10, ranges: [[9, 12]] }, { ...c, targetLatencyS: 0.5 - 1 / 1024 }).reason).toBe('far-behind');
    expect(decideLatency({ currentTime: 10, ranges: [[9, 12]] }, { ...c, targetLatencyS: 0.5 }).reason).toBeNull();
  });

  it('changes the rate only outside the dead band around the target', () => {
    const c = { ...cfg, targetLatencyS: 1, toleranceS: 0.25 };
    const rate = (currentTime: number) => decideLatency({ currentTime, ranges: [[9, 12]] }, c).playbackRate;
    expect(rate(12 - 1.25)).toBe(1);
    expect(rate(12 - 1.25 - 1 / 1024)).toBe(c.catchUpRate);
    expect(rate(12 - 0.75)).toBe(1);
    expect(rate(12 - 0.75 + 1 / 1024)).toBe(c.slowDownRate);
  });

  it('catches up at fastCatchUpRate only beyond fastCatchUpBeyondS past the target, at catchUpRate nearer', () => {
    // Binary-exact: target 0.75, tolerance 0.125, fast beyond 0.5 (1.25 s behind the edge at 12).
    const c = { ...cfg, targetLatencyS: 0.75, toleranceS: 0.125, fastCatchUpBeyondS: 0.5, fastCatchUpRate: 1.25, catchUpRate: 1.0625 };
    const rate = (currentTime: number) => decideLatency({ currentTime, ranges: [[9, 12]] }, c).playbackRate;
    expect(rate(12 - 1.25)).toBe(1.0625);
    expect(rate(12 - 1.25 - 1 / 1024)).toBe(1.25);
    expect(rate(12 - 0.875 - 1 / 1024)).toBe(1.0625);
    // The fast band never reaches into the dead band: a threshold under the tolerance is the tolerance.
    expect(decideLatency({ currentTime: 12 - 0.875 - 1 / 1024, ranges: [[9, 12]] }, { ...c, fastCatchUpBeyondS: 0 }).playbackRate).toBe(1.25);
    expect(decideLatency({ currentTime: 12 - 0.875, ranges: [[9, 12]] }, { ...c, fastCatchUpBeyondS: 0 }).playbackRate).toBe(1);
  });

  it('treats the playhead as inside a range from 0.05 s before its start, not earlier', () => {
    const ranges = [[10, 12], [12.5, 14]] as const;
    // Exactly 0.05 s before the second range (binary-exact: 12.4375 is 0.0625 before): inside vs gap.
    expect(decideLatency({ currentTime: 12.5 - 0.05, ranges }, cfg).reason).toBeNull();
    expect(decideLatency({ currentTime: 12.4375, ranges }, cfg)).toMatchObject({ reason: 'gap', seekTo: 12.5 });
    // At the very start of the first range: playing, not a start seek.
    expect(decideLatency({ currentTime: 10, ranges: [[10, 11]] }, cfg)).toMatchObject({ reason: null, seekTo: null });
    // After the last range: nothing to seek to.
    expect(decideLatency({ currentTime: 15, ranges }, cfg)).toMatchObject({ reason: null, seekTo: null, latencyS: 0 });
  });

  it('uses the peak latency only when it does not seek', () => {
    expect(decideLatency({ currentTime: 0, ranges: [[10, 12]], peakLatencyS: 5 }, cfg).latencyS).toBeCloseTo(0.8, 6);
  });

  it('trims only once more than one second lies behind the kept back buffer', () => {
    expect(decideLatency({ currentTime: 14, ranges: [[10, 15]] }, cfg).removeBefore).toBeNull(); // 14 - 3 = 11 = 10 + 1
    expect(decideLatency({ currentTime: 14.25, ranges: [[10, 15]] }, cfg).removeBefore).toBe(11.25);
  });

  it('follows the peak distance behind the edge, not the sawtooth low', () => {
    // 0.4 s behind now, but 0.9 s right after the last fragment came in: on target, no slow-down.
    expect(decideLatency({ currentTime: 11.6, ranges: [[10, 12]], peakLatencyS: 0.9 }, cfg)).toMatchObject({ playbackRate: 1, latencyS: 0.9 });
    expect(decideLatency({ currentTime: 11.6, ranges: [[10, 12]], peakLatencyS: 1.2 }, cfg).playbackRate).toBe(1.06);
    expect(decideLatency({ currentTime: 11.6, ranges: [[10, 12]] }, cfg).playbackRate).toBe(0.96);
  });

  it('trims only what lies more than backBufferS behind the playhead', () => {
    expect(decideLatency({ currentTime: 11, ranges: [[10, 12]] }, cfg).removeBefore).toBeNull();
    expect(decideLatency({ currentTime: 20, ranges: [[10, 21]] }, cfg).removeBefore).toBe(17);
  });

  it('reports latency after the seek', () => {
    expect(decideLatency({ currentTime: 0, ranges: [[10, 12]] }, cfg).latencyS).toBeCloseTo(0.8, 6);
    expect(decideLatency({ currentTime: 10.5, ranges: [[10, 12]] }, cfg).latencyS).toBeCloseTo(1.5, 6);
  });
});

describe('waitBudgetMs', () => {
  it('follows the buffer ahead within bounds', () => {
    expect(waitBudgetMs(0)).toBe(150);
    expect(waitBudgetMs(1)).toBe(850);
    expect(waitBudgetMs(10)).toBe(3000);
  });
});
