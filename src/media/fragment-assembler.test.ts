import { describe, expect, it } from 'vitest';
import { FragmentAssembler, addRange } from './fragment-assembler.ts';
import { FrameCutter } from './frame-cutter.ts';
import { FRAME_END_OF_STREAM, FRAME_INIT, RECORD_HEADER_BYTES, encodeEndOfStream, writeRecord, type MediaFrame } from './frame-format.ts';

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

/** A frame of hand-written records (fragment index, its length, offset, bytes, key, media time). */
function recordsFrame(seq: number, records: Array<[index: number, length: number, offset: number, bytes: number, key: boolean, mediaTimeMs: number]>): MediaFrame {
  const out = new Uint8Array(records.reduce((n, r) => n + RECORD_HEADER_BYTES + r[3], 0));
  let at = 0;
  for (const [fragmentIndex, fragmentLength, offset, n, keyFrame, mediaTimeMs] of records) {
    at = writeRecord(out, at, { fragmentIndex, fragmentLength, offset, keyFrame, mediaTimeMs, payload: new Uint8Array(n).fill(fragmentIndex + 1) });
  }
  return { seq, bytes: out, flags: 0, captureTimeMs: 1000 + seq };
}
const init = (seq: number): MediaFrame => ({ seq, bytes: new Uint8Array([9, 9]), flags: FRAME_INIT, captureTimeMs: 0 });

describe('FragmentAssembler rules, one at a time', () => {
  it('a record that disagrees with its fragment (length, key flag or media time) is dropped and counted', () => {
    const asm = new FragmentAssembler();
    asm.pushFrame(init(0), 0);
    asm.pushFrame(recordsFrame(1, [[0, 20, 0, 10, true, 0]]), 0);
    asm.pushFrame(recordsFrame(2, [[0, 21, 10, 10, true, 0]]), 0); // other length
    asm.pushFrame(recordsFrame(3, [[0, 20, 10, 10, false, 0]]), 0); // other key flag
    asm.pushFrame(recordsFrame(4, [[0, 20, 10, 10, true, 5]]), 0); // other media time
    expect(asm.counters.badRecords).toBe(3);
    expect(kinds(asm.poll(0, 0))).toEqual(['init']);
    asm.pushFrame(recordsFrame(5, [[0, 20, 10, 10, true, 0]]), 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['f0']);
  });

  it('bytes already covered do not complete a fragment twice; only what is new counts', () => {
    const asm = new FragmentAssembler();
    asm.pushFrame(init(0), 0);
    asm.pushFrame(recordsFrame(1, [[0, 20, 0, 10, true, 0]]), 0);
    asm.pushFrame(recordsFrame(2, [[0, 20, 0, 10, true, 0]]), 0); // same range again, new seq
    expect(kinds(asm.poll(0, 0))).toEqual(['init']);
    asm.pushFrame(recordsFrame(3, [[0, 20, 5, 15, true, 0]]), 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['f0']);
  });

  it('the capture time is that of the frame whose first record is the fragment', () => {
    const asm = new FragmentAssembler();
    asm.pushFrame(init(0), 0);
    asm.pushFrame(recordsFrame(1, [[0, 10, 0, 10, true, 0], [1, 10, 0, 5, false, 40]]), 0);
    asm.pushFrame(recordsFrame(2, [[1, 10, 5, 5, false, 40]]), 0);
    const out = asm.poll(0, 0);
    expect(out.map((o) => (o.kind === 'fragment' ? o.fragment.captureTimeMs : null))).toEqual([null, 1001, 1002]);
  });

  it('starts at the newest complete key fragment, not at a newer incomplete one or a newer delta', () => {
    const asm = new FragmentAssembler();
    asm.pushFrame(init(0), 0);
    asm.pushFrame(recordsFrame(1, [[3, 10, 0, 10, true, 0], [5, 10, 0, 10, true, 0]]), 0);
    asm.pushFrame(recordsFrame(2, [[4, 10, 0, 10, false, 0], [6, 10, 0, 10, false, 0], [7, 10, 0, 5, true, 0]]), 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['init', 'f5', 'f6']);
    expect(asm.nextIndex).toBe(7);
    expect(asm.newestFragmentIndex).toBe(7);
    asm.pushFrame(recordsFrame(3, [[4, 10, 0, 10, false, 0]]), 0);
    expect(asm.counters.lateRecords).toBe(1);
  });

  it('waits for a missing fragment only while a later one is complete, and from when that was first seen', () => {
    const asm = new FragmentAssembler();
    asm.pushFrame(init(0), 0);
    asm.pushFrame(recordsFrame(1, [[0, 10, 0, 10, true, 0]]), 0);
    expect(kinds(asm.poll(0, 100))).toEqual(['init', 'f0']);
    asm.pushFrame(recordsFrame(2, [[2, 10, 0, 5, true, 0]]), 0); // later, incomplete: nothing to wait for
    expect(kinds(asm.poll(1000, 100))).toEqual([]);
    asm.pushFrame(recordsFrame(3, [[2, 10, 5, 5, true, 0]]), 1000);
    expect(kinds(asm.poll(1050, 100))).toEqual([]); // blocked since 1050
    expect(kinds(asm.poll(1149, 100))).toEqual([]);
    expect(kinds(asm.poll(1150, 100))).toEqual(['s1', 'f2']);
    expect(asm.counters).toMatchObject({ fragmentsSkipped: 1, fragmentsOut: 2 });
  });

  it('ends once, after the last fragment, and counts a malformed end-of-stream frame', () => {
    const asm = new FragmentAssembler();
    asm.pushFrame(init(0), 0);
    asm.pushFrame(recordsFrame(1, [[0, 10, 0, 10, true, 0]]), 0);
    asm.pushFrame({ seq: 2, bytes: new Uint8Array(3), flags: FRAME_END_OF_STREAM, captureTimeMs: 0 }, 0);
    expect(asm.counters.badFrames).toBe(1);
    expect(kinds(asm.poll(0, 0))).toEqual(['init', 'f0']);
    asm.pushFrame({ seq: 3, bytes: encodeEndOfStream(2), flags: FRAME_END_OF_STREAM, captureTimeMs: 0 }, 0);
    expect(kinds(asm.poll(0, 0))).toEqual([]);
    asm.pushFrame(recordsFrame(4, [[1, 10, 0, 10, false, 0]]), 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['f1', 'end']);
    expect(kinds(asm.poll(0, 0))).toEqual([]);
  });

  it('remembers the last 4096 frame numbers as duplicates, and no more', () => {
    const asm = new FragmentAssembler();
    asm.pushFrame(init(0), 0);
    for (let seq = 1; seq <= 4097; seq++) asm.pushFrame({ seq, bytes: new Uint8Array([1]), flags: 0, captureTimeMs: 0 }, 0);
    const bad = asm.counters.badFrames;
    asm.pushFrame({ seq: 2, bytes: new Uint8Array([1]), flags: 0, captureTimeMs: 0 }, 0); // 4096 back: still known
    expect(asm.counters).toMatchObject({ duplicateFrames: 1, badFrames: bad });
    asm.pushFrame({ seq: 1, bytes: new Uint8Array([1]), flags: 0, captureTimeMs: 0 }, 0); // 4097 back: forgotten
    expect(asm.counters).toMatchObject({ duplicateFrames: 1, badFrames: bad + 1 });
  });

  it('restart() plays again from the newest key fragment, with the init segment first', () => {
    const asm = new FragmentAssembler();
    for (const f of stream([true, false, true])) asm.pushFrame(f, 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['init', 'f2']);
    asm.restart();
    expect(asm.nextIndex).toBeNull();
    for (const f of stream([true, false, true, false, true, false]).slice(4)) asm.pushFrame({ ...f, seq: f.seq + 100 }, 0);
    expect(kinds(asm.poll(0, 0))).toEqual(['init', 'f4', 'f5']);
  });
});
