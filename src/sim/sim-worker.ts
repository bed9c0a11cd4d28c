// One part of a parallel simulation, in a worker thread: runs a Simulator over its share of the
// peers and swaps each window's messages with the other parts over MessagePorts. Started by
// parallel.ts; posts its PartResult to the parent when the stream ends.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { SimOptions } from './sim-options.ts';
import { Simulator } from './simulator.ts';

const { options, index, count, ports } = workerData as { options: Partial<SimOptions>; index: number; count: number; ports: Array<MessagePort | null> };

// What each other part sent, oldest first, and who waits for it.
const inbox: ArrayBuffer[][] = ports.map(() => []);
const waiting: Array<(() => void) | undefined> = ports.map(() => undefined);
ports.forEach((port, j) => {
  port?.on('message', (buf: ArrayBuffer) => {
    inbox[j].push(buf);
    waiting[j]?.();
    waiting[j] = undefined;
  });
});

function next(j: number): Promise<ArrayBuffer> | ArrayBuffer {
  const b = inbox[j].shift();
  if (b) return b;
  return new Promise((resolve) => {
    waiting[j] = () => resolve(inbox[j].shift() as ArrayBuffer);
  });
}

const sim = new Simulator(options, {
  index,
  count,
  async exchange(out) {
    ports.forEach((port, j) => port?.postMessage(out[j], [out[j]]));
    const got: ArrayBuffer[] = [];
    for (let j = 0; j < count; j++) got.push(j === index ? new ArrayBuffer(0) : await next(j));
    return got;
  },
});
const result = await sim.runPart();
for (const port of ports) port?.close();
parentPort?.postMessage(result);
