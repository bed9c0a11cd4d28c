import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAYER_CONFIG } from '../player/player-config.ts';
import { simulatePlayout, type PlayoutInput } from './playout.ts';

/** Fragments of 500 ms (one frame each, seq = index) for `seconds`, init frame 100 000 delivered at 0. */
function input(arrive: (g: number) => number | undefined, extra: Partial<PlayoutInput> = {}, seconds = 20): PlayoutInput {
  const n = seconds * 2;
  const fragments = Array.from({ length: n }, (_, g) => ({ startMs: g * 500, endMs: g * 500 + 500, seqs: [g] }));
  const delivered = new Map<number, number>([[100_000, 0]]);
  for (let g = 0; g < n; g++) {
    const t = arrive(g);
    if (t !== undefined) delivered.set(g, t);
  }
  return { fragments, initSeqs: [100_000], delivered, joinMs: 0, endMs: seconds * 1000, measureFromMs: 3000, ...extra };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

describe('simulatePlayout (the player modelled on delivery times)', () => {
  it('fragments 200 ms after they end: no stall, every fragment on time, glass to glass ≈ delay + target latency', () => {
    const p = simulatePlayout(input((g) => (g + 1) * 500 + 200));
    expect(p.stalls).toBe(0);
    expect(p.stallMs).toBe(0);
    expect(p.skipped).toBe(0);
    expect(p.firstPictureMs).toBe(700);
    // The first fragment whole: fragment 0 lands at 700 ms.
    expect(p.firstWholeMs).toBe(700);
    expect([...p.onTime.slice(2, 35)].every((x) => x === 1)).toBe(true);
    // The edge is 200 ms behind capture when a fragment lands; the player holds its peak distance
    // behind the edge within 0.7 ± 0.1 s.
    expect(median(p.glassToGlassMs)).toBeGreaterThanOrEqual(790);
    expect(median(p.glassToGlassMs)).toBeLessThanOrEqual(1010);
  });

  it("the player's own rules: a 1.5 s target starts at the first fragment's start and slows down (0.96) until it gets there", () => {
    const arrive = (g: number) => (g + 1) * 500 + 200;
    const tail = (p: { glassToGlassMs: number[] }) => median(p.glassToGlassMs.slice(-100));
    const base = simulatePlayout(input(arrive, {}, 60));
    const slow = simulatePlayout(input(arrive, { config: { ...DEFAULT_PLAYER_CONFIG, targetLatencyS: 1.5 } }, 60));
    // Early on the slow-down has only begun; 40 s later the extra 0.8 s is there.
    expect(median(slow.glassToGlassMs.slice(0, 30)) - median(base.glassToGlassMs.slice(0, 30))).toBeLessThan(400);
    expect(tail(slow) - tail(base)).toBeGreaterThan(600);
    expect(tail(slow) - tail(base)).toBeLessThan(1000);
  });

  it('a fragment that never completes is skipped: it is not on time, its neighbours are, the wait shows as a stall', () => {
    const p = simulatePlayout(input((g) => (g === 20 ? undefined : (g + 1) * 500 + 200)));
    expect(p.skipped).toBe(1);
    expect(p.onTime[20]).toBe(0);
    expect(p.onTime[19]).toBe(1);
    expect(p.onTime[25]).toBe(1);
    expect(p.stalls).toBeGreaterThanOrEqual(1);
  });

  it('a bad start (1.2 s stalled in the first 2.4 s): back at the target latency within 10 s, not raised for minutes', () => {
    const good = simulatePlayout(input((g) => (g + 1) * 500 + 200, {}, 30));
    const bad = simulatePlayout(input((g) => (g >= 1 && g <= 3 ? 2400 : (g + 1) * 500 + 200), {}, 30));
    expect(bad.stallMs).toBeGreaterThan(1000);
    // Ticks every 100 ms from 3 s: 12.4–15 s after join, 10 s after the stalled fragments came in.
    const span = (p: { glassToGlassMs: number[] }) => median(p.glassToGlassMs.slice(94, 120));
    // Both within the target's dead band (± 0.1 s): the start's stall neither raised the target
    // (start grace) nor is still being caught up at 1.06 (1.25 beyond 0.4 s).
    expect(span(bad) - span(good)).toBeLessThan(200);
  });

  it('a fragment 1.5 s late: the playhead stalls, that fragment is not on time, the stall is counted', () => {
    const p = simulatePlayout(input((g) => (g + 1) * 500 + (g === 20 ? 1700 : 200)));
    expect(p.stalls).toBeGreaterThanOrEqual(1);
    expect(p.stallMs).toBeGreaterThan(500);
    expect(p.onTime[20]).toBe(0);
    expect(p.onTime[30]).toBe(1);
  });

  it('a viewer that never gets a whole fragment never starts: every sample is a failure', () => {
    const p = simulatePlayout(input(() => undefined));
    expect(p.firstPictureMs).toBe(Infinity);
    expect(p.glassToGlassMs.length).toBeGreaterThan(100);
    expect(p.glassToGlassMs.every((x) => x === Infinity)).toBe(true);
    expect(p.watchMs).toBe(0);
    expect(p.firstWholeMs).toBe(Infinity);
    expect([...p.onTime].every((x) => x === 0)).toBe(true);
  });

  it('nothing plays before an init segment arrived', () => {
    const late = input((g) => (g + 1) * 500 + 200);
    (late.delivered as Map<number, number>).set(100_000, 4000);
    expect(simulatePlayout(late).firstPictureMs).toBe(4000);
    // Fragments were whole long before: the wait was the init segment's.
    expect(simulatePlayout(late).firstWholeMs).toBe(700);
  });
});
