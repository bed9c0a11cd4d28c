// The WebAssembly codec's glue (wasm-codec.ts) with explicit rows: batches larger than its output
// region, the largest packet size, partial and absent systematic parts, exact-size outputs, the
// data region it needs, and what it says when the kernel refuses a product or an inverse.
import { beforeAll, describe, expect, it } from 'vitest';
import { isP2PError } from '../errors.ts';
import { expectCode } from '../expect-code.ts';
import { loadKernel, type Kernel } from '../kernel/load-kernel.ts';
import type { Codec } from './codec.ts';
import { createReferenceCodec } from './reference-codec.ts';
import { createWasmCodec } from './wasm-codec.ts';

const ref = createReferenceCodec();
const frameOf = (L: number, seed: number) => Uint8Array.from({ length: L }, (_, i) => (i * 167 + seed + (i >> 9)) & 255);
/** -1 when a and b hold the same bytes, else the first index where they differ (a fast toEqual for big arrays). */
const differ = (a: Uint8Array, b: Uint8Array): number => (a.length !== b.length ? -2 : a.findIndex((v, i) => v !== b[i]));
const range = (from: number, n: number, step = 1) => Array.from({ length: n }, (_, i) => from + step * i);
function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (!isP2PError(e)) throw e;
    return { code: e.code, message: e.message };
  }
  throw new Error('nothing thrown');
}
/** The kernel with some exports replaced (the rest call through). */
function withExports(k: Kernel, over: Partial<Kernel['exports']>): Kernel {
  const ex = k.exports;
  return {
    ...k,
    exports: {
      memory: ex.memory,
      init: () => ex.init(),
      dataPtr: () => ex.dataPtr(),
      dataBytes: () => ex.dataBytes(),
      matrixPtr: () => ex.matrixPtr(),
      inPtrsPtr: () => ex.inPtrsPtr(),
      outPtrsPtr: () => ex.outPtrsPtr(),
      simdLevel: () => ex.simdLevel(),
      mulAcc: (d, s, c, n) => ex.mulAcc(d, s, c, n),
      invert: (n) => ex.invert(n),
      mulRows: (a, b, c, d, e, f) => ex.mulRows(a, b, c, d, e, f),
      ...over,
    },
  };
}

describe('WebAssembly codec glue', () => {
  let codec: Codec;
  beforeAll(async () => {
    codec = createWasmCodec(await loadKernel('relaxed-simd'));
  });

  it('needs 400 + 296 KiB of data region, not a byte more', async () => {
    const k = await loadKernel('scalar');
    const need = (400 + 296) * 1024;
    expect(k.dataBytes).toBeGreaterThanOrEqual(need);
    expect(createWasmCodec({ ...k, dataBytes: need }).build).toBe('scalar');
    expect(refusal(() => createWasmCodec({ ...k, dataBytes: need - 1 }))).toEqual({ code: 'CODEC_INTERNAL', message: 'CODEC_INTERNAL: kernel data region too small' });
  });

  it('code segments at P = 1024 in batches beyond the output region (32 per batch), copies mixed in', () => {
    const F = frameOf(65536, 3);
    const cs = [3, ...range(8, 40, 5), 0, 255];
    const got = codec.codeSegments(F, cs);
    expect(got.length).toBe(cs.length);
    cs.forEach((c, i) => expect({ c, at: differ(got[i], codec.codeSegment(F, c)) }).toEqual({ c, at: -1 }));
    for (const i of [0, 1, 32, 33, 40, 41]) expect({ c: cs[i], at: differ(got[i], ref.codeSegment(F, cs[i])) }).toEqual({ c: cs[i], at: -1 });
  });

  it('feed packets at P = 1024: all 192 coded keys at once, systematic ones mixed in, ascending and descending runs', () => {
    const F = frameOf(60000, 5);
    const xs = [...range(64, 100), 7, ...range(255, 92, -1), 63];
    const got = codec.feedPackets(F, xs);
    xs.forEach((x, i) => {
      if (i % 9 === 0 || x < 64 || x === 164 || x === 255) expect({ x, at: differ(got[i], ref.feedPacket(F, x)) }).toEqual({ x, at: -1 });
    });
    expect(got[100]).toEqual(F.subarray(7 * 1024, 8 * 1024));
  });

  it('systematic feed packets: a whole part, a part cut by the frame end, a part past it', () => {
    const L = 8193; // P = 256: part 32 holds the last byte, parts 33.. are padding
    const F = frameOf(L, 8);
    const p31 = codec.feedPacket(F, 31);
    expect(p31).toEqual(F.subarray(31 * 256, 32 * 256));
    const p32 = codec.feedPacket(F, 32);
    expect(p32.length).toBe(256);
    expect(p32[0]).toBe(F[8192]);
    expect(p32.subarray(1)).toEqual(new Uint8Array(255));
    expect(codec.feedPacket(F, 33)).toEqual(new Uint8Array(256));
    expect(codec.feedPacket(F.subarray(0, 8192), 63)).toEqual(F.subarray(63 * 128, 64 * 128)); // P = 128
    expect(codec.feedPacket(F.subarray(0, 8191), 63)).toEqual(Uint8Array.from([...F.subarray(63 * 128, 8191), 0]));
    // Exactly a whole number of parts: the last part is a copy, the next is zeros.
    const G = frameOf(1024, 1); // P = 128: parts 0..7
    expect(codec.feedPacket(G, 7)).toEqual(G.subarray(896, 1024));
    expect(codec.feedPacket(G, 8)).toEqual(new Uint8Array(128));
  });

  it('single packets are the caller\'s: later calls and a changed input leave them alone', () => {
    const F = frameOf(3000, 9);
    const cs = codec.codeSegment(F, 20);
    const csKeep = cs.slice();
    const sp = codec.seedPacket(cs, 3);
    const sps = codec.seedPackets(cs, [1, 2]);
    const fp = codec.feedPacket(F, 1);
    cs.fill(0);
    F.fill(0);
    expect(sp).toEqual(csKeep.subarray(3 * 128, 4 * 128));
    expect(sps[1]).toEqual(csKeep.subarray(2 * 128, 3 * 128));
    expect(fp).toEqual(frameOf(3000, 9).subarray(128, 256));
    for (let i = 0; i < 600; i++) codec.feedPacket(frameOf(1000, i), 100);
    expect(sp).toEqual(csKeep.subarray(3 * 128, 4 * 128));
  });

  it('decodeFrameInto returns the buffer itself when it is exactly L bytes', () => {
    const L = 5000;
    const F = frameOf(L, 2);
    for (const xs of [range(0, 64), range(100, 64)]) {
      const packets = new Map(xs.map((x) => [x, codec.feedPacket(F, x)]));
      const out = new Uint8Array(L);
      expect(codec.decodeFrameInto(out, packets, L)).toBe(out);
      expect(out).toEqual(F);
      expect(codec.decodeFrame(packets, L)).toEqual(F);
    }
  });

  it('a kernel that refuses a product or an inverse gives CODEC_INTERNAL, named', async () => {
    const k = await loadKernel('scalar');
    const F = frameOf(2000, 1);
    const noProducts = createWasmCodec(withExports(k, { mulRows: () => 1 }));
    expect(refusal(() => noProducts.feedPacket(F, 100))).toEqual({ code: 'CODEC_INTERNAL', message: 'CODEC_INTERNAL: kernel rejected a row product' });
    expectCode(() => noProducts.codeSegment(F, 9), 'CODEC_INTERNAL');
    const k2 = await loadKernel('scalar');
    const noInverse = createWasmCodec(withExports(k2, { invert: () => 2 }));
    const packets = new Map(range(100, 64).map((x) => [x, ref.feedPacket(F, x)]));
    expect(refusal(() => noInverse.decodeFrame(packets, 2000))).toEqual({ code: 'CODEC_INTERNAL', message: 'CODEC_INTERNAL: decode matrix is singular' });
    expect(noInverse.decodeFrame(new Map(range(0, 64).map((x) => [x, ref.feedPacket(F, x)])), 2000)).toEqual(F); // nothing to invert
  });
});
