#!/usr/bin/env node
// Launcher of the Node peer CLI: loads the TypeScript sources through tsx's loader, so plain `node`
// (or `npx p2p-player-peer`) runs it right after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/node-peer/cli.ts');
