import { describe, expect, it } from 'vitest';
import { remember, summarizeFrame, type FrameSummary } from './frame-history.ts';
import { newFrameState } from './frame-state.ts';

describe('frame history', () => {
  it('says how long after its first message a frame had its keys, its manifest and the signature check', () => {
    const f = newFrameState(7, 1000, 100);
    f.state = 'done';
    f.keysMs = 1180;
    f.manifestMs = 1040;
    f.manifestOkMs = 1052;
    f.from.set(3, '').set(9, 'peer-a').set(70, 'broadcaster');
    const s = summarizeFrame(f, 1200, 'broadcaster');
    expect(s).toMatchObject({ seq: 7, outcome: 'done', endMs: 1200, tookMs: 200, keysAfterMs: 180, manifestAfterMs: 40, manifestOkAfterMs: 52 });
    expect(s.from).toEqual({ self: 1, 'peer-a': 1, b: 1 });
  });

  it('leaves out the moments that never came', () => {
    const f = newFrameState(8, 500, 100);
    f.state = 'missed';
    f.manifestMs = 600;
    const s = summarizeFrame(f, 2500, undefined);
    expect(s.outcome).toBe('missed');
    expect(s.manifestAfterMs).toBe(100);
    expect(s).not.toHaveProperty('keysAfterMs');
    expect(s).not.toHaveProperty('manifestOkAfterMs');
  });

  it('keeps only the newest summaries', () => {
    const h: FrameSummary[] = [];
    for (let seq = 0; seq < 5; seq++) remember(h, summarizeFrame(newFrameState(seq, 0, 100), 1, undefined), 3);
    expect(h.map((s) => s.seq)).toEqual([2, 3, 4]);
  });
});
