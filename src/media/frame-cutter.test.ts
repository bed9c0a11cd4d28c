import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameCutter, resolveFrameCutterConfig } from './frame-cutter.ts';
import { FragmentAssembler } from './fragment-assembler.ts';
import {
  FRAME_END_OF_STREAM,
  FRAME_FRAGMENT_END,
  FRAME_FRAGMENT_START,
  FRAME_INIT,
  FRAME_KEY,
  MAX_FRAGMENT_BYTES,
  MAX_FRAME_BYTES,
  readRecords,
  type MediaFrame,
} from './frame-format.ts';
import { expectCode } from '../expect-code.ts';

const fragmentBytes = (index: number, length: number): Uint8Array => {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (index * 31 + i * 7 + (i >> 8)) & 255;
  return b;
};

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

describe('FrameCutter', () => {
  it('fills 64 KiB frames, then an 8 KiB multiple, and carries the rest one tick', () => {
    const cutter = new FrameCutter({ maxCarryTicks: 1 });
    cutter.setInit(new Uint8Array([1, 2, 3]), 0);
    cutter.pushFragment({ bytes: fragmentBytes(0, 100_000), keyFrame: true, mediaTimeMs: 0, captureTimeMs: 1000 });
    const first = cutter.tick(0).filter((f) => !(f.flags & FRAME_INIT));
    expect(first.map((f) => f.bytes.length)).toEqual([65536, 32768]);
    expect(first[0].flags).toBe(FRAME_KEY | FRAME_FRAGMENT_START);
    expect(first[0].captureTimeMs).toBe(1000);
    expect(cutter.pendingBytes).toBe(100_000 - (65536 - 20) - (32768 - 20));
    const second = cutter.tick(100);
    expect(second).toHaveLength(1);
    expect(second[0].bytes.length).toBe(1736 + 20);
    expect(second[0].flags & FRAME_FRAGMENT_END).toBe(FRAME_FRAGMENT_END);
    expect(cutter.pendingBytes).toBe(0);
  });

  it('sends everything at each tick when carrying is off', () => {
    const cutter = new FrameCutter({ maxCarryTicks: 0 });
    cutter.pushFragment({ bytes: fragmentBytes(0, 5000), keyFrame: true, mediaTimeMs: 0, captureTimeMs: 0 });
    const frames = cutter.tick(0);
    expect(frames.map((f) => f.bytes.length)).toEqual([5020]);
  });

  it('re-sends the init segment every initRepeatMs', () => {
    const cutter = new FrameCutter({ initRepeatMs: 2000 });
    const init = cutter.setInit(new Uint8Array([9, 9]), 0);
    expect(init.flags).toBe(FRAME_INIT);
    const inits = [500, 1000, 2000, 2500, 4100].map((t) => cutter.tick(t).filter((f) => f.flags & FRAME_INIT).length);
    expect(inits).toEqual([0, 0, 1, 0, 1]);
  });

  it('ends with an end-of-stream frame naming the fragment count', () => {
    const cutter = new FrameCutter();
    cutter.pushFragment({ bytes: fragmentBytes(0, 10), keyFrame: true, mediaTimeMs: 0, captureTimeMs: 0 });
    const frames = cutter.end(5);
    expect(frames.at(-1)!.flags).toBe(FRAME_END_OF_STREAM);
    expectCode(() => cutter.pushFragment({ bytes: fragmentBytes(1, 10), keyFrame: true, mediaTimeMs: 0, captureTimeMs: 0 }), 'STREAM_ENDED');
    expectCode(() => cutter.setInit(new Uint8Array([1]), 6), 'STREAM_ENDED');
  });

  it('rejects bad configuration and bad input with stable codes', () => {
    expectCode(() => resolveFrameCutterConfig({ frameIntervalMs: 1 }), 'BAD_CONFIG');
    expectCode(() => resolveFrameCutterConfig({ maxCarryTicks: 0.5 }), 'BAD_CONFIG');
    expectCode(() => resolveFrameCutterConfig({ firstSeq: -1 }), 'BAD_CONFIG');
    expect(new FrameCutter({ firstSeq: 1000 }).setInit(new Uint8Array([1]), 0).seq).toBe(1000);
    const cutter = new FrameCutter();
    expectCode(() => cutter.pushFragment({ bytes: new Uint8Array(0), keyFrame: true, mediaTimeMs: 0, captureTimeMs: 0 }), 'BAD_FRAGMENT');
    expectCode(() => cutter.pushFragment({ bytes: new Uint8Array(MAX_FRAGMENT_BYTES + 1), keyFrame: true, mediaTimeMs: 0, captureTimeMs: 0 }), 'BAD_FRAGMENT');
    expectCode(() => cutter.setInit(new Uint8Array(0), 0), 'BAD_INIT_SEGMENT');
    expectCode(() => cutter.setInit(new Uint8Array(MAX_FRAME_BYTES + 1), 0), 'BAD_INIT_SEGMENT');
  });

  it('never holds a byte longer than maxCarryTicks + 1 ticks and keeps frames within 64 KiB', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 90_000 }), { maxLength: 3 }), { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 0, max: 3 }),
        (ticks, maxCarryTicks) => {
          const cutter = new FrameCutter({ maxCarryTicks });
          let index = 0;
          const pushedAt = new Map<number, number>();
          const lastSeenAt = new Map<number, number>();
          const all = [...ticks, ...Array.from({ length: maxCarryTicks + 1 }, () => [])];
          all.forEach((sizes, t) => {
            for (const n of sizes) {
              pushedAt.set(index, t);
              cutter.pushFragment({ bytes: fragmentBytes(index++, n), keyFrame: true, mediaTimeMs: 0, captureTimeMs: 0 });
            }
            for (const f of cutter.tick(t * 100)) {
              expect(f.bytes.length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
              if (f.flags & FRAME_INIT) continue;
              for (const r of readRecords(f.bytes)) lastSeenAt.set(r.fragmentIndex, t);
            }
          });
          expect(cutter.pendingBytes).toBe(0);
          for (const [i, t] of pushedAt) expect(lastSeenAt.get(i)! - t).toBeLessThanOrEqual(maxCarryTicks);
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** Cuts a fragment sequence into frames with a random tick schedule; only fragment 0 is a key frame. */
function cut(sizes: number[], schedule: number[], keyEvery: number, maxCarryTicks = 1) {
  const cutter = new FrameCutter({ maxCarryTicks });
  const frames: MediaFrame[] = [cutter.setInit(new Uint8Array([7, 7, 7]), 0)];
  const fragments = sizes.map((n, i) => fragmentBytes(i, n));
  let t = 0;
  fragments.forEach((bytes, i) => {
    cutter.pushFragment({ bytes, keyFrame: i % keyEvery === 0, mediaTimeMs: i * 500, captureTimeMs: 1e12 + i * 500 });
    for (let k = 0; k < (schedule[i % schedule.length] ?? 1); k++) frames.push(...cutter.tick((t += 100)));
  });
  frames.push(...cutter.end((t += 100)));
  return { frames, fragments };
}

describe('FrameCutter + FragmentAssembler', () => {
  it('any cut of any fragment sequence reassembles exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 150_000 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        (sizes, schedule, maxCarryTicks, shuffle) => {
          const { frames, fragments } = cut(sizes, schedule, 1_000_000, maxCarryTicks);
          frames.forEach((f, i) => expect(f.seq).toBe(i));
          for (const f of frames) {
            if (f.flags & (FRAME_INIT | FRAME_END_OF_STREAM)) continue;
            const records = readRecords(f.bytes);
            expect(records.length).toBeGreaterThan(0);
            const starts = records.some((r) => r.offset === 0);
            const ends = records.some((r) => r.offset + r.payload.length === r.fragmentLength);
            const key = records.some((r) => r.offset === 0 && r.keyFrame);
            expect(f.flags).toBe((starts ? FRAME_FRAGMENT_START : 0) | (ends ? FRAME_FRAGMENT_END : 0) | (key ? FRAME_KEY : 0));
          }
          const order = shuffle ? [...frames].reverse() : frames;
          const asm = new FragmentAssembler();
          for (const f of order) asm.pushFrame(f, 0);
          const out = asm.poll(0, 0);
          const got = out.flatMap((o) => (o.kind === 'fragment' ? [o.fragment] : []));
          expect(got.map((g) => g.index)).toEqual(fragments.map((_, i) => i));
          got.forEach((g, i) => expect(same(g.bytes, fragments[i])).toBe(true));
          expect(got[0].keyFrame).toBe(true);
          expect(out[0].kind).toBe('init');
          expect(out.at(-1)!.kind).toBe('end');
        },
      ),
      { numRuns: 120 },
    );
  });

  it('missing frames lose only the fragments they touch', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 2, maxLength: 15 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }),
        (sizes, schedule, dropMask) => {
          const { frames, fragments } = cut(sizes, schedule, 1);
          const touched = new Set<number>();
          const kept: MediaFrame[] = [];
          frames.forEach((f, i) => {
            const isMedia = !(f.flags & (FRAME_INIT | FRAME_END_OF_STREAM));
            if (isMedia && dropMask[i % dropMask.length] && i % 3 === 0) {
              for (const r of readRecords(f.bytes)) touched.add(r.fragmentIndex);
            } else kept.push(f);
          });
          const asm = new FragmentAssembler();
          const released: number[] = [];
          for (const f of kept) {
            asm.pushFrame(f, 0);
            for (const o of asm.poll(0, 0)) {
              if (o.kind === 'fragment') {
                expect(same(o.fragment.bytes, fragments[o.fragment.index])).toBe(true);
                released.push(o.fragment.index);
              }
            }
          }
          for (const i of released) expect(touched.has(i)).toBe(false);
          expect(released).toEqual([...released].sort((a, b) => a - b));
          if (released.length > 0) {
            const expected = fragments.map((_, i) => i).filter((i) => i >= released[0] && !touched.has(i));
            expect(released).toEqual(expected);
          } else {
            expect(fragments.every((_, i) => touched.has(i))).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
