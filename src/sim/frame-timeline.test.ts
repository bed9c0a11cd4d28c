import { describe, expect, it } from 'vitest';
import { TIMELINE_STAGES } from './frame-timeline.ts';
import { LINK_PRESETS } from './sim-options.ts';
import { formatReport } from './sim-report.ts';
import { Simulator } from './simulator.ts';

/** A small harsh-world swarm in holder mode from the start (producers, holders, relays on every path). */
const options = {
  ...LINK_PRESETS.real, tracker: 'simple' as const, room: { holderModeAtViewers: 10, directModeAtViewers: 5 }, peers: 24, seconds: 8, warmupMs: 1000, joinSpreadMs: 1000, seed: 5,
};

describe('frame timeline (--timeline)', () => {
  it('only watches: the run is the same with it, and each frame\'s stages add up to its close-to-decode time', async () => {
    const strip = ({ wallSeconds: _w, timeline: _t, ...r }: Awaited<ReturnType<Simulator['run']>>) => r;
    const plain = await new Simulator(options).run();
    const traced = await new Simulator({ ...options, timeline: true }).run();
    expect(strip(traced)).toEqual(strip(plain));
    expect(plain.timeline).toBeUndefined();
    const t = traced.timeline;
    expect(t).toBeDefined();
    if (!t) return;
    expect(traced.mode).toBe('holder');
    expect(t.onTime.frames + t.late.frames).toBeGreaterThan(100);
    for (const s of [t.late, t.onTime]) {
      if (s.frames === 0) continue;
      const sum = s.meanMs.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(s.totalMeanMs, 0);
      expect(s.meanMs).toHaveLength(TIMELINE_STAGES.length);
    }
    // Most of the time is traced to a stage (relays, producer, holder, broadcaster), not left over.
    const untraced = t.onTime.meanMs[TIMELINE_STAGES.length - 1];
    expect(untraced).toBeLessThan(t.onTime.totalMeanMs / 4);
    expect(t.onTime.hopsMean).toBeGreaterThan(0);
    expect(formatReport(traced)).toMatch(/where the time went/);
  }, 300_000);

  it('runs in one thread only', () => {
    expect(() => new Simulator({ ...options, workers: 2, timeline: true })).toThrow(/simulateParallel|one thread/);
  });
});
