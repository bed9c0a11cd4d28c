// The staged API's bookkeeping (stage.ts) with explicit rows, on the reference codec and a kernel
// build: which keys count as staged, the views handed out (made once, then the same object), the
// output buffers (out itself when of exact size), the order of refusals and their messages, and
// the end of a stage when the next one begins.
import { beforeAll, describe, expect, it } from 'vitest';
import { isP2PError } from '../errors.ts';
import { expectCode } from '../expect-code.ts';
import type { Codec } from './codec.ts';
import { createCodec } from './create-codec.ts';
import { createReferenceCodec } from './reference-codec.ts';
import { createStages, STAGE_BYTES, type StageBackend } from './stage.ts';

const ref = createReferenceCodec();
function refusal(fn: () => unknown): { code: string; message: string; details: unknown } {
  try {
    fn();
  } catch (e) {
    if (!isP2PError(e)) throw e;
    return { code: e.code, message: e.message, details: e.details };
  }
  throw new Error('nothing thrown');
}
const frameOf = (L: number, seed: number) => Uint8Array.from({ length: L }, (_, i) => (i * 29 + seed + (i >> 7)) & 255);
const range = (from: number, n: number, step = 1) => Array.from({ length: n }, (_, i) => from + step * i);

describe.each([['reference'], ['relaxed-simd']] as const)('stages of the %s codec', (build) => {
  let codec: Codec;
  beforeAll(async () => {
    codec = build === 'reference' ? createReferenceCodec() : await createCodec({ build });
  });

  it('decode stage: distinct keys staged, counted once, un-staged by delete', () => {
    const L = 9000; // P = 256
    const st = codec.decodeStage(L);
    expect([st.frameLength, st.packetSize, st.size]).toEqual([L, 256, 0]);
    const s5 = st.slot(5);
    expect(s5.length).toBe(256);
    expect(st.slot(5)).toBe(s5); // the same view, still counted once
    st.put(5, new Uint8Array(256));
    st.put(200, new Uint8Array(256).fill(1));
    expect(st.slot(200)[0]).toBe(1);
    expect(st.size).toBe(2);
    expect([st.has(5), st.has(200), st.has(6), st.has(0), st.has(255)]).toEqual([true, true, false, false, false]);
    expect(st.delete(6)).toBe(false);
    expect(st.size).toBe(2);
    expect(st.delete(5)).toBe(true);
    expect(st.has(5)).toBe(false);
    expect(st.size).toBe(1);
    st.slot(5);
    expect(st.size).toBe(2);
    // A new stage starts empty, and its slots are the same views for the same packet size.
    const st2 = codec.decodeStage(L - 1);
    expect([st2.size, st2.has(5), st2.has(200)]).toEqual([0, false, false]);
    expect(st2.slot(5)).toBe(s5);
    expect(codec.decodeStage(20000).slot(5).length).toBe(384);
    expect(codec.decodeStage(65536).slot(64).length).toBe(1024);
  });

  it('decode stage: 63 keys are too few for decode and decodeInto (before the output is looked at); 64 decode', () => {
    const L = 3000;
    const F = frameOf(L, 4);
    const xs = [...range(1, 62), 64, 255]; // 64: the first coded slot
    const fps = codec.feedPackets(F, xs);
    const st = codec.decodeStage(L);
    xs.slice(0, 63).forEach((x, i) => st.put(x, fps[i]));
    expect(refusal(() => st.decode())).toEqual({ code: 'CODEC_TOO_FEW_KEYS', message: 'CODEC_TOO_FEW_KEYS: 63 feed packets staged, 64 needed', details: { count: 63 } });
    expectCode(() => st.decodeInto(new Uint8Array(1)), 'CODEC_TOO_FEW_KEYS');
    expectCode(() => st.decodeInto('out' as unknown as Uint8Array), 'CODEC_TOO_FEW_KEYS');
    st.put(255, fps[63]);
    expect(refusal(() => st.decodeInto(new Uint8Array(L - 1))).code).toBe('CODEC_BAD_INPUT');
    const view = st.decode();
    expect(view).toEqual(F);
    expect(st.decode()).toBe(view); // one frame view per length, reused
    const exact = new Uint8Array(L);
    expect(st.decodeInto(exact)).toBe(exact);
    expect(exact).toEqual(F);
    const longer = new Uint8Array(L + 1).fill(3);
    const got = st.decodeInto(longer);
    expect(got.length).toBe(L);
    expect(got.buffer).toBe(longer.buffer);
    expect(got).toEqual(F);
    expect(longer[L]).toBe(3);
    // Un-staging a key takes it out of the decode: the next coded key stands in.
    st.put(150, codec.feedPacket(F, 150));
    expect(st.size).toBe(65);
    expect(st.delete(255)).toBe(true);
    expect(st.decode()).toEqual(F);
    expect(st.delete(64)).toBe(true);
    expectCode(() => st.decode(), 'CODEC_TOO_FEW_KEYS');
  });

  it('decode stage: refusals name the key and the sizes', () => {
    const st = codec.decodeStage(100);
    expect(refusal(() => st.put(3, new Uint8Array(129)))).toEqual({ code: 'CODEC_PACKET_SIZE', message: 'CODEC_PACKET_SIZE: feed packet 3 has 129 bytes, 128 expected', details: { x: 3, bytes: 129, P: 128 } });
    expect(refusal(() => st.put(4, new Uint8Array(127))).details).toEqual({ x: 4, bytes: 127, P: 128 });
    expect(refusal(() => st.put(7, 'p' as unknown as Uint8Array)).message).toBe('CODEC_BAD_INPUT: feed packet 7 is not a Uint8Array');
    expect(st.size).toBe(0);
    for (const x of [-1, 256, 0.5]) {
      expectCode(() => st.slot(x), 'CODEC_KEY_RANGE');
      expectCode(() => st.has(x), 'CODEC_KEY_RANGE');
      expectCode(() => st.delete(x), 'CODEC_KEY_RANGE');
    }
    st.put(0, new Uint8Array(128));
    st.put(255, new Uint8Array(128));
    expect(st.size).toBe(2);
    codec.decodeStage(100);
    expect(refusal(() => st.has(0))).toEqual({ code: 'CODEC_STAGE_ENDED', message: 'CODEC_STAGE_ENDED: this decode stage has ended (a newer one began)', details: undefined });
    for (const fn of [() => st.put(1, new Uint8Array(128)), () => st.delete(0), () => st.decodeInto(new Uint8Array(100))]) expectCode(fn, 'CODEC_STAGE_ENDED');
  });

  it('segment stage: packet sizes 128..1024 in steps of 128, the segment and part views', () => {
    for (const P of [128, 1024]) {
      const seg = codec.segmentStage(P);
      expect([seg.packetSize, seg.bytes.length]).toEqual([P, 8 * P]);
      expect(codec.segmentStage(P).bytes).toBe(seg.bytes);
    }
    expect(refusal(() => codec.segmentStage(1152))).toEqual({ code: 'CODEC_PACKET_SIZE', message: 'CODEC_PACKET_SIZE: packet size 1152 is not a multiple of 128 in 128..1024', details: { P: 1152 } });
    for (const P of [0, 127, 129, 192, 1023, '256' as unknown as number]) expectCode(() => codec.segmentStage(P), 'CODEC_PACKET_SIZE');
    const F = frameOf(20000, 9);
    const cs = codec.codeSegment(F, 66);
    const seg = codec.segmentStage(384);
    seg.bytes.set(cs);
    const p3 = seg.seedPacket(3);
    expect(p3).toEqual(cs.subarray(3 * 384, 4 * 384));
    expect(seg.seedPacket(3)).toBe(p3);
    expect(seg.seedPacket(0)).toEqual(cs.subarray(0, 384));
    expect(seg.seedPacket(7)).toEqual(cs.subarray(7 * 384, 8 * 384));
    const s8 = seg.seedPacket(8);
    expect(s8).toEqual(ref.seedPacket(cs, 8));
    expect(seg.seedPacket(31)).toBe(s8); // one seed view, overwritten
    expect(s8).toEqual(ref.seedPacket(cs, 31));
    codec.segmentStage(128);
    expect(refusal(() => seg.seedPacket(9))).toEqual({ code: 'CODEC_STAGE_ENDED', message: 'CODEC_STAGE_ENDED: this segment stage has ended (a newer one began)', details: undefined });
    expectCode(() => seg.seedPacketInto(new Uint8Array(384), 9), 'CODEC_STAGE_ENDED');
    expectCode(() => seg.seedPacketsInto(new Uint8Array(384), [9]), 'CODEC_STAGE_ENDED');
  });

  it('segment stage: seed packets into a buffer, one by one or several (copies and runs of coded groups mixed)', () => {
    const P = 128;
    const F = frameOf(7000, 2);
    const cs = codec.codeSegment(F, 140);
    const seg = codec.segmentStage(P);
    seg.bytes.set(cs);
    for (const g of [0, 7, 8, 31]) {
      const exact = new Uint8Array(P);
      expect(seg.seedPacketInto(exact, g)).toBe(exact);
      expect(exact).toEqual(ref.seedPacket(cs, g));
      const longer = new Uint8Array(P + 1).fill(4);
      const got = seg.seedPacketInto(longer, g);
      expect([got.length, got.buffer === longer.buffer, longer[P]]).toEqual([P, true, 4]);
      expect(got).toEqual(ref.seedPacket(cs, g));
    }
    expect(refusal(() => seg.seedPacketInto(new Uint8Array(P - 1), 9))).toEqual({ code: 'CODEC_BAD_INPUT', message: 'CODEC_BAD_INPUT: output buffer of 127 bytes is shorter than a seed packet (128)', details: { bytes: 127, P } });
    expect(refusal(() => seg.seedPacketInto([] as unknown as Uint8Array, 2)).message).toBe('CODEC_BAD_INPUT: output buffer is not a Uint8Array');
    expectCode(() => seg.seedPacketInto(new Uint8Array(P), 32), 'CODEC_KEY_RANGE');
    for (const gs of [[2, 12, 13, 5, 20, 21, 22, 0, 31], [9, 10], [3, 4], [30], [1], [8, 1, 9]]) {
      const n = gs.length;
      const exact = new Uint8Array(n * P);
      expect(seg.seedPacketsInto(exact, gs)).toBe(exact);
      gs.forEach((g, i) => expect({ g, sp: exact.subarray(i * P, (i + 1) * P) }).toEqual({ g, sp: ref.seedPacket(cs, g) }));
      const longer = new Uint8Array(n * P + 2).fill(8);
      const got = seg.seedPacketsInto(longer, gs);
      expect([got.length, got.buffer === longer.buffer, longer[n * P], longer[n * P + 1]]).toEqual([n * P, true, 8, 8]);
      expect(got).toEqual(exact);
    }
    expect(seg.seedPacketsInto(new Uint8Array(0), []).length).toBe(0);
    expect(refusal(() => seg.seedPacketsInto(new Uint8Array(2 * P - 1), [1, 9]))).toEqual({ code: 'CODEC_BAD_INPUT', message: 'CODEC_BAD_INPUT: output buffer of 255 bytes is shorter than 2 seed packets (256)', details: { bytes: 255, P } });
    expect(refusal(() => seg.seedPacketsInto(null as unknown as Uint8Array, [1])).message).toBe('CODEC_BAD_INPUT: output buffer is not a Uint8Array');
  });
});

describe('the stages ask their backend only for products', () => {
  /** A backend that records its calls (its products write nothing). */
  function recording(): { b: StageBackend; solves: number[]; seed: number[]; seeds: number[][] } {
    const r = { solves: [] as number[], seed: [] as number[], seeds: [] as number[][] };
    const b: StageBackend = {
      mem: new Uint8Array(STAGE_BYTES),
      base: 0,
      solve: (plan) => void r.solves.push(plan.nMissing),
      seed: (_P, g) => void r.seed.push(g),
      seeds: (_P, gs, n) => void r.seeds.push(gs.slice(0, n)),
    };
    return { b, ...r };
  }

  it('decode: no solve when the 64 systematic parts are staged; one with the parts missing', () => {
    const r = recording();
    const stages = createStages(r.b);
    const st = stages.decodeStage(100);
    for (let x = 0; x < 64; x++) st.put(x, new Uint8Array(128).fill(x));
    expect(st.decode()[99]).toBe(0); // byte 99 of part 0
    st.decodeInto(new Uint8Array(100));
    expect(r.solves).toEqual([]);
    st.delete(3);
    st.delete(7);
    st.put(64, new Uint8Array(128));
    st.put(65, new Uint8Array(128));
    st.decode();
    expect(r.solves).toEqual([2]);
  });

  it('segment: a seed packet of a group below 8 is a copy of the staged part (no product); 8 and up are products', () => {
    const r = recording();
    const seg = createStages(r.b).segmentStage(128);
    seg.bytes.set(Uint8Array.from({ length: 8 * 128 }, (_, i) => i >> 7));
    for (let g = 0; g < 8; g++) expect(seg.seedPacket(g)).toEqual(new Uint8Array(128).fill(g));
    expect(seg.seedPacketInto(new Uint8Array(128), 5)).toEqual(new Uint8Array(128).fill(5));
    expect(r.seed).toEqual([]);
    seg.seedPacket(8);
    seg.seedPacketInto(new Uint8Array(128), 31);
    expect(r.seed).toEqual([8, 31]);
    seg.seedPacketsInto(new Uint8Array(4 * 128), [2, 9, 10, 1]);
    expect(r.seeds).toEqual([[9, 10]]);
  });

  it('refusals name the key or group: x for a decode stage, g for a segment stage', () => {
    const st = ref.decodeStage(100);
    for (const f of [() => st.slot(256), () => st.put(256, new Uint8Array(128)), () => st.has(256), () => st.delete(256)]) {
      expect(refusal(f)).toEqual({ code: 'CODEC_KEY_RANGE', message: 'CODEC_KEY_RANGE: x 256 is outside 0..255', details: { x: 256 } });
    }
    const seg = ref.segmentStage(128);
    for (const f of [() => seg.seedPacket(32), () => seg.seedPacketInto(new Uint8Array(128), 32), () => seg.seedPacketsInto(new Uint8Array(128), [32])]) {
      expect(refusal(f)).toEqual({ code: 'CODEC_KEY_RANGE', message: 'CODEC_KEY_RANGE: g 32 is outside 0..31', details: { g: 32 } });
    }
  });
});

