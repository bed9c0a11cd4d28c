// Public surface of the player: the DOM-free MediaPlayer, its config and events, the <p2p-player>
// element and its session seam, watch links and embed snippets. Importing this module also defines the tag.
export * from './player-config.ts';
export * from './media-player.ts';
export * from './append-queue.ts';
export * from './latency-controller.ts';
export * from './p2p-player-element.ts';
export * from './define-p2p-player.ts';
export * from './watch-link.ts';
export { StatsOverlay, statsLines, formatBytes } from './stats-overlay.ts';
export * from './quality-chooser.ts';
export * from './download-meter.ts';
