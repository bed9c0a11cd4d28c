// The behaviour every Codec must show, as a Vitest suite run against each build: systematic
// copies, producer path = direct feed packets, any 64 keys decode, frame-length edges, error codes,
// and byte equality with the reference codec. Test-only helper; imported by *.test.ts files.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isP2PError } from '../errors.ts';
import { expectCode } from '../expect-code.ts';
import type { Codec } from './codec.ts';
import { packetSize } from './codec-input.ts';
import { createReferenceCodec } from './reference-codec.ts';

const ref = createReferenceCodec();
/**
 * Mutation mode (docs/mutation.md): `CODEC_TEST_MODE=mutation`, set only by scripts/mutation.mjs
 * for the codec folder. The codec's tests then run their properties at fewer runs (the explicit
 * examples all still run) and the kernel-build suites on the builds that TypeScript mutants can
 * reach differently (one build with the decode cache, one without): every build runs the same
 * TypeScript, and each surviving mutant costs a run of every test that covers it. `npm test` never
 * sets it.
 */
export const MUTATION_MODE = process.env.CODEC_TEST_MODE === 'mutation';
/** Property runs per case: `full` normally, `quick` in mutation mode. */
export const propertyRuns = (full: number, quick: number): number => (MUTATION_MODE ? quick : full);
/** Property runs per case. Random frames are mostly short (one packet size, 128 bytes); the frame-length edges run every time as examples. */
const RUNS = propertyRuns(100, 6);
/** Frame lengths at the packet-size steps and the ends of the range. */
const EDGE_FULL = [1, 8191, 8192, 8193, 65535, 65536];
/**
 * Frame length as the suite asks for it; in mutation mode no more than 8193 bytes (still two
 * packet sizes): under Stryker's instrumentation the reference codec's byte loops make each
 * larger frame cost seconds, and the timeout of every mutant grows with the suite's time.
 * The largest packet size keeps its explicit rows in the unit tests (wasm-glue, stage, codec-input).
 */
const cap = (L: number): number => (MUTATION_MODE ? Math.min(L, 8193) : L);
const EDGE_L = [...new Set(EDGE_FULL.map(cap))];
const range = (from: number, n: number, step = 1) => Array.from({ length: n }, (_, i) => from + step * i);

function frameOf(L: number, seed: number): Uint8Array {
  const f = new Uint8Array(L);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < L; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    f[i] = s & 255;
  }
  return f;
}

const arbL = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 8192 }), weight: 30 },
  { arbitrary: fc.integer({ min: 8193, max: cap(65536) }), weight: 1 },
);
const arbKeys = (n: number, min = 0) => fc.uniqueArray(fc.integer({ min, max: 255 }), { minLength: n, maxLength: n });

export { expectCode } from '../expect-code.ts';

/** Registers the contract suite for a codec made by `make`. */
export function describeCodecContract(name: string, make: () => Codec | Promise<Codec>): void {
  describe(`codec contract: ${name}`, () => {
    let codec: Codec;
    // Made in a hook, not in a test: every test below must run on its own (mutation testing runs
    // only the tests that cover a mutant, and a test that leaned on an earlier one would fail).
    beforeAll(async () => {
      codec = await make();
    });
    it('is created', () => {
      expect(codec.build).toBe(name);
    });

    it('FP(x) is part x for x < 64; CS(c) is a copy of sub-parts for c < 8; SP(c, g) is a copy for g < 8', () => {
      fc.assert(fc.property(arbL, fc.integer(), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 }), (L, seed, x, c, g) => {
        const F = frameOf(L, seed);
        const P = packetSize(L);
        const Q = P / 8;
        const padded = new Uint8Array(64 * P); padded.set(F);
        expect(codec.feedPacket(F, x)).toEqual(padded.slice(x * P, x * P + P));
        const cs = codec.codeSegment(F, c);
        const want = new Uint8Array(8 * P);
        for (let j = 0; j < 64; j++) want.set(padded.subarray(j * P + c * Q, j * P + c * Q + Q), j * Q);
        expect(cs).toEqual(want);
        expect(codec.seedPacket(cs, g)).toEqual(cs.slice(g * P, g * P + P));
      }), { numRuns: RUNS, examples: [...EDGE_L.map((L) => [L, 1, 0, 0, 0] as [number, number, number, number, number]), [cap(65536), 2, 63, 7, 7], [8193, 3, 63, 7, 7]] });
    });

    it('producer path (CS → SP → 8 seeds → FP) equals FP(x) computed from the frame', () => {
      fc.assert(fc.property(arbL, fc.integer(), arbKeys(8), fc.integer({ min: 0, max: 31 }), (L, seed, cs, g) => {
        const F = frameOf(L, seed);
        const seeds = new Map<number, Uint8Array>();
        for (const [i, seg] of codec.codeSegments(F, cs).entries()) seeds.set(cs[i], codec.seedPacket(seg, g));
        const got = codec.feedPacketsFromSeeds(seeds, g);
        const want = codec.feedPackets(F, [0, 1, 2, 3, 4, 5, 6, 7].map((m) => 8 * g + m));
        expect(got).toEqual(want);
      }), { numRuns: RUNS, examples: [[cap(65536), 1, range(0, 8), 0], [cap(65536), 2, range(248, 8), 31], [1, 3, range(0, 8, 32), 31], [8193, 4, range(100, 8, 3), 7]] });
    });

    it('any 64 distinct keys decode the frame', () => {
      fc.assert(fc.property(arbL, fc.integer(), arbKeys(64), (L, seed, xs) => {
        const F = frameOf(L, seed);
        const fps = codec.feedPackets(F, xs);
        const packets = new Map(xs.map((x, i) => [x, fps[i]] as const));
        expect(codec.decodeFrame(packets, L)).toEqual(F);
      }), {
        numRuns: RUNS,
        examples: [
          ...EDGE_L.map((L) => [L, 1, range(0, 64)] as [number, number, number[]]), // all systematic
          ...EDGE_L.map((L) => [L, 2, range(192, 64)] as [number, number, number[]]), // no systematic key
          [cap(65536), 3, [...range(0, 63), 255]], // all but one systematic
          [8193, 4, range(255, 64, -2)],
          [1, 5, range(64, 64, 3)],
        ],
      });
    });

    it('decodeFrameInto writes the same frame into a caller buffer, or names a short one', () => {
      const L = cap(20000);
      const F = frameOf(L, 31);
      for (const xs of [Array.from({ length: 64 }, (_, i) => i), Array.from({ length: 64 }, (_, i) => 3 * i + 2)]) {
        const fps = codec.feedPackets(F, xs);
        const packets = new Map(xs.map((x, i) => [x, fps[i]]));
        const out = new Uint8Array(L + 100).fill(7);
        const got = codec.decodeFrameInto(out, packets, L);
        expect(got).toEqual(F);
        expect(got.buffer).toBe(out.buffer);
        expect(out[L]).toBe(7);
        expectCode(() => codec.decodeFrameInto(new Uint8Array(L - 1), packets, L), 'CODEC_BAD_INPUT');
      }
    });

    it('decodes from 64 non-systematic keys and from more than 64 keys', () => {
      const L = cap(40000);
      const F = frameOf(L, 7);
      const xs = Array.from({ length: 64 }, (_, i) => 255 - 2 * i);
      const fps = codec.feedPackets(F, xs);
      expect(codec.decodeFrame(new Map(xs.map((x, i) => [x, fps[i]])), L)).toEqual(F);
      const all = Array.from({ length: 256 }, (_, i) => i);
      const fpa = codec.feedPackets(F, all);
      expect(codec.decodeFrame(new Map(all.map((x, i) => [x, fpa[i]])), L)).toEqual(F);
    });

    it('leaves the packets it decodes from unchanged', () => {
      // Coded keys feed the decoder's residuals: a build that worked on them in place would hand a
      // caller (a viewer that serves those packets on) different bytes after its own decode.
      const L = cap(9000);
      const F = frameOf(L, 41);
      const xs = [...range(0, 60), 100, 150, 200, 250];
      const fps = codec.feedPackets(F, xs);
      const packets = new Map(xs.map((x, i) => [x, fps[i]] as const));
      const before = fps.map((p) => p.slice());
      // Checked after each call: working in place twice would XOR the same terms back out.
      expect(codec.decodeFrame(packets, L)).toEqual(F);
      xs.forEach((x, i) => expect(packets.get(x)).toEqual(before[i]));
      expect(codec.decodeFrameInto(new Uint8Array(L), packets, L)).toEqual(F);
      xs.forEach((x, i) => expect(packets.get(x)).toEqual(before[i]));
    });

    it('batch forms equal the single forms over every key', () => {
      const F = frameOf(5000, 21);
      const all = Array.from({ length: 256 }, (_, i) => 255 - i);
      const segs = codec.codeSegments(F, all);
      all.forEach((c, i) => expect(segs[i]).toEqual(codec.codeSegment(F, c)));
      const fps = codec.feedPackets(F, all);
      all.forEach((x, i) => expect(fps[i]).toEqual(codec.feedPacket(F, x)));
      const gs = Array.from({ length: 32 }, (_, g) => (g * 7) % 32);
      const sps = codec.seedPackets(segs[55], gs);
      gs.forEach((g, i) => expect(sps[i]).toEqual(codec.seedPacket(segs[55], g)));
    });

    it('returns arrays the caller owns', () => {
      const F = frameOf(9000, 3);
      const a = codec.feedPacket(F, 100);
      const keep = a.slice();
      codec.feedPacket(frameOf(9000, 4), 100);
      codec.feedPackets(F, [101, 102]);
      expect(a).toEqual(keep);
      const cs = codec.codeSegment(F, 20);
      const csKeep = cs.slice();
      codec.codeSegment(frameOf(9000, 5), 20);
      expect(cs).toEqual(csKeep);
      // Many single packets in a row (more than one pool buffer of them): none is overwritten.
      const small = frameOf(3000, 6);
      const got = Array.from({ length: 200 }, (_, i) => [codec.feedPacket(small, i % 256), codec.seedPacket(cs, i % 32)]);
      got.forEach(([fp, sp], i) => {
        expect(fp).toEqual(ref.feedPacket(small, i % 256));
        expect(sp).toEqual(ref.seedPacket(cs, i % 32));
      });
    });

    if (name !== 'reference') {
      it('gives the same bytes as the reference codec', () => {
        fc.assert(fc.property(arbL, fc.integer(), arbKeys(3), fc.integer({ min: 0, max: 31 }), (L, seed, keys, g) => {
          const F = frameOf(L, seed);
          expect(codec.feedPackets(F, keys)).toEqual(keys.map((x) => ref.feedPacket(F, x)));
          const cs = codec.codeSegments(F, keys);
          expect(cs).toEqual(keys.map((c) => ref.codeSegment(F, c)));
          expect(codec.seedPackets(cs[0], [g])).toEqual([ref.seedPacket(cs[0], g)]);
        }), { numRuns: RUNS, examples: [[cap(65536), 1, [0, 63, 255], 31], [1, 2, [64, 128, 200], 0], [8193, 3, [7, 8, 254], 8]] });
      });
    }

    it('checks spare seeds: 9 detect a bad one, 10 name it', () => {
      const F = frameOf(cap(20000), 11);
      const g = 13;
      const keys = [3, 9, 40, 41, 77, 100, 128, 200, 201, 255];
      const segs = codec.codeSegments(F, keys);
      const seeds = new Map(keys.map((c, i) => [c, codec.seedPacket(segs[i], g)]));
      const want = codec.feedPackets(F, [104, 105, 106, 107, 108, 109, 110, 111]);
      expect(codec.feedPacketsFromSeeds(seeds, g)).toEqual(want);
      for (const bad of [3, 100, 255]) {
        const tampered = new Map(seeds);
        const s = (tampered.get(bad) as Uint8Array).slice();
        s[5] ^= 1;
        tampered.set(bad, s);
        expectCode(() => codec.feedPacketsFromSeeds(tampered, g), 'CODEC_SEEDS_DISAGREE');
        let err: unknown;
        try { codec.feedPacketsFromSeeds(tampered, g); } catch (e) { err = e; }
        expect((err as { details: { c?: number } }).details.c).toBe(bad);
        const nine = new Map([...tampered].filter(([c]) => c !== (bad === 3 ? 9 : 3)));
        expectCode(() => codec.feedPacketsFromSeeds(nine, g), 'CODEC_SEEDS_DISAGREE');
      }
    });

    it('answers arbitrary input with a result of the right size or a P2PError, nothing else', () => {
      const arbKey = fc.oneof(fc.integer({ min: -2, max: 258 }), fc.constantFrom(0.5, Number.NaN, 1e9));
      const arbBytes = fc.oneof(fc.constantFrom(0, 1, 127, 128, 129, 256, 1024, 1025).map((n) => new Uint8Array(n)), fc.uint8Array({ maxLength: 300 }));
      const settle = (fn: () => unknown, size: (r: unknown) => boolean): void => {
        try {
          expect(size(fn())).toBe(true);
        } catch (e) {
          if (!isP2PError(e)) throw e;
        }
      };
      fc.assert(fc.property(fc.array(fc.tuple(arbKey, arbBytes), { maxLength: 80 }), arbKey, fc.integer({ min: -5, max: 70000 }), (entries, k, L) => {
        const m = new Map(entries);
        settle(() => codec.decodeFrame(m, L), (r) => (r as Uint8Array).length === L);
        settle(() => codec.feedPacketsFromSeeds(m, k), (r) => (r as Uint8Array[]).length === 8);
        const [first] = entries;
        if (first) {
          settle(() => codec.seedPacket(first[1], k), (r) => (r as Uint8Array).length * 8 === first[1].length);
          settle(() => codec.feedPacket(first[1], k), (r) => (r as Uint8Array).length === packetSize(first[1].length));
          settle(() => codec.codeSegment(first[1], k), (r) => (r as Uint8Array).length === 8 * packetSize(first[1].length));
        }
      }), { numRuns: RUNS });
    });

    it('decode stage: packets written into slots (or put) decode to the frame, like decodeFrame', () => {
      const arbStaged = fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 64, maxLength: 90 });
      fc.assert(fc.property(arbL, fc.integer(), arbStaged, fc.boolean(), fc.nat(), (L, seed, xs, usePut, leave) => {
        const F = frameOf(L, seed);
        const fps = codec.feedPackets(F, xs);
        const st = codec.decodeStage(L);
        expect(st.frameLength).toBe(L);
        expect(st.packetSize).toBe(packetSize(L));
        xs.forEach((x, i) => { if (usePut) st.put(x, fps[i]); else st.slot(x).set(fps[i]); });
        expect(st.size).toBe(xs.length);
        // Leave one key out when more than 64 are staged (as when a source is distrusted).
        if (xs.length > 64) {
          const gone = xs[leave % xs.length];
          expect(st.delete(gone)).toBe(true);
          expect(st.delete(gone)).toBe(false);
          expect(st.has(gone)).toBe(false);
        }
        const got = st.decode();
        expect(got.length).toBe(L);
        expect(got).toEqual(F);
        const out = new Uint8Array(L + 5).fill(9);
        const into = st.decodeInto(out);
        expect(into).toEqual(F);
        expect(into.buffer).toBe(out.buffer);
        expect(out[L]).toBe(9);
        expect(codec.decodeFrame(new Map(xs.map((x, i) => [x, fps[i]] as const)), L)).toEqual(F);
      }), { numRuns: RUNS });
    });

    it('segment stage: one staged code segment gives every seed packet, as views or into a buffer', () => {
      fc.assert(fc.property(arbL, fc.integer(), fc.integer({ min: 0, max: 255 }), fc.uniqueArray(fc.integer({ min: 0, max: 31 }), { minLength: 1, maxLength: 8 }), (L, seed, c, gs) => {
        const F = frameOf(L, seed);
        const cs = codec.codeSegment(F, c);
        const P = packetSize(L);
        const st = codec.segmentStage(P);
        expect(st.packetSize).toBe(P);
        expect(st.bytes.length).toBe(8 * P);
        st.bytes.set(cs);
        for (const g of gs) {
          const want = ref.seedPacket(cs, g);
          expect(st.seedPacket(g)).toEqual(want);
          const out = new Uint8Array(P + 3).fill(5);
          expect(st.seedPacketInto(out, g)).toEqual(want);
          expect(out[P]).toBe(5);
        }
        const all = new Uint8Array(gs.length * P + 1).fill(6);
        const got = st.seedPacketsInto(all, gs);
        expect(got.length).toBe(gs.length * P);
        gs.forEach((g, i) => expect(got.subarray(i * P, (i + 1) * P)).toEqual(ref.seedPacket(cs, g)));
        expect(all[gs.length * P]).toBe(6);
      }), { numRuns: RUNS });
    });

    it('stage views: overwritten by the next stage or seed packet, untouched by other calls', () => {
      fc.assert(fc.property(arbL, fc.integer(), fc.integer(), arbKeys(64), (L, s1, s2, xs) => {
        const A = frameOf(L, s1);
        const B = frameOf(L, s2 ^ 0x5a5a);
        const P = packetSize(L);
        const stA = codec.decodeStage(L);
        codec.feedPackets(A, xs).forEach((p, i) => stA.put(xs[i], p));
        const viewA = stA.decode();
        // Calls outside the stages leave stage memory alone.
        codec.decodeFrame(new Map(xs.map((x, i) => [x, codec.feedPacket(B, x)] as const)), L);
        codec.codeSegments(B, [3, 200]);
        codec.seedPackets(codec.codeSegment(B, 9), [1, 20, 31]);
        expect(viewA).toEqual(A);
        // A new decode stage ends the old one; the old views show the new stage's bytes.
        const stB = codec.decodeStage(L);
        expectCode(() => stA.slot(xs[0]), 'CODEC_STAGE_ENDED');
        expectCode(() => stA.decode(), 'CODEC_STAGE_ENDED');
        expectCode(() => stA.size, 'CODEC_STAGE_ENDED');
        codec.feedPackets(B, xs).forEach((p, i) => stB.slot(xs[i]).set(p));
        expect(stB.decode()).toEqual(B);
        expect(viewA).toEqual(B);
        // A bad length is refused before the live stage ends.
        expectCode(() => codec.decodeStage(0), 'CODEC_FRAME_LENGTH');
        expect(stB.size).toBe(64);
        // One seed packet view at a time: the next seed packet overwrites it.
        const csA = codec.codeSegment(A, 77);
        const seg = codec.segmentStage(P);
        seg.bytes.set(csA);
        const v20 = seg.seedPacket(20);
        expect(v20).toEqual(ref.seedPacket(csA, 20));
        seg.seedPacket(9);
        expect(v20).toEqual(ref.seedPacket(csA, 9));
        seg.seedPacketInto(new Uint8Array(P), 31);
        expect(v20).toEqual(ref.seedPacket(csA, 31));
        seg.seedPacketsInto(new Uint8Array(3 * P), [2, 12, 13]);
        expect(v20).toEqual(ref.seedPacket(csA, 12));
        const seg2 = codec.segmentStage(P);
        expectCode(() => seg.seedPacket(9), 'CODEC_STAGE_ENDED');
        expect(seg2.bytes).toEqual(csA); // same memory, not cleared
      }), { numRuns: RUNS });
    });

    it('names bad input to the stages with stable codes, and answers arbitrary input with a result or a P2PError', () => {
      const L = 3000;
      const P = packetSize(L);
      const st = codec.decodeStage(L);
      expectCode(() => st.slot(256), 'CODEC_KEY_RANGE');
      expectCode(() => st.slot(-1), 'CODEC_KEY_RANGE');
      expectCode(() => st.put(1.5, new Uint8Array(P)), 'CODEC_KEY_RANGE');
      expectCode(() => st.has(Number.NaN), 'CODEC_KEY_RANGE');
      expectCode(() => st.delete(300), 'CODEC_KEY_RANGE');
      expectCode(() => st.put(3, new Uint8Array(P + 1)), 'CODEC_PACKET_SIZE');
      expectCode(() => st.put(3, [1, 2] as unknown as Uint8Array), 'CODEC_BAD_INPUT');
      for (let x = 0; x < 63; x++) st.put(x, new Uint8Array(P));
      expectCode(() => st.decode(), 'CODEC_TOO_FEW_KEYS');
      expectCode(() => st.decodeInto(new Uint8Array(L)), 'CODEC_TOO_FEW_KEYS');
      st.put(200, new Uint8Array(P));
      expectCode(() => st.decodeInto(new Uint8Array(L - 1)), 'CODEC_BAD_INPUT');
      expectCode(() => st.decodeInto('x' as unknown as Uint8Array), 'CODEC_BAD_INPUT');
      expect(st.decode()).toEqual(new Uint8Array(L));
      expectCode(() => codec.decodeStage(65537), 'CODEC_FRAME_LENGTH');
      expectCode(() => codec.decodeStage(1.5), 'CODEC_FRAME_LENGTH');
      for (const bad of [0, 100, 129, 1152, 2048, -128, 0.5, Number.NaN]) expectCode(() => codec.segmentStage(bad), 'CODEC_PACKET_SIZE');
      const seg = codec.segmentStage(128);
      expectCode(() => seg.seedPacket(32), 'CODEC_KEY_RANGE');
      expectCode(() => seg.seedPacket(-1), 'CODEC_KEY_RANGE');
      expectCode(() => seg.seedPacketInto(new Uint8Array(127), 9), 'CODEC_BAD_INPUT');
      expectCode(() => seg.seedPacketInto(null as unknown as Uint8Array, 9), 'CODEC_BAD_INPUT');
      expectCode(() => seg.seedPacketsInto(new Uint8Array(1024), [9, 9]), 'CODEC_DUPLICATE_KEY');
      expectCode(() => seg.seedPacketsInto(new Uint8Array(1024), [9, 32]), 'CODEC_KEY_RANGE');
      expectCode(() => seg.seedPacketsInto(new Uint8Array(255), [1, 9]), 'CODEC_BAD_INPUT');
      expectCode(() => seg.seedPacketsInto(new Uint8Array(1024), 9 as unknown as number[]), 'CODEC_BAD_INPUT');

      const arbKey = fc.oneof(fc.integer({ min: -2, max: 258 }), fc.constantFrom(0.5, Number.NaN, 1e9));
      const arbBytes = fc.oneof(fc.constantFrom(0, 127, 128, 129, 256, 1024).map((n) => new Uint8Array(n)), fc.uint8Array({ maxLength: 300 }));
      const settle = (fn: () => unknown, ok: (r: unknown) => boolean): void => {
        try {
          expect(ok(fn())).toBe(true);
        } catch (e) {
          if (!isP2PError(e)) throw e;
        }
      };
      fc.assert(fc.property(fc.integer({ min: -5, max: 70000 }), fc.array(fc.tuple(arbKey, arbBytes), { maxLength: 80 }), arbKey, fc.integer({ min: -5, max: 1100 }), (len, entries, g, p) => {
        let stage: ReturnType<Codec['decodeStage']> | null = null;
        settle(() => (stage = codec.decodeStage(len)), (r) => (r as { frameLength: number }).frameLength === len);
        if (stage !== null) {
          const s = stage as ReturnType<Codec['decodeStage']>;
          for (const [x, b] of entries) settle(() => s.put(x, b), () => true);
          settle(() => s.decode(), (r) => (r as Uint8Array).length === len);
        }
        settle(() => codec.segmentStage(p).seedPacket(g), (r) => (r as Uint8Array).length === p);
      }), { numRuns: RUNS });
    });

    it('names bad input with stable codes', () => {
      const F = frameOf(1000, 1);
      expectCode(() => codec.feedPacket(new Uint8Array(0), 1), 'CODEC_FRAME_LENGTH');
      expectCode(() => codec.feedPacket(new Uint8Array(65537), 1), 'CODEC_FRAME_LENGTH');
      expectCode(() => codec.feedPacket(F, 256), 'CODEC_KEY_RANGE');
      expectCode(() => codec.feedPacket(F, -1), 'CODEC_KEY_RANGE');
      expectCode(() => codec.feedPacket(F, 1.5), 'CODEC_KEY_RANGE');
      expectCode(() => codec.feedPackets(F, [4, 4]), 'CODEC_DUPLICATE_KEY');
      expectCode(() => codec.codeSegment(F, 300), 'CODEC_KEY_RANGE');
      expectCode(() => codec.codeSegments(F, [1, 1]), 'CODEC_DUPLICATE_KEY');
      expectCode(() => codec.seedPacket(new Uint8Array(1000), 9), 'CODEC_PACKET_SIZE');
      expectCode(() => codec.seedPacket(new Uint8Array(1024), 32), 'CODEC_KEY_RANGE');
      expectCode(() => codec.seedPackets(new Uint8Array(1024), [9, 9]), 'CODEC_DUPLICATE_KEY');
      expectCode(() => codec.feedPacket('x' as unknown as Uint8Array, 1), 'CODEC_BAD_INPUT');
      // The message names the argument and its range, so a caller's log says which key was wrong.
      expect(() => codec.feedPacket(F, 256)).toThrow('x 256 is outside 0..255');
      expect(() => codec.feedPackets(F, [4, 4])).toThrow('x 4 appears twice');
      expect(() => codec.codeSegment(F, 300)).toThrow('c 300 is outside 0..255');
      expect(() => codec.codeSegments(F, [1, 1])).toThrow('c 1 appears twice');
      expect(() => codec.seedPacket(new Uint8Array(1024), 32)).toThrow('g 32 is outside 0..31');
      expect(() => codec.seedPackets(new Uint8Array(1024), [9, 9])).toThrow('g 9 appears twice');
      const seven = new Map([0, 1, 2, 3, 4, 5, 6].map((c) => [c, new Uint8Array(128)]));
      expectCode(() => codec.feedPacketsFromSeeds(seven, 9), 'CODEC_TOO_FEW_KEYS');
      const eight = new Map([0, 1, 2, 3, 4, 5, 6, 7].map((c) => [c, new Uint8Array(128)]));
      expectCode(() => codec.feedPacketsFromSeeds(eight, 32), 'CODEC_KEY_RANGE');
      eight.set(7, new Uint8Array(129));
      expectCode(() => codec.feedPacketsFromSeeds(eight, 9), 'CODEC_PACKET_SIZE');
      const fps = new Map(Array.from({ length: 64 }, (_, x) => [x, codec.feedPacket(F, x)]));
      expectCode(() => codec.decodeFrame(fps, 0), 'CODEC_FRAME_LENGTH');
      expectCode(() => codec.decodeFrame(fps, 9000), 'CODEC_PACKET_SIZE');
      expect(codec.decodeFrame(fps, 1000)).toEqual(F);
      fps.delete(63);
      expectCode(() => codec.decodeFrame(fps, 1000), 'CODEC_TOO_FEW_KEYS');
      fps.set(256, new Uint8Array(128));
      expectCode(() => codec.decodeFrame(fps, 1000), 'CODEC_KEY_RANGE');
    });
  });
}
