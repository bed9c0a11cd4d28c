// Cells: one stream split over two tracker nodes (docs/tracker.md, Cells), on the in-memory
// backend (two nodes in one process over one MemorySpace) and on a real redis-server started on a
// free loopback port. The stream's owner keeps cell 0 and opens cell 1 on the other node once cell 0
// holds `cellSize` members; holder keys and producer groups come from disjoint blocks, so they stay
// unique across cells; peers of different cells get cross-cell neighbours and signal each other;
// a cell owner that stops without any cleanup is replaced by the surviving node at a higher epoch,
// from the cell's snapshot and block. Fails with a clear message when redis-server cannot start.

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { TrackerClient, type WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { startTracker, type Tracker, type TrackerOptions } from './server.ts';
import { nextEvent, until } from './test-kit.ts';
import { useRedisServer } from './redis-test-server.ts';
import { MemorySpace, memoryBackend } from './memory-backend.ts';
import type { TrackerClusterOptions } from './server-config.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const redisServer = useRedisServer();

const ROOM: TrackerOptions['room'] = { holderModeAtViewers: 4, directModeAtViewers: 2, directMaxViewers: 8 };
const CELL_SIZE = 6;

function client(url: string, streamId: string, extra: Partial<ConstructorParameters<typeof TrackerClient>[0]> = {}): TrackerClient {
  const c = new TrackerClient({ url, streamId, WebSocket: WS, reconnectMinMs: 50, reconnectMaxMs: 200, ...extra });
  cleanups.push(() => c.destroy());
  c.connect();
  return c;
}

type ClusterOf = (nodeId: string) => TrackerClusterOptions;

async function twoNodes(clusterOf: ClusterOf): Promise<[Tracker, Tracker]> {
  const out: Tracker[] = [];
  for (const nodeId of ['cell-a', 'cell-b']) {
    const t = await startTracker({ port: 0, host: '127.0.0.1', room: ROOM, cluster: { ...clusterOf(nodeId), cellSize: CELL_SIZE, maxCells: 2 } });
    cleanups.push(() => t.close());
    out.push(t);
  }
  return out as [Tracker, Tracker];
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
/** The cell a viewer's roles belong to (keys 0…10 and groups 0…7 are cell 0's, 11…21 and 8…15 cell 1's), null without roles. */
const cellOfRoles = (v: TrackerClient): number | null => {
  const cells = new Set([...v.holderKeys.map((k) => Math.floor(k / 11)), ...v.producerGroups.map((g) => Math.floor(g / 8))]);
  expect(cells.size).toBeLessThanOrEqual(1); // no peer holds roles in two cells
  return cells.size ? [...cells][0] : null;
};
/** Every key of both cells held exactly once, every group of both cells leased exactly once. */
const rolesComplete = (viewers: TrackerClient[]): boolean => {
  const keys = viewers.flatMap((v) => v.holderKeys).sort((x, y) => x - y);
  const groups = viewers.flatMap((v) => v.producerGroups).sort((x, y) => x - y);
  return JSON.stringify(keys) === JSON.stringify(range(0, 22)) && JSON.stringify(groups) === JSON.stringify(range(0, 16));
};

/**
 * The scenario on two nodes made by `clusterOf`: a broadcaster and 5 viewers fill cell 0 (owned by
 * node a, where the broadcaster joined first), 6 more viewers open cell 1 on node b; viewers
 * connect to both nodes. Then node b stops without any cleanup and node a takes cell 1 over.
 */
async function splitAndFailOver(clusterOf: ClusterOf): Promise<void> {
  const [a, b] = await twoNodes(clusterOf);
  const key = await generateStreamKey();
  const s = key.streamId;
  const caster = client(a.url!, s, { broadcasterKey: key, bitrateBps: 1e6, urls: [b.url!] });
  let swarm: { viewers: number; holders: Array<{ keys: number[] }> } | null = null;
  caster.on('swarm', (x) => (swarm = x));
  const casterId = (await nextEvent(caster, 'joined')).peerId;
  // The owner knows both nodes before the split (it reads the node registry when it opens a cell too).
  await until(() => a.cluster!.ownedStreams().includes(s), 5000, 'node a owns the stream');
  const viewers: TrackerClient[] = [];
  const urlsFor = (i: number) => (i % 2 === 0 ? [a.url!, b.url!] : [b.url!, a.url!]);
  for (let i = 0; i < 5; i++) viewers.push(client(urlsFor(i)[0], s, { uploadBps: 20e6, urls: [urlsFor(i)[1]] }));
  await until(() => viewers.every((v) => v.connected && v.peerId), 5000, 'cell 0 viewers joined');
  for (let i = 5; i < 11; i++) viewers.push(client(urlsFor(i)[0], s, { uploadBps: 20e6, urls: [urlsFor(i)[1]] }));
  await until(() => viewers.every((v) => v.connected && v.peerId), 10_000, 'cell 1 viewers joined');

  // Node a owns the stream (cell 0), node b owns cell 1.
  await until(() => b.cluster!.ownedStreams().includes(`${s}#1`), 5000, 'node b owns cell 1');
  expect(a.cluster!.ownedStreams()).toEqual([s]);
  expect(b.cluster!.ownedStreams()).toEqual([`${s}#1`]);
  expect(a.cluster!.metrics.cellsOpened).toBe(1);
  expect(new Set(viewers.map((v) => v.peerId)).size).toBe(11);

  // Keys and roles: each key of both blocks held once, each group leased once, no peer in two cells.
  await until(() => rolesComplete(viewers), 15_000, 'both cells hold all their keys and groups');
  const cellOf = new Map<string, number>();
  for (const v of viewers) {
    const c = cellOfRoles(v);
    if (c !== null) cellOf.set(v.peerId!, c);
  }
  expect(new Set(cellOf.values())).toEqual(new Set([0, 1]));
  // The broadcaster is in both cells: one swarm summary names the holders of both blocks (it sends
  // their code segments from it), and one neighbour list links it to them.
  await until(() => JSON.stringify(sorted(swarm?.holders.flatMap((h) => h.keys) ?? [])) === JSON.stringify(range(0, 22)) && swarm?.viewers === 11, 10_000, 'one swarm summary over both cells');
  await until(() => {
    const held = caster.neighbours.flatMap((n) => n.holderKeys ?? []);
    return held.some((k) => k < 11) && held.some((k) => k >= 11);
  }, 10_000, 'the broadcaster is linked to holders of both cells');

  // Cross-cell neighbours: peers of cell 1 are linked to peers of cell 0 (and the link shows on both sides).
  const byId = new Map(viewers.map((v) => [v.peerId!, v]));
  const roleCell = (id: string) => cellOf.get(id);
  const crossPairs = (): Array<[TrackerClient, TrackerClient]> => {
    const out: Array<[TrackerClient, TrackerClient]> = [];
    for (const v of viewers) {
      for (const n of v.neighbours) {
        const w = byId.get(n.peerId);
        const cv = roleCell(v.peerId!);
        const cw = roleCell(n.peerId);
        if (w && cv !== undefined && cw !== undefined && cv !== cw && n.initiator && w.neighbours.some((m) => m.peerId === v.peerId && !m.initiator)) out.push([v, w]);
      }
    }
    return out;
  };
  await until(() => crossPairs().length >= 2, 10_000, 'cross-cell links');
  const [from, to] = crossPairs()[0];
  expect(roleCell(from.peerId!)).toBe(1); // the cell-1 side makes the offer
  // Per peer the number of cross-cell links is bounded (2 asked, 4 accepted).
  for (const v of viewers) {
    const c = roleCell(v.peerId!);
    if (c === undefined) continue;
    const cross = v.neighbours.filter((n) => roleCell(n.peerId) !== undefined && roleCell(n.peerId) !== c && n.peerId !== casterId);
    expect(cross.length).toBeLessThanOrEqual(c === 1 ? 2 : 4);
  }
  // A signal crosses cells (and nodes, when the pair sits on different ones).
  const got = nextEvent(to, 'signal');
  expect(from.signal(to.peerId!, { sdp: 'cross-cell offer' })).toBe(true);
  expect(await got).toEqual({ from: from.peerId, data: { sdp: 'cross-cell offer' } });

  // Failover of the cell owner: node b stops without any cleanup.
  const epoch = b.cluster!.ownerOf(`${s}#1`)!.epoch;
  await b.halt();
  await until(() => a.cluster!.ownedStreams().includes(`${s}#1`), 15_000, 'node a takes cell 1 over');
  expect(a.cluster!.ownerOf(`${s}#1`)!.epoch).toBeGreaterThan(epoch);
  // Node b's peers reconnect to node a; every peer is served again, roles unique across cells.
  await until(() => viewers.every((v) => v.connected && v.url === a.url) && caster.connected, 15_000, 'all peers on node a');
  await until(() => rolesComplete(viewers), 20_000, 'keys and groups complete and unique after the takeover');
  for (const v of viewers) cellOfRoles(v);
  // The new cell owner makes cross-cell links again.
  await until(() => viewers.some((v) => v.neighbours.some((n) => {
    const w = byId.get(n.peerId);
    return !!w && n.peerId !== casterId && cellOfRoles(v) !== null && cellOfRoles(w) !== null && cellOfRoles(v) !== cellOfRoles(w);
  })), 10_000, 'cross-cell links after the takeover');
}

describe('tracker cells: one stream over two nodes', () => {
  it('in-memory backend: splits, keeps keys and roles unique, links cells, survives the loss of a cell owner', async () => {
    const space = new MemorySpace();
    await splitAndFailOver((nodeId) => ({ nodeId, backend: memoryBackend(space), leaseMs: 1000, renewMs: 100 }));
  }, 90_000);

  it('Redis: splits, keeps keys and roles unique, links cells, survives the loss of a cell owner', async () => {
    const prefix = `cells${Date.now() % 100_000}:`;
    await splitAndFailOver((nodeId) => ({ nodeId, redisUrl: redisServer().url, leaseMs: 1500, renewMs: 200, prefix }));
  }, 90_000);

  it('a stream below the cell size never splits', async () => {
    const space = new MemorySpace();
    const [a, b] = await twoNodes((nodeId) => ({ nodeId, backend: memoryBackend(space), leaseMs: 1000, renewMs: 100 }));
    const key = await generateStreamKey();
    const caster = client(a.url!, key.streamId, { broadcasterKey: key, bitrateBps: 1e6 });
    await nextEvent(caster, 'joined');
    const viewers = Array.from({ length: CELL_SIZE - 1 }, (_, i) => client((i % 2 ? b : a).url!, key.streamId, { uploadBps: 20e6 }));
    await until(() => viewers.every((v) => v.connected && v.peerId), 5000, 'viewers joined');
    expect(a.cluster!.ownedStreams()).toEqual([key.streamId]);
    expect(b.cluster!.ownedStreams()).toEqual([]);
    expect(a.cluster!.metrics.cellsOpened).toBe(0);
  });
});
