import { expect, it } from 'vitest';
import { describeCodecContract } from './codec-contract.ts';
import { createReferenceCodec } from './reference-codec.ts';

describeCodecContract('reference', () => createReferenceCodec());

it('names its build inside a test of its own', () => {
  // The contract makes its codec in a hook; this one is made here, so the name is checked by a test
  // that runs the factory itself.
  expect(createReferenceCodec().build).toBe('reference');
});
