// Public surface of the broadcaster media side: capture, config, the media pipeline that emits
// frames, and the stream key store. The session imports from here; nothing here does networking.
export * from './broadcaster-config.ts';
export * from './media-broadcaster.ts';
export * from './media-devices.ts';
export * from './stream-key-store.ts';
