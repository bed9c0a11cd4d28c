// Public surface of the session layer: the viewer and broadcaster sessions, their config, and the
// browser glue for <p2p-player> and the broadcast page. The only layer that meets clocks and sockets.
export * from './session-config.ts';
export * from './core-driver.ts';
export * from './viewer-session.ts';
export * from './broadcast-session.ts';
export * from './stream-key-exchange.ts';
export * from './rendition-switcher.ts';
