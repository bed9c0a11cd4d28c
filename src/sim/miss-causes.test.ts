import { describe, expect, it } from 'vitest';
import { causeOf, CAUSES, listMisses, probesOf, summarizeMisses, type FrameSnapshot } from './miss-causes.ts';
import { LINK_PRESETS } from './sim-options.ts';
import type { PublishedFrame, ViewerRecord } from './sim-report.ts';
import { simulate } from './simulator.ts';

/** 20 fragments of 500 ms, two frames each (seqs 2g+1, 2g+2), an init frame 0; published 100 ms after each fragment ends. */
function stream(): PublishedFrame[] {
  const frames: PublishedFrame[] = [{ seq: 0, captureMs: 0, publishMs: 0, length: 100, fragment: -1, mediaStartMs: 0, mediaEndMs: 0 }];
  for (let g = 0; g < 20; g++) {
    for (const s of [2 * g + 1, 2 * g + 2]) frames.push({ seq: s, captureMs: g * 500, publishMs: g * 500 + 600, length: 1000, fragment: g, mediaStartMs: g * 500, mediaEndMs: g * 500 + 500 });
  }
  return frames;
}

function viewer(delay: (seq: number) => number | undefined): ViewerRecord {
  const delivered = new Map<number, number>([[0, 10]]);
  for (const f of stream()) {
    if (f.fragment < 0) continue;
    const d = delay(f.seq);
    if (d !== undefined) delivered.set(f.seq, f.publishMs + d);
  }
  return { id: 'v', joinMs: 0, leftMs: Infinity, bytesUp: 0, bytesDown: 0, controlDown: 0, delivered, startupMs: 0, role: '', upBps: 1e6, reportedBps: NaN, crashed: false };
}

const snap = (s: Partial<FrameSnapshot>): FrameSnapshot => ({
  opened: true, state: 'collecting', have: 60, inflight: 0, manifest: true, offered: 60, neighbours: 4, downBacklogMs: 0, cpuBacklogMs: 0,
  senderBacklogMs: 0, senderQueued: 0, direct: false, ownSlotMissing: 0, ageMs: 900, overdue: 0, oldestAskMs: 0, directLacking: 0,
  whereabouts: { request: 0, senderLacks: 0, queued: 0, answer: 0, gone: 0 }, inflightFromSlow: 0, lackingInSlowSlots: 0, slowSlots: 0, slots: 0, ...s,
});

describe('why frames were missed (miss-causes.ts)', () => {
  it('a frame 400 ms later than the rest: its fragment is late, it is the late frame, its fragment-mate waited on it', () => {
    const v = viewer((seq) => (seq === 21 ? 600 : 200));
    const { misses, due } = listMisses({ frames: stream(), viewers: [v], deadlineMs: 2000, warmupMs: 3000, endMs: 10_000 });
    expect(due.get('v')).toBeGreaterThan(0);
    const late = misses.filter((m) => m.fragment === 10);
    expect(late.map((m) => [m.seq, m.kind, m.culprit])).toEqual([[21, 'late', true], [22, 'late', false]]);
    // Needed before it came, after its mate came.
    expect(late[0].neededMs).toBeLessThan(late[0].deliveredMs);
    expect(late[1].deliveredMs).toBeLessThanOrEqual(late[1].neededMs);
    // Only the late frame is looked at in the second pass.
    expect(probesOf(misses).get('v')?.map((p) => p.seq)).toEqual(misses.filter((m) => m.culprit).map((m) => m.seq));
    // Every frame of the stream on time but those the stall touched.
    expect(misses.every((m) => m.fragment >= 10)).toBe(true);
  });

  it('every missed frame gets exactly one cause, its fragment\'s (that of the frame delivered last)', () => {
    const v = viewer((seq) => (seq === 21 ? 600 : 200));
    const { misses, due } = listMisses({ frames: stream(), viewers: [v], deadlineMs: 2000, warmupMs: 3000, endMs: 10_000 });
    const snaps = new Map([['v:21', snap({ have: 63, inflight: 3 })]]);
    const b = summarizeMisses(misses, snaps, [{ id: 'v', upRatio: 2, due: due.get('v') ?? 0 }]);
    expect(b.byCause.reduce((s, x) => s + x, 0)).toBe(misses.filter((m) => m.kind === 'late' || m.kind === 'skipped').length);
    expect(b.byCause[CAUSES.indexOf('asked, answers in flight (no sender uplink backed up)')]).toBe(2);
    expect(b.culpritsByCause.reduce((s, x) => s + x, 0)).toBe(1);
    expect(b.keysShort).toBe(1);
  });

  it('sorts a late frame by what its viewer held and saw at the deadline', () => {
    const c = (s: Partial<FrameSnapshot>) => CAUSES[causeOf(snap(s))];
    expect(c({ opened: false })).toBe('nothing of it heard by the deadline');
    expect(c({ have: 64, manifest: false })).toBe('64 keys held, manifest missing');
    expect(c({ have: 64 })).toBe('64 keys held, decode or check under way');
    expect(c({ downBacklogMs: 150 })).toMatch(/own download link/);
    expect(c({ cpuBacklogMs: 150 })).toMatch(/own event loop/);
    expect(c({ inflight: 4, senderBacklogMs: 150 })).toMatch(/sender's uplink backed up/);
    expect(c({ inflight: 4 })).toBe('asked, answers in flight (no sender uplink backed up)');
    expect(c({ offered: 70 })).toMatch(/offered by neighbours \(HAVE\), not all asked/);
    expect(c({ direct: true, ownSlotMissing: 1 })).toMatch(/own direct slot short/);
    expect(c({})).toBe('not enough keys offered by neighbours yet');
  });

  it('a why-missed run repeats its first pass exactly and sorts every missed frame', async () => {
    const { report } = await simulate({ ...LINK_PRESETS.real, tracker: 'room', peers: 6, seconds: 10, seed: 2, whyMissed: true });
    const m = report.misses;
    expect(m?.repeated).toBe(true);
    if (!m) return;
    // Control messages counted; a message held behind a retransmission waited for one.
    expect(m.control?.sent).toBeGreaterThan(0);
    expect(m.control?.heldBehind ?? 0).toBeLessThan(m.control?.sent ?? 0);
    // The same count as the report's on-time figure.
    expect(m.missed).toBe(Math.round(m.due * (1 - report.framesOnTimePct / 100)));
    const placed = m.byCause.reduce((s, x) => s + x, 0);
    const unplaced = m.byKind['before-first-picture'] + m.byKind['seeked-over'];
    expect(placed).toBeLessThanOrEqual(m.missed - unplaced);
  });
});
