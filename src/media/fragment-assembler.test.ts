import { describe, expect, it } from 'vitest';
import { FragmentAssembler, addRange } from './fragment-assembler.ts';
import { FrameCutter } from './frame-cutter.ts';
import { FRAME_INIT, type MediaFrame } from './frame-format.ts';

/** One frame per fragment (carry off, small fragments); key frames where `keys` says. */
function stream(keys: boolean[]): MediaFrame[] {
  const cutter = new FrameCutter({ maxCarryTicks: 0 });
  const frames = [cutter.setInit(new Uint8Array([1, 2, 3, 4]), 0)];
  keys.forEach((keyFrame, i) => {
    cutter.pushFragment({ bytes: new Uint8Array(1000).fill(i), keyFrame, mediaTimeMs: i * 500, captureTimeMs: 5000 + i * 500 });
    frames.push(...cutter.tick(100 * (i + 1)).filter((f) => !(f.flags & FRAME_INIT)));
  });
  return frames;
}

const kinds = (out: ReturnType<FragmentAssembler['poll']>) =>
  out.map((o) => (o.kind === 'fragment' ? `f${o.fragment.index}` : o.kind === 'skip' ? `s${o.index}` : o.kind));

describe('FragmentAssembler', () => {
  it('starts at the newest complete key-frame fragment', () => {
    const frames = stream([true, false, true, false, false]);
    const asm = new FragmentAssembler();
    for (const f of frames) asm.pushFrame(f, 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['init', 'f2', 'f3', 'f4']);
  });

  it('waits for a missing fragment until its budget runs out, then skips to the next key frame', () => {
    const frames = stream([true, true, false, true, false]);
    const asm = new FragmentAssembler();
    asm.pushFrame(frames[0], 0);
    asm.pushFrame(frames[1], 0);
    expect(kinds(asm.poll(0, 300))).toEqual(['init', 'f0']);
    for (const f of frames.slice(3)) asm.pushFrame(f, 10); // fragment 1 lost
    expect(kinds(asm.poll(10, 300))).toEqual([]);
    expect(kinds(asm.poll(200, 300))).toEqual([]);
    expect(kinds(asm.poll(310, 300))).toEqual(['s1', 's2', 'f3', 'f4']);
    expect(asm.counters.fragmentsSkipped).toBe(2);
  });

  it('a late frame completes its fragment in time and nothing is skipped', () => {
    const frames = stream([true, false, false]);
    const asm = new FragmentAssembler();
    asm.pushFrame(frames[0], 0);
    asm.pushFrame(frames[1], 0);
    expect(kinds(asm.poll(0, 300))).toEqual(['init', 'f0']);
    asm.pushFrame(frames[3], 0);
    expect(kinds(asm.poll(100, 300))).toEqual([]);
    asm.pushFrame(frames[2], 150);
    expect(kinds(asm.poll(150, 300))).toEqual(['f1', 'f2']);
  });

  it('drops duplicates, garbage and late records and counts them', () => {
    const frames = stream([true, true]);
    const asm = new FragmentAssembler();
    for (const f of frames) asm.pushFrame(f, 0);
    asm.pushFrame(frames[1], 0);
    asm.pushFrame({ seq: 99, bytes: new Uint8Array([1, 2, 3]), flags: 0, captureTimeMs: 0 }, 0);
    asm.pushFrame({ seq: 100, bytes: new Uint8Array(0), flags: 0, captureTimeMs: 0 }, 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['init', 'f1']);
    asm.pushFrame({ ...frames[1], seq: 101 }, 0);
    expect(asm.counters).toMatchObject({ duplicateFrames: 1, badFrames: 2, lateRecords: 1 });
  });

  it('reports the capture time of fragments that start a frame', () => {
    const asm = new FragmentAssembler();
    for (const f of stream([true])) asm.pushFrame(f, 0);
    const out = asm.poll(0, 0);
    expect(out[1]).toMatchObject({ kind: 'fragment', fragment: { captureTimeMs: 5000, mediaTimeMs: 0, keyFrame: true } });
  });

  it('hands out a changed init segment again', () => {
    const asm = new FragmentAssembler();
    asm.pushFrame({ seq: 0, bytes: new Uint8Array([1]), flags: FRAME_INIT, captureTimeMs: 0 }, 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['init']);
    asm.pushFrame({ seq: 1, bytes: new Uint8Array([1]), flags: FRAME_INIT, captureTimeMs: 0 }, 0);
    expect(kinds(asm.poll(0, 0))).toEqual([]);
    asm.pushFrame({ seq: 2, bytes: new Uint8Array([2]), flags: FRAME_INIT, captureTimeMs: 0 }, 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['init']);
  });

  it('keeps the newest fragments when over maxPendingFragments: the oldest go first', () => {
    const frames = stream([true, true, true, true, true, true]);
    const asm = new FragmentAssembler({ maxPendingFragments: 3 });
    for (const f of frames.slice(0, 2)) asm.pushFrame(f, 0);
    expect(kinds(asm.poll(0, 100))).toEqual(['init', 'f0']);
    for (const f of frames.slice(3)) asm.pushFrame(f, 10); // fragment 1 lost; 2..5 arrive, 3 may stay
    expect(asm.counters.fragmentsEvicted).toBe(1);
    // Fragment 2 (the oldest) was let go: 3, 4, 5 are what is left to play.
    expect(kinds(asm.poll(10, 100))).toEqual([]);
    expect(kinds(asm.poll(200, 100))).toEqual(['s1', 's2', 'f3', 'f4', 'f5']);
  });

  it('keeps the newest fragments when over maxPendingBytes, and always the newest one', () => {
    const frames = stream([true, true, true, true, true]); // 1000 bytes a fragment
    const asm = new FragmentAssembler({ maxPendingBytes: 2000 });
    for (const f of frames.slice(0, 2)) asm.pushFrame(f, 0);
    expect(kinds(asm.poll(0, 100))).toEqual(['init', 'f0']);
    for (const f of frames.slice(3)) asm.pushFrame(f, 10); // fragment 1 lost; 2, 3, 4 arrive
    expect(asm.counters.fragmentsEvicted).toBe(1);
    expect(kinds(asm.poll(10, 100))).toEqual([]);
    expect(kinds(asm.poll(200, 100))).toEqual(['s1', 's2', 'f3', 'f4']);
    // A single fragment over the byte bound is still kept (it is the newest).
    const big = new FragmentAssembler({ maxPendingBytes: 500 });
    for (const f of frames.slice(0, 2)) big.pushFrame(f, 0);
    expect(big.counters.fragmentsEvicted).toBe(0);
    expect(kinds(big.poll(0, 100))).toEqual(['init', 'f0']);
  });

  it('addRange counts only new bytes', () => {
    const r: Array<[number, number]> = [];
    expect(addRange(r, 0, 10)).toBe(10);
    expect(addRange(r, 5, 15)).toBe(5);
    expect(addRange(r, 20, 30)).toBe(10);
    expect(addRange(r, 0, 30)).toBe(5);
    expect(r).toEqual([[0, 30]]);
  });
});

describe('FragmentAssembler across a broadcaster restart', () => {
  it('a different init segment starts over at fragment 0', () => {
    const asm = new FragmentAssembler();
    for (const f of stream([true, true])) asm.pushFrame(f, 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['init', 'f1']);
    const cutter = new FrameCutter({ maxCarryTicks: 0 });
    asm.pushFrame(cutter.setInit(new Uint8Array([5, 6]), 0), 0);
    cutter.pushFragment({ bytes: new Uint8Array(10), keyFrame: true, mediaTimeMs: 0, captureTimeMs: 0 });
    for (const f of cutter.tick(100)) asm.pushFrame(f, 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['init', 'f0']);
  });
});

describe('FragmentAssembler input checks', () => {
  it('counts frames that are not frames at all', () => {
    const asm = new FragmentAssembler();
    for (const junk of [null, undefined, 5, {}, { seq: 1.5, flags: 0, bytes: new Uint8Array(4) }, { seq: 1, flags: 0, bytes: [1, 2] }]) {
      asm.pushFrame(junk as never, 0);
    }
    expect(asm.counters.badFrames).toBe(6);
    expect(asm.poll(0, 0)).toEqual([]);
  });
});

describe('FragmentAssembler skipping a run', () => {
  it('skips several missing fragments in one go once the first one is due', () => {
    const frames = stream([true, true, true, true, true]);
    const asm = new FragmentAssembler();
    asm.pushFrame(frames[0], 0);
    asm.pushFrame(frames[1], 0);
    expect(kinds(asm.poll(0, 300))).toEqual(['init', 'f0']);
    asm.pushFrame(frames[5], 10); // fragments 1, 2, 3 lost
    expect(kinds(asm.poll(10, 300))).toEqual([]);
    expect(kinds(asm.poll(320, 300))).toEqual(['s1', 's2', 's3', 'f4']);
  });
});
