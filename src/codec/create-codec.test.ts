// createCodec's self-check (create-codec.ts) refuses a kernel that computes wrong bytes in any one
// of the steps it checks, and falls back to the next build. The kernels are the real builds; a
// fault is injected into one kind of product of one build (one output byte flipped), the way a
// miscompiled engine would get one instruction path wrong.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectRejectCode } from '../expect-code.ts';
import type { Kernel, KernelBuild } from '../kernel/load-kernel.ts';
import { createCodec } from './create-codec.ts';
import { createReferenceCodec } from './reference-codec.ts';

/** Which product goes wrong, and in which builds. */
type Fault = 'segment' | 'seeds' | 'group' | 'feed' | 'decode';
const fault = vi.hoisted(() => ({ kind: null as string | null, builds: [] as string[] }));

vi.mock('../kernel/load-kernel.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../kernel/load-kernel.ts')>();
  const faulty = (k: Kernel): Kernel => {
    if (fault.kind === null || !fault.builds.includes(k.build)) return k;
    const ex = k.exports;
    let inverted = false;
    const flip = (): void => { k.heap[k.outPtrs[0]] ^= 1; };
    return {
      ...k,
      exports: {
        ...ex,
        memory: ex.memory,
        init: () => ex.init(),
        dataPtr: () => ex.dataPtr(),
        dataBytes: () => ex.dataBytes(),
        matrixPtr: () => ex.matrixPtr(),
        inPtrsPtr: () => ex.inPtrsPtr(),
        outPtrsPtr: () => ex.outPtrsPtr(),
        simdLevel: () => ex.simdLevel(),
        mulAcc: (d, s, c, n) => ex.mulAcc(d, s, c, n),
        invert: (n) => {
          inverted = true;
          const r = ex.invert(n);
          if (fault.kind === 'decode') k.matrix[0] ^= 1;
          return r;
        },
        mulRows: (nOut, nIn, len, nBlocks, inBS, outBS) => {
          const r = ex.mulRows(nOut, nIn, len, nBlocks, inBS, outBS);
          const kind = nIn === 8 ? (nBlocks === 64 ? 'segment' : 'seeds') : nIn === 64 && !inverted ? (len === 16 ? 'group' : 'feed') : 'other';
          if (kind === fault.kind) flip();
          return r;
        },
      },
    };
  };
  return { ...real, loadKernel: async (build: KernelBuild) => faulty(await real.loadKernel(build)) };
});

afterEach(() => { fault.kind = null; fault.builds = []; });

describe('createCodec self-check', () => {
  it('without a fault every build is taken as asked, the fastest by default', async () => {
    for (const build of ['relaxed-simd', 'simd', 'scalar'] as const) expect((await createCodec({ build })).build).toBe(build);
    expect((await createCodec()).build).toBe('relaxed-simd');
    expect((await createCodec({ build: 'reference' })).build).toBe('reference');
  });

  it.each(['segment', 'seeds', 'group', 'feed', 'decode'] as Fault[])('a build with a wrong %s product is refused; the next build is taken', async (kind) => {
    fault.kind = kind;
    fault.builds = ['relaxed-simd'];
    await expectRejectCode(createCodec({ build: 'relaxed-simd' }), 'CODEC_KERNEL_UNAVAILABLE');
    expect((await createCodec()).build).toBe('simd');
    fault.builds = ['relaxed-simd', 'simd'];
    expect((await createCodec()).build).toBe('scalar');
    fault.builds = ['relaxed-simd', 'simd', 'scalar'];
    await expectRejectCode(createCodec(), 'CODEC_KERNEL_UNAVAILABLE');
    expect((await createCodec({ build: 'reference' })).build).toBe('reference');
  });

  it('the refusal names the build', async () => {
    fault.kind = 'segment';
    fault.builds = ['scalar'];
    await expect(createCodec({ build: 'scalar' })).rejects.toMatchObject({ code: 'CODEC_KERNEL_UNAVAILABLE', message: 'CODEC_KERNEL_UNAVAILABLE: kernel build scalar does not run here', details: { build: 'scalar' } });
    fault.builds = ['relaxed-simd', 'simd', 'scalar'];
    await expect(createCodec()).rejects.toMatchObject({ message: 'CODEC_KERNEL_UNAVAILABLE: no kernel build runs here' });
    await expect(createCodec({ build: 'sse9' as never })).rejects.toMatchObject({ message: 'CODEC_KERNEL_UNAVAILABLE: unknown codec build sse9' });
  });

  it('a faulty product is visible to the codec user (the fault is real), and the reference agrees with a fault-free build', async () => {
    const ref = createReferenceCodec();
    const frame = Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 255);
    const good = await createCodec({ build: 'scalar' });
    expect(good.codeSegment(frame, 200)).toEqual(ref.codeSegment(frame, 200));
    fault.kind = 'segment';
    fault.builds = ['scalar'];
    const { createWasmCodec } = await import('./wasm-codec.ts');
    const { loadKernel } = await import('../kernel/load-kernel.ts');
    const bad = createWasmCodec(await loadKernel('scalar'));
    expect(bad.codeSegment(frame, 200)).not.toEqual(ref.codeSegment(frame, 200));
  });
});

describe('createCodec where WebAssembly is missing or refuses the builds', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('without WebAssembly: the reference codec', async () => {
    vi.stubGlobal('WebAssembly', undefined);
    expect((await createCodec()).build).toBe('reference');
  });

  it('a build the engine does not validate is not loaded: CODEC_KERNEL_UNAVAILABLE, by name or by default', async () => {
    vi.stubGlobal('WebAssembly', { ...WebAssembly, validate: () => false });
    await expectRejectCode(createCodec({ build: 'scalar' }), 'CODEC_KERNEL_UNAVAILABLE');
    await expectRejectCode(createCodec(), 'CODEC_KERNEL_UNAVAILABLE');
  });
});

