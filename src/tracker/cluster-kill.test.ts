// Failover across processes: three `p2p-player-tracker --redis … --node-id …` processes share a
// real redis-server; the node owning a stream is killed with SIGKILL mid-stream. A survivor takes
// the stream over at a higher epoch (seen in its /health), the dead node's peers reconnect to the
// other nodes from their URL list, and peers on different surviving nodes signal each other.
// Fails with a clear message when redis-server cannot start.

import { describe, expect, it } from 'vitest';
import { generateStreamKey } from '../crypto/stream-key.ts';
import type { TrackerClient } from '../tracker-client/tracker-client.ts';
import { useClusterProcesses } from './cluster-process-kit.ts';
import { nextEvent, until } from './test-kit.ts';
import { useRedisServer } from './redis-test-server.ts';

const redisServer = useRedisServer();
const { node, client, owned: ownedBy } = useClusterProcesses();

describe('tracker nodes in separate processes', () => {
  it('a SIGKILLed owner is replaced by a survivor at a higher epoch and its peers carry on there', async () => {
    const { url } = redisServer();
    const ns = [await node('k0', url), await node('k1', url), await node('k2', url)];
    const urls = ns.map((n) => n.url);
    const others = (i: number) => urls.filter((_, j) => j !== i);
    const key = await generateStreamKey();
    const caster = client(urls[0], key.streamId, { broadcasterKey: key, bitrateBps: 1e6, urls: others(0) });
    await nextEvent(caster, 'joined');
    const viewers = Array.from({ length: 6 }, (_, i) => client(urls[i % 3], key.streamId, { uploadBps: 20e6, urls: others(i % 3) }));
    await until(() => viewers.every((v) => v.connected && v.state === 'live'), 10_000, 'viewers live');
    const owned = (await ownedBy(ns[0]))?.find((o) => o.streamId === key.streamId);
    expect(owned).toBeDefined();

    ns[0].child.kill('SIGKILL');
    // A survivor owns the stream at a higher epoch.
    let next: { streamId: string; epoch: number } | undefined;
    for (let i = 0; i < 300 && !next; i++) {
      for (const n of ns.slice(1)) next ??= (await ownedBy(n))?.find((o) => o.streamId === key.streamId);
      if (!next) await new Promise((r) => setTimeout(r, 50));
    }
    expect(next?.epoch).toBeGreaterThan(owned!.epoch);
    // Everyone is served by the survivors: the broadcaster and the dead node's viewers reconnected.
    await until(() => caster.connected && viewers.every((v) => v.connected && v.state === 'live'), 15_000, 'all peers back');
    expect(new Set([caster, ...viewers].map((c) => c.url)).has(urls[0])).toBe(false);
    // Peers on the two surviving nodes are neighbours and signal each other through the nodes.
    const onNode = (i: number) => viewers.filter((v) => v.url === urls[i]);
    let pair: [TrackerClient, TrackerClient] | null = null;
    await until(() => {
      for (const x of onNode(1)) for (const y of onNode(2)) if (x.neighbours.some((n) => n.peerId === y.peerId)) pair = [x, y];
      return pair !== null;
    }, 15_000, 'cross-node neighbours');
    const [x, y] = pair!;
    const got = nextEvent(y, 'signal');
    x.signal(y.peerId!, { after: 'sigkill' });
    expect((await got).from).toBe(x.peerId);
  }, 60_000);
});
