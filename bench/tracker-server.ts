// Tracker process of `npm run bench:tracker`: the same startTracker as the CLI, with the bench's
// limits, run with --expose-gc so the parent can ask for a full collection before reading memory
// (live bytes per peer, not garbage). Talks to the parent over IPC. Not a test. With
// P2P_BENCH_REDIS and P2P_BENCH_NODE set it runs as one node of a cluster on that Redis.

import { PerformanceObserver } from 'node:perf_hooks';
import { startTracker } from '../src/tracker/server.ts';

// GC pauses, to tell collector stalls from work stalls in the event-loop delay.
let gcPauses: number[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push(e.duration);
}).observe({ entryTypes: ['gc'] });

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
  ...(process.env.P2P_BENCH_REDIS ? { cluster: { redisUrl: process.env.P2P_BENCH_REDIS, nodeId: process.env.P2P_BENCH_NODE ?? `bench-${process.pid}` } } : {}),
});
process.send?.({ ev: 'listening', port: tracker.port });
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'memory') {
    gc?.();
    gc?.();
    const mem = process.memoryUsage();
    process.send?.({ ev: 'memory', rss: mem.rss, heap: mem.heapUsed, peers: tracker.stats().peers, collected: !!gc });
  } else if (m.cmd === 'gc-reset') {
    gcPauses = [];
    process.send?.({ ev: 'gc-reset' });
  } else if (m.cmd === 'gc-stats') {
    const d = [...gcPauses].sort((a, b) => a - b);
    process.send?.({ ev: 'gc-stats', count: d.length, totalMs: d.reduce((a, b) => a + b, 0), maxMs: d[d.length - 1] ?? 0, p99Ms: d[Math.floor(0.99 * (d.length - 1))] ?? 0 });
  } else if (m.cmd === 'exit') {
    void tracker.close().then(() => process.exit(0));
  }
});
