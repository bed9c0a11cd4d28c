// Cells across processes: two `p2p-player-tracker --redis … --cell-size 6 --max-cells 2` processes
// share a real redis-server; one stream splits into two cells, one per node. The node owning cell 1
// is killed with SIGKILL: the other node takes the cell over at a higher epoch (seen in its
// /health), the dead node's peers reconnect to it, and keys and groups stay unique across the
// cells. Fails with a clear message when redis-server cannot start.

import { describe, expect, it } from 'vitest';
import { generateStreamKey } from '../crypto/stream-key.ts';
import type { TrackerClient } from '../tracker-client/tracker-client.ts';
import { useClusterProcesses, type NodeProcess, type Owned } from './cluster-process-kit.ts';
import { nextEvent, until } from './test-kit.ts';
import { useRedisServer } from './redis-test-server.ts';

const redisServer = useRedisServer();
const { node: startNode, client, owned } = useClusterProcesses();
const CELL_FLAGS = ['--cell-size', '6', '--max-cells', '2'];
const node = (nodeId: string, redisUrl: string) => startNode(nodeId, redisUrl, CELL_FLAGS);

/** Polls a node's /health until `check` holds (bounded). */
async function untilOwned(n: NodeProcess, check: (o: Owned) => boolean, what: string): Promise<Owned> {
  for (let i = 0; i < 400; i++) {
    const o = await owned(n);
    if (o && check(o)) return o;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);

describe('a stream split over tracker processes', () => {
  it('a SIGKILLed cell owner is replaced by the other node at a higher epoch; keys and groups stay unique across cells', async () => {
    const { url } = redisServer();
    const [a, b] = [await node('x0', url), await node('x1', url)];
    const key = await generateStreamKey();
    const s = key.streamId;
    const caster = client(a.url, s, { broadcasterKey: key, bitrateBps: 1e6, urls: [b.url] });
    await nextEvent(caster, 'joined');
    const viewers: TrackerClient[] = [];
    for (let i = 0; i < 11; i++) {
      viewers.push(client(i % 2 ? b.url : a.url, s, { uploadBps: 20e6, urls: [i % 2 ? a.url : b.url] }));
      // Cell 0 fills first (the broadcaster and 5 viewers), then cell 1.
      if (i === 4) await until(() => viewers.every((v) => v.connected && v.peerId), 10_000, 'cell 0 viewers joined');
    }
    await until(() => viewers.every((v) => v.connected && v.peerId), 10_000, 'all viewers joined');
    await untilOwned(a, (o) => o.some((x) => x.streamId === s), 'node x0 owns the stream');
    const before = (await untilOwned(b, (o) => o.some((x) => x.streamId === `${s}#1`), 'node x1 owns cell 1')).find((x) => x.streamId === `${s}#1`)!;
    const complete = () => JSON.stringify(sorted(viewers.flatMap((v) => v.holderKeys))) === JSON.stringify(range(0, 22)) && JSON.stringify(sorted(viewers.flatMap((v) => v.producerGroups))) === JSON.stringify(range(0, 16));
    await until(complete, 15_000, 'both cells hold all their keys and groups');

    b.child.kill('SIGKILL');
    const after = (await untilOwned(a, (o) => o.some((x) => x.streamId === `${s}#1`), 'node x0 takes cell 1 over')).find((x) => x.streamId === `${s}#1`)!;
    expect(after.epoch).toBeGreaterThan(before.epoch);
    await until(() => caster.connected && viewers.every((v) => v.connected && v.url === a.url), 15_000, 'all peers on node x0');
    await until(complete, 20_000, 'keys and groups complete and unique after the takeover');
    // No peer holds roles of two cells.
    for (const v of viewers) expect(new Set([...v.holderKeys.map((k) => Math.floor(k / 11)), ...v.producerGroups.map((g) => Math.floor(g / 8))]).size).toBeLessThanOrEqual(1);
  }, 90_000);
});
