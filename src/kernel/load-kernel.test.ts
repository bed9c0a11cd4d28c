import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gfMulAcc } from '../codec/gf256.ts';
import { gfInvert } from '../codec/gf-matrix.ts';
import { KERNEL_BUILDS, loadKernel, loadKernelSync } from './load-kernel.ts';

describe.each(KERNEL_BUILDS)('kernel %s', (build) => {
  it('multiply-accumulates rows like the reference, without growing memory', async () => {
    const k = await loadKernel(build);
    const bytes = k.exports.memory.buffer.byteLength;
    expect(k.exports.simdLevel()).toBe(build === 'relaxed-simd' ? 2 : build === 'simd' ? 1 : 0);
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 64 }), fc.uint8Array({ minLength: 2048, maxLength: 2048 }), (c, n16, init) => {
      const len = n16 * 16;
      const dst = k.dataPtr;
      const src = k.dataPtr + 4096;
      k.heap.set(init.subarray(0, len), dst);
      k.heap.set(init.subarray(1024, 1024 + len), src);
      const want = init.slice(0, len);
      gfMulAcc(want, 0, init, 1024, c, len);
      expect(k.exports.mulAcc(dst, src, c, len)).toBe(0);
      expect(k.heap.slice(dst, dst + len)).toEqual(want);
    }), { numRuns: 50 });
    expect(k.exports.memory.buffer.byteLength).toBe(bytes);
  });

  it('multiplies a matrix into rows with blocks, like the reference', () => {
    const k = loadKernelSync(build);
    fc.assert(fc.property(fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (nOut, nIn, n16, nBlocks, seed) => {
      const len = n16 * 16;
      const rnd = fc.sample(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), { seed, numRuns: 1 })[0];
      const M = rnd.subarray(0, nOut * nIn);
      const inBS = len * nIn; // block b of input i at in + i*len + b*inBS
      const inp = k.dataPtr;
      const out = k.dataPtr + 65536;
      const inBytes = rnd.subarray(0, inBS * nBlocks);
      k.heap.set(inBytes, inp);
      k.matrix.set(M);
      for (let i = 0; i < nIn; i++) k.inPtrs[i] = inp + i * len;
      for (let r = 0; r < nOut; r++) k.outPtrs[r] = out + r * len * nBlocks;
      expect(k.exports.mulRows(nOut, nIn, len, nBlocks, inBS, len)).toBe(0);
      for (let r = 0; r < nOut; r++) {
        for (let b = 0; b < nBlocks; b++) {
          const want = new Uint8Array(len);
          for (let i = 0; i < nIn; i++) gfMulAcc(want, 0, inBytes, i * len + b * inBS, M[r * nIn + i], len);
          const at = out + r * len * nBlocks + b * len;
          expect(k.heap.slice(at, at + len)).toEqual(want);
        }
      }
    }), { numRuns: 40 });
  });

  it('inverts small matrices like the reference and reports singular ones', () => {
    const k = loadKernelSync(build);
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.uint8Array({ minLength: 4096, maxLength: 4096 }), (n, rnd) => {
      const m = rnd.subarray(0, n * n);
      k.matrix.set(m);
      const want = gfInvert(m, n);
      const rc = k.exports.invert(n);
      if (want === null) expect(rc).toBe(2);
      else {
        expect(rc).toBe(0);
        expect(k.matrix.slice(0, n * n)).toEqual(want);
      }
    }), { numRuns: 40 });
    k.matrix.fill(0, 0, 4);
    expect(k.exports.invert(2)).toBe(2);
  });

  it('rejects arguments outside its regions', () => {
    const k = loadKernelSync(build);
    k.inPtrs[0] = k.dataPtr;
    k.outPtrs[0] = k.dataPtr + 1024;
    expect(k.exports.mulRows(1, 1, 16, 1, 0, 0)).toBe(0);
    expect(k.exports.mulRows(1, 1, 15, 1, 0, 0)).toBe(1);
    expect(k.exports.mulRows(0, 1, 16, 1, 0, 0)).toBe(1);
    expect(k.exports.mulRows(257, 1, 16, 1, 0, 0)).toBe(1);
    expect(k.exports.mulRows(1, 1, 16, 100000, 16, 0)).toBe(1);
    k.outPtrs[0] = 0;
    expect(k.exports.mulRows(1, 1, 16, 1, 0, 0)).toBe(1);
    k.outPtrs[0] = k.dataPtr + k.dataBytes - 8;
    expect(k.exports.mulRows(1, 1, 16, 1, 0, 0)).toBe(1);
    expect(k.exports.mulAcc(0, k.dataPtr, 3, 16)).toBe(1);
    expect(k.exports.mulAcc(k.dataPtr, k.dataPtr + 16, 256, 16)).toBe(1);
    expect(k.exports.invert(0)).toBe(1);
    expect(k.exports.invert(65)).toBe(1);
  });
});
