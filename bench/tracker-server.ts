// Tracker process of `npm run bench:tracker`: the same startTracker as the CLI, with the bench's
// limits, run with --expose-gc so the parent can ask for a full collection before reading memory
// (live bytes per peer, not garbage). Talks to the parent over IPC. Not a test. With
// P2P_BENCH_REDIS and P2P_BENCH_NODE set it runs as one node of a cluster on that Redis.

import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import { startTracker } from '../src/tracker/server.ts';

// GC pauses by kind (scavenges of the young generation, full mark-compacts), to tell collector
// stalls from work stalls in the event-loop delay.
let gcPauses: { ms: number; major: boolean }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as { detail?: { kind?: number } }).detail?.kind ?? 0;
    gcPauses.push({ ms: e.duration, major: kind === constants.NODE_PERFORMANCE_GC_MAJOR });
  }
}).observe({ entryTypes: ['gc'] });

// Event-loop stalls split into the tracker's own work and waiting for a core. A 10 ms timer reads
// the main thread's CPU time and run-queue wait (Linux schedstat) at each turn: a turn late by L ms
// during which the thread waited W ms for a CPU owes L − W to the tracker's own work (JS, GC on the
// main thread, syscalls) and W to the machine (the load generators and everything else sharing the
// cores). Without schedstat (not Linux) the own share is not split out.
const SAMPLE_MS = 10;
const schedstat = (): [number, number] | null => {
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    return [run / 1e6, wait / 1e6];
  } catch {
    return null;
  }
};
let loop = { late: [] as number[], own: [] as number[], run: [] as number[], waitMs: 0, runMs: 0, wallMs: 0 };
let cpuAt = process.cpuUsage();
let prevWall = performance.now();
let prevSched = schedstat();
setInterval(() => {
  const wall = performance.now();
  const sched = schedstat();
  const late = Math.max(0, wall - prevWall - SAMPLE_MS);
  const wait = sched && prevSched ? sched[1] - prevSched[1] : 0;
  loop.late.push(late);
  loop.own.push(sched ? Math.max(0, late - wait) : late);
  const run = sched && prevSched ? sched[0] - prevSched[0] : 0;
  loop.run.push(run);
  loop.waitMs += wait;
  loop.runMs += run;
  loop.wallMs += wall - prevWall;
  prevWall = wall;
  prevSched = sched;
}, SAMPLE_MS);
const pct = (a: number[], p: number) => {
  const d = [...a].sort((x, y) => x - y);
  return d[Math.min(d.length - 1, Math.floor(p * d.length))] ?? 0;
};

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
  ...(process.env.P2P_BENCH_REDIS ? { cluster: { redisUrl: process.env.P2P_BENCH_REDIS, nodeId: process.env.P2P_BENCH_NODE ?? `bench-${process.pid}`, cellSize: Number(process.env.P2P_BENCH_CELL_SIZE) || undefined } } : {}),
});
let inspector: Session | undefined;
process.send?.({ ev: 'listening', port: tracker.port });
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'memory') {
    gc?.();
    gc?.();
    const mem = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((sp) => [sp.space_name, sp.space_size]));
    process.send?.({
      ev: 'memory', rss: mem.rss, heap: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, arrayBuffers: mem.arrayBuffers,
      newSpace: spaces.new_space ?? 0, peers: tracker.stats().peers, collected: !!gc,
    });
  } else if (m.cmd === 'heap-snapshot') {
    v8.writeHeapSnapshot((m as { cmd: string; file: string }).file);
    process.send?.({ ev: 'heap-snapshot' });
  } else if (m.cmd === 'heap-sampling-start') {
    inspector ??= new Session();
    inspector.connect();
    inspector.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: !!(m as { promoted?: boolean }).promoted, includeObjectsCollectedByMinorGC: !!(m as { allocations?: boolean }).allocations }, () => process.send?.({ ev: 'heap-sampling-start' }));
  } else if (m.cmd === 'heap-sampling-stop') {
    // A scavenge first: what the young generation holds dead is not counted as outliving one.
    (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc?.({ type: 'minor' });
    inspector?.post('HeapProfiler.getSamplingProfile', (err, r) => {
      if (!err) writeFileSync((m as { cmd: string; file: string }).file, JSON.stringify(r.profile));
      inspector?.post('HeapProfiler.stopSampling', () => process.send?.({ ev: 'heap-sampling-stop' }));
    });
  } else if (m.cmd === 'relay-start') {
    gcPauses = [];
    loop = { late: [], own: [], run: [], waitMs: 0, runMs: 0, wallMs: 0 };
    cpuAt = process.cpuUsage();
    process.send?.({ ev: 'relay-start' });
  } else if (m.cmd === 'relay-stats') {
    const cpu = process.cpuUsage(cpuAt);
    const kind = (major: boolean) => {
      const d = gcPauses.filter((g) => g.major === major).map((g) => g.ms);
      return { count: d.length, totalMs: d.reduce((a, b) => a + b, 0), maxMs: Math.max(0, ...d) };
    };
    const all = gcPauses.map((g) => g.ms);
    process.send?.({
      ev: 'relay-stats',
      gc: { count: all.length, totalMs: all.reduce((a, b) => a + b, 0), p99Ms: pct(all, 0.99), maxMs: Math.max(0, ...all), minor: kind(false), major: kind(true) },
      loop: { split: prevSched !== null, lateP50: pct(loop.late, 0.5), lateP99: pct(loop.late, 0.99), lateMax: Math.max(0, ...loop.late), ownP99: pct(loop.own, 0.99), ownMax: Math.max(0, ...loop.own), runP99: pct(loop.run, 0.99), runMax: Math.max(0, ...loop.run), waitShare: loop.waitMs / Math.max(1, loop.wallMs), runMs: loop.runMs, wallMs: loop.wallMs },
      cpuMs: (cpu.user + cpu.system) / 1000,
    });
  } else if (m.cmd === 'exit') {
    void tracker.close().then(() => process.exit(0));
  }
});
// The bench that forked this process is gone (it failed or was killed): do not linger.
process.on('disconnect', () => process.exit(0));
