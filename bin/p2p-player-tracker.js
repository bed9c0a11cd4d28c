#!/usr/bin/env -S node --max-semi-space-size=64
// Launcher of the tracker CLI: loads the TypeScript sources through tsx's loader, so plain `node`
// (or `npx p2p-player-tracker`) runs it right after `npm install`, with no build step.
// The shebang gives V8 a larger young generation (64 MB semi-spaces instead of 16): the tracker
// allocates a short-lived object or two per message, and with 16 MB it scavenged about twice a
// second under 2 000 signals/s, pausing relays each time (docs/tracker.md, "Where the relay tail
// came from"). Started as `node bin/p2p-player-tracker.js`, pass the flag yourself (or in
// NODE_OPTIONS).
import { register } from 'tsx/esm/api';

register();
await import('../src/tracker/cli.ts');
