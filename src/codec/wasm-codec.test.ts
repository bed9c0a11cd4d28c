// Holds every kernel build this process can run to the codec contract (byte-equal to the reference).
// The relaxed SIMD build needs --experimental-wasm-relaxed-simd on Node 20: vite.config.ts passes
// it to the test workers, and the test below fails (never skips) if that build does not validate.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectCode, expectRejectCode } from '../expect-code.ts';
import { kernelValidates, loadKernel } from '../kernel/load-kernel.ts';
import { describeCodecContract, MUTATION_MODE } from './codec-contract.ts';
import { createCodec } from './create-codec.ts';
import { createWasmCodec } from './wasm-codec.ts';

describe('kernel builds', () => {
  it('all three validate in this process (relaxed SIMD included)', () => {
    expect(kernelValidates('scalar')).toBe(true);
    expect(kernelValidates('simd')).toBe(true);
    expect(kernelValidates('relaxed-simd')).toBe(true);
  });

  it('createCodec picks the fastest build', async () => {
    expect((await createCodec()).build).toBe('relaxed-simd');
  });
});

describe('kernel builds that cannot run', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('an unknown build, or a build the engine does not validate, is CODEC_KERNEL_UNAVAILABLE', async () => {
    await expectRejectCode(createCodec({ build: 'sse9' as never }), 'CODEC_KERNEL_UNAVAILABLE');
    vi.stubGlobal('WebAssembly', { ...WebAssembly, validate: () => false });
    expect(kernelValidates('scalar')).toBe(false);
    await expectRejectCode(createCodec({ build: 'scalar' }), 'CODEC_KERNEL_UNAVAILABLE');
    await expectRejectCode(createCodec(), 'CODEC_KERNEL_UNAVAILABLE');
    expect((await createCodec({ build: 'reference' })).build).toBe('reference');
  });

  it('a kernel whose data region cannot hold the stages is CODEC_INTERNAL', async () => {
    const kernel = await loadKernel('scalar');
    expect(createWasmCodec(kernel).build).toBe('scalar');
    expectCode(() => createWasmCodec({ ...kernel, dataBytes: 1024 }), 'CODEC_INTERNAL');
  });
});

describeCodecContract('relaxed-simd', () => createCodec({ build: 'relaxed-simd' }));
// In mutation mode (codec-contract.ts) the builds differ only in the kernel, which TypeScript
// mutants do not reach: one build with the decode cache (above) and one without (below) suffice.
if (!MUTATION_MODE) {
  describeCodecContract('simd', () => createCodec({ build: 'simd' }));
  describeCodecContract('scalar', () => createCodec({ build: 'scalar' }));
}
describeCodecContract('simd', () => createCodec({ build: 'simd', decodeCacheEntries: 0 }));
