// Holds every kernel build this process can run to the codec contract (byte-equal to the reference).
// The relaxed SIMD build needs --experimental-wasm-relaxed-simd on Node 20: vite.config.ts passes
// it to the test workers, and the test below fails (never skips) if that build does not validate.
import { describe, expect, it } from 'vitest';
import { kernelValidates } from '../kernel/load-kernel.ts';
import { describeCodecContract } from './codec-contract.ts';
import { createCodec } from './create-codec.ts';

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

describeCodecContract('relaxed-simd', () => createCodec({ build: 'relaxed-simd' }));
describeCodecContract('simd', () => createCodec({ build: 'simd' }));
describeCodecContract('scalar', () => createCodec({ build: 'scalar' }));
describeCodecContract('simd', () => createCodec({ build: 'simd', decodeCacheEntries: 0 }));
