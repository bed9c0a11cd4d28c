// Tracker process of `npm run bench:tracker`: the same startTracker as the CLI, with the bench's
// limits, run with --expose-gc so the parent can ask for a full collection before reading memory
// (live bytes per peer, not garbage). Talks to the parent over IPC. Not a test.

import { startTracker } from '../src/tracker/server.ts';

const gc = (globalThis as { gc?: () => void }).gc;
const peers = Number(process.argv[2] ?? 10000);
const tracker = await startTracker({
  port: 0,
  host: '127.0.0.1',
  limits: {
    maxSockets: peers + 5000,
    maxSocketsPerAddress: peers + 5000,
    maxPeersPerStream: 20000,
    maxStreams: 10000,
    addressRatePerSec: 1_000_000,
    addressBurst: 4_000_000,
    addressJoinRatePerSec: 1_000_000,
    addressJoinBurst: 1_000_000,
    socketRatePerSec: 1000,
    socketBurst: 4000,
  },
});
process.send?.({ ev: 'listening', port: tracker.port });
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'memory') {
    gc?.();
    gc?.();
    const mem = process.memoryUsage();
    process.send?.({ ev: 'memory', rss: mem.rss, heap: mem.heapUsed, peers: tracker.stats().peers, collected: !!gc });
  } else if (m.cmd === 'exit') {
    void tracker.close().then(() => process.exit(0));
  }
});
