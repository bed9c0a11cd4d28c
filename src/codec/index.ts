// Public entry of the codec: packetSize, the reference codec, and createCodec (the fastest
// kernel build this engine validates). No I/O beyond instantiating WebAssembly from bytes.
// Callers: protocol, broadcaster, player, simulator, benchmark.

export { packetSize, CODEC_ERRORS, MAX_FRAME_BYTES, MIN_PACKET_BYTES, MAX_PACKET_BYTES, GROUPS } from './codec-input.ts';
export type { Codec, CodecBuild } from './codec.ts';
export { createReferenceCodec } from './reference-codec.ts';
export { FEED_K, SEGMENT_K, KEYS, feedGenerator, segmentGenerator } from './generators.ts';
export { createCodec, type CreateCodecOptions } from './create-codec.ts';
export { createWasmCodec, type WasmCodecOptions } from './wasm-codec.ts';
