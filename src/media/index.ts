// Public surface of the media layer: the frame format, the cutter, the assembler, the init-segment
// parser. Pure modules only; imported by the broadcaster, the player and the session.
export * from './frame-format.ts';
export * from './frame-cutter.ts';
export * from './fragment-assembler.ts';
export * from './init-segment.ts';
export * from './renditions.ts';
