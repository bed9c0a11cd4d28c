// Runs one simulation over `workers` worker threads (sim-worker.ts), each a part with its share
// of the peers, and builds the report from what the parts measured. Identity runs only; the
// same seed and worker count give the same report.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { resolveSimOptions, type SimOptions } from './sim-options.ts';
import { buildReport, type SimReport } from './sim-report.ts';
import type { PartResult } from './simulator.ts';

export async function simulateParallel(options: Partial<SimOptions>): Promise<SimReport> {
  const o = resolveSimOptions(options);
  const n = o.workers;
  const wall = performance.now();
  // One channel between every two parts.
  const ports: Array<Array<MessagePort | null>> = Array.from({ length: n }, () => Array<MessagePort | null>(n).fill(null));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const ch = new MessageChannel();
      ports[i][j] = ch.port1;
      ports[j][i] = ch.port2;
    }
  }
  // The workers get this process's heap limits (V8 flags are not theirs to take: they come as
  // resource limits; a young generation is three semi-spaces). sim-worker-boot.mjs loads tsx.
  const heapMb = Math.ceil(getHeapStatistics().heap_size_limit / 2 ** 20);
  const semi = /^--max-semi-space-size=(\d+)$/.exec(process.execArgv.find((a) => a.startsWith('--max-semi-space-size=')) ?? '');
  const resourceLimits = { maxOldGenerationSizeMb: heapMb, ...(semi ? { maxYoungGenerationSizeMb: 3 * Number(semi[1]) } : {}) };
  const results = await Promise.all(ports.map((mine, index) => new Promise<PartResult>((resolve, reject) => {
    const w = new Worker(new URL('./sim-worker-boot.mjs', import.meta.url), {
      workerData: { options: { ...options, codec: undefined }, index, count: n, ports: mine },
      transferList: mine.filter((p): p is MessagePort => p !== null),
      execArgv: [],
      resourceLimits,
    });
    let done = false;
    w.once('message', (r: PartResult) => {
      done = true;
      resolve(r);
    });
    w.once('error', reject);
    w.once('exit', (code) => {
      if (!done) reject(new Error(`simulator part ${index} stopped (exit ${code})`));
    });
  })));
  return buildReport({
    peers: o.peers, seconds: o.seconds, mode: results[0].mode, modes: results[0].modes,
    broadcasterBytesUp: results.reduce((s, r) => s + r.broadcasterBytesUp, 0),
    frames: results.flatMap((r) => r.frames),
    viewers: results.flatMap((r) => r.viewers),
    deadlineMs: o.deadlineMs, warmupMs: o.warmupMs, endMs: o.seconds * 1000,
    wallSeconds: (performance.now() - wall) / 1000,
    events: results.reduce((s, r) => s + r.events, 0),
  });
}
