import { describeCodecContract } from './codec-contract.ts';
import { createReferenceCodec } from './reference-codec.ts';

describeCodecContract('reference', () => createReferenceCodec());
