// Tracker nodes sharing one real redis-server (started on a free loopback port): peers of one
// stream on different nodes see each other and exchange signals, roles stay unique across nodes,
// an owner stopped without any cleanup is replaced by a survivor at a higher epoch, and a Redis
// restart leaves local service untouched and is reconciled. Fails with a clear message when
// redis-server cannot start.

import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { TrackerClient, type WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { startTracker, type Tracker, type TrackerOptions } from './server.ts';
import { expectCountedCode, manualClock, nextEvent, until } from './test-kit.ts';
import { startRedisServer, useRedisServer } from './redis-test-server.ts';
import { expectRejectCode } from '../expect-code.ts';
import { MemorySpace, memoryBackend } from './memory-backend.ts';
import type { ClusterBackend } from './cluster-backend.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const redisServer = useRedisServer();

function redisUrl(): string {
  return redisServer().url;
}

let clusterNo = 0;
/** Starts `n` nodes of one new cluster (its own key prefix) on the test Redis. */
async function nodes(n: number, opts: TrackerOptions = {}, leaseMs = 1500): Promise<Tracker[]> {
  const prefix = `c${++clusterNo}:`;
  const out: Tracker[] = [];
  for (let i = 0; i < n; i++) {
    const t = await startTracker({ port: 0, host: '127.0.0.1', ...opts, cluster: { nodeId: `node-${i}`, redisUrl: redisUrl(), leaseMs, renewMs: 200, prefix } });
    cleanups.push(() => t.close());
    out.push(t);
  }
  return out;
}

function client(url: string, streamId: string, extra: Partial<ConstructorParameters<typeof TrackerClient>[0]> = {}): TrackerClient {
  const c = new TrackerClient({ url, streamId, WebSocket: WS, reconnectMinMs: 50, reconnectMaxMs: 200, ...extra });
  cleanups.push(() => c.destroy());
  c.connect();
  return c;
}

async function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

type Swarm = { mode: string; viewers: number; holders: Array<{ keys: number[] }>; producers: Array<{ keys: number[] }> };
/** The latest swarm summary the broadcaster got (kept from the start, so none is missed). */
function lastSwarm(caster: TrackerClient): () => Swarm | null {
  let last: Swarm | null = null;
  caster.on('swarm', (s) => (last = s));
  return () => last;
}
const allKeys = (s: Swarm | null, viewers: number) => !!s && s.mode === 'holder' && s.viewers === viewers && s.holders.flatMap((h) => h.keys).length === 11;

const owners = (ts: Tracker[], streamId: string) => ts.filter((t) => t.cluster?.ownedStreams().includes(streamId));

describe('tracker cluster on Redis', () => {
  it('peers of one stream on two nodes see each other and exchange signals through the nodes', async () => {
    const [a, b] = await nodes(2);
    const key = await generateStreamKey();
    const caster = client(a.url!, key.streamId, { broadcasterKey: key, bitrateBps: 2e6 });
    let casterJoins = 0;
    caster.on('joined', () => casterJoins++);
    const casterId = (await nextEvent(caster, 'joined')).peerId;
    const va = client(a.url!, key.streamId);
    const vaId = (await nextEvent(va, 'joined')).peerId;
    const vb = client(b.url!, key.streamId);
    const vbId = (await nextEvent(vb, 'joined')).peerId;
    // The viewer on node b learns the live state and the go-live id from the owner on node a.
    await until(() => vb.state === 'live' && vb.broadcastId === caster.broadcastId, 5000, 'live on node b');
    await until(() => vb.neighbours.some((n) => n.peerId === casterId) && vb.neighbours.some((n) => n.peerId === vaId), 5000, 'cross-node neighbours');
    expect(owners([a, b], key.streamId)).toEqual([a]);
    // The first peer of the stream made its node the owner, and was told 'joined' once.
    expect(casterJoins).toBe(1);

    // Signals cross nodes both ways with the sender's real id.
    const got = nextEvent(vb, 'signal');
    expect(va.signal(vbId, { sdp: 'offer' })).toBe(true);
    expect(await got).toEqual({ from: vaId, data: { sdp: 'offer' } });
    const back = nextEvent(caster, 'signal');
    vb.signal(casterId, { candidate: 'c1' });
    expect(await back).toEqual({ from: vbId, data: { candidate: 'c1' } });
    // Between two peers of one node the relay stays local.
    const localBefore = a.cluster!.metrics.out.get('sig') ?? 0;
    const local = nextEvent(caster, 'signal');
    va.signal(casterId, { local: true });
    expect((await local).from).toBe(vaId);
    expect(a.cluster!.metrics.out.get('sig') ?? 0).toBe(localBefore);
    expect(b.cluster!.metrics.out.get('sig')).toBe(1);
    expect(a.cluster!.metrics.out.get('sig')).toBe(1);

    const health = JSON.parse(await get(`http://127.0.0.1:${a.port}/health`));
    expect(health.cluster).toMatchObject({ nodeId: 'node-0', backend: 'redis', redis: 'up', ownedStreams: 1, owned: [{ streamId: key.streamId, epoch: a.cluster!.ownerOf(key.streamId)!.epoch }] });
    expect(JSON.parse(await get(`http://127.0.0.1:${b.port}/health`)).cluster).toMatchObject({ nodeId: 'node-1', redis: 'up', hostedStreams: 1, ownedStreams: 0 });
    // One stream asked by id: its owner as each node knows it, with the owner's own time of taking it.
    const asked = JSON.parse(await get(`http://127.0.0.1:${a.port}/health?stream=${encodeURIComponent(key.streamId)}`)).cluster.stream;
    expect(asked).toMatchObject({ streamId: key.streamId, owner: { node: 'node-0', epoch: a.cluster!.ownerOf(key.streamId)!.epoch } });
    expect(asked.owner.sinceUnixMs).toBeGreaterThan(Date.now() - 120_000);
    expect(asked.owner.sinceUnixMs).toBeLessThanOrEqual(Date.now());
    expect(JSON.parse(await get(`http://127.0.0.1:${b.port}/health?stream=${encodeURIComponent(key.streamId)}`)).cluster.stream.owner).toMatchObject({ node: 'node-0' });
    expect(JSON.parse(await get(`http://127.0.0.1:${b.port}/health?stream=nosuchstream`)).cluster.stream).toEqual({ streamId: 'nosuchstream', owner: null });
    const metrics = await get(`http://127.0.0.1:${b.port}/metrics`);
    expect(metrics).toMatch(/p2p_tracker_cluster_messages_total\{direction="out",kind="sig"\} 1/);
    expect(metrics).toMatch(/p2p_tracker_cluster_messages_total\{direction="out",kind="join"\} 1/);
    expect(metrics).toMatch(/p2p_tracker_cluster_backend_up 1/);
    expect(metrics).toMatch(/p2p_tracker_cluster_roundtrip_seconds_count [1-9]/);
    expect(await get(`http://127.0.0.1:${a.port}/metrics`)).toMatch(/p2p_tracker_cluster_ownership_changes_total\{kind="acquired"\} 1/);
  });

  it('three nodes hand out each holder key and producer group once across the nodes', async () => {
    const ts = await nodes(3, { room: { holderModeAtViewers: 4, directModeAtViewers: 2, directMaxViewers: 8 } });
    const key = await generateStreamKey();
    const caster = client(ts[1].url!, key.streamId, { broadcasterKey: key, bitrateBps: 1e6 });
    const swarmNow = lastSwarm(caster);
    await nextEvent(caster, 'joined');
    const viewers = Array.from({ length: 9 }, (_, i) => client(ts[i % 3].url!, key.streamId, { uploadBps: 20e6 }));
    await until(() => viewers.every((v) => v.connected), 5000, 'viewers joined');
    await until(() => allKeys(swarmNow(), 9), 10_000, 'all keys held');
    const swarm = swarmNow()!;
    await until(() => viewers.filter((v) => v.holderKeys.length > 0).length === swarm.holders.length && viewers.filter((v) => v.producerGroups.length > 0).length === swarm.producers.length, 10_000, 'roles at viewers');
    const keys = viewers.flatMap((v) => v.holderKeys).sort((x, y) => x - y);
    expect(keys).toEqual(Array.from({ length: 11 }, (_, k) => k));
    const groups = viewers.flatMap((v) => v.producerGroups).sort((x, y) => x - y);
    expect(new Set(groups).size).toBe(groups.length);
    // Holders sit on every node, and one node owns the room.
    expect(owners(ts, key.streamId).length).toBe(1);
    const peerIds = new Set(viewers.map((v) => v.peerId));
    expect(peerIds.size).toBe(9);
  });

  it('an owner stopped without cleanup is replaced from the snapshot at a higher epoch; its peers move to survivors', async () => {
    const ts = await nodes(3, { room: { holderModeAtViewers: 4, directModeAtViewers: 2, directMaxViewers: 8 } });
    const [a, b, c] = ts;
    const key = await generateStreamKey();
    const urls = ts.map((t) => t.url!);
    // The broadcaster's node asks first and owns the stream.
    const caster = client(b.url!, key.streamId, { broadcasterKey: key, bitrateBps: 1e6, urls: [c.url!, a.url!] });
    const swarmNow = lastSwarm(caster);
    await nextEvent(caster, 'joined');
    const first = client(a.url!, key.streamId, { uploadBps: 20e6, urls: [b.url!, c.url!] });
    await nextEvent(first, 'joined');
    const viewers = [first, ...Array.from({ length: 6 }, (_, i) => client(urls[i % 3], key.streamId, { uploadBps: 20e6, urls: urls.filter((_, j) => j !== i % 3) }))];
    await until(() => viewers.every((v) => v.connected), 5000, 'viewers joined');
    await until(() => allKeys(swarmNow(), 7), 10_000, 'all keys held');
    const owner = owners(ts, key.streamId)[0];
    const epoch = owner.cluster!.ownerOf(key.streamId)!.epoch;
    const survivors = ts.filter((t) => t !== owner);
    // Survivor-held roles before the crash: kept by the new owner from the snapshot.
    const onSurvivors = viewers.filter((v) => survivors.some((t) => v.url === t.url));
    await until(() => onSurvivors.every((v) => survivors.some((t) => t.cluster!.ownerOf(key.streamId)?.epoch === epoch)), 5000, 'survivors know the owner');
    // Let one snapshot round happen, then crash the owner: no lease released, no goodbye.
    await new Promise((r) => setTimeout(r, 400));
    const heldBefore = new Map(onSurvivors.map((v) => [v.peerId, v.holderKeys]));
    await owner.halt();

    await until(() => owners(ts, key.streamId).filter((t) => t !== owner).length === 1, 10_000, 'a survivor takes over');
    const next = owners(survivors, key.streamId)[0];
    expect(next.cluster!.ownerOf(key.streamId)!.epoch).toBeGreaterThan(epoch);
    // Every peer (those of the dead node reconnected to a survivor) is served again.
    await until(() => viewers.every((v) => v.connected) && caster.connected, 10_000, 'all peers connected');
    await until(() => allKeys(swarmNow(), 7), 10_000, 'all keys held after takeover');
    await until(() => new Set(viewers.flatMap((v) => v.holderKeys)).size === 11 && viewers.flatMap((v) => v.holderKeys).length === 11, 10_000, 'keys unique after takeover');
    // Holders on surviving nodes kept their keys (restored from the snapshot, not reshuffled); they
    // may have taken over keys of the dead node's holders too.
    for (const v of onSurvivors) expect(v.holderKeys).toEqual(expect.arrayContaining(heldBefore.get(v.peerId!) ?? []));
    // Signals flow between peers of different surviving nodes.
    const x = viewers.find((v) => v.url === survivors[0].url)!;
    await until(() => x.neighbours.some((n) => viewers.some((v) => v.peerId === n.peerId && v.url === survivors[1].url)), 10_000, 'cross-node neighbour');
    const y = viewers.find((v) => v.peerId === x.neighbours.find((n) => viewers.some((w) => w.peerId === n.peerId && w.url === survivors[1].url))!.peerId)!;
    const got = nextEvent(y, 'signal');
    x.signal(y.peerId!, { after: 'takeover' });
    expect((await got).from).toBe(x.peerId);
  }, 30_000);

  it('an owner drops the peers of a node that died at once, not after the peer timeout', async () => {
    const [a, b] = await nodes(2);
    const key = await generateStreamKey();
    const caster = client(a.url!, key.streamId, { broadcasterKey: key, bitrateBps: 1e6 });
    const swarmNow = lastSwarm(caster);
    await nextEvent(caster, 'joined');
    const local = client(a.url!, key.streamId);
    await nextEvent(local, 'joined');
    const remote = [client(b.url!, key.streamId), client(b.url!, key.streamId)];
    await until(() => remote.every((v) => v.connected) && swarmNow()?.viewers === 3, 5000, 'three viewers');
    await b.halt();
    // Node b's alive key expires with its lease (1.5 s here); the room's peer timeout is 90 s.
    await until(() => swarmNow()?.viewers === 1, 10_000, 'dead node peers removed');
    expect(local.neighbours.map((n) => n.peerId)).not.toContain(remote[0].peerId);
  });

  it('keeps relaying between local peers while Redis is down and reconciles when it is back', async () => {
    const [a, b] = await nodes(2);
    const key = await generateStreamKey();
    const caster = client(a.url!, key.streamId, { broadcasterKey: key, bitrateBps: 1e6 });
    const casterId = (await nextEvent(caster, 'joined')).peerId;
    const va = client(a.url!, key.streamId);
    const vaId = (await nextEvent(va, 'joined')).peerId;
    await until(() => va.neighbours.some((n) => n.peerId === casterId), 5000, 'local link');
    await redisServer().kill();
    await until(() => a.cluster!.backendState === 'down', 5000, 'node sees Redis down');
    expect(JSON.parse(await get(`http://127.0.0.1:${a.port}/health`))).toMatchObject({ ok: true, cluster: { redis: 'down', ownedStreams: 1 } });
    // Local service goes on: signals between peers of node a.
    const got = nextEvent(caster, 'signal');
    va.signal(casterId, { while: 'down' });
    expect((await got).from).toBe(vaId);
    await redisServer().start();
    await until(() => a.cluster!.backendState === 'up' && b.cluster!.backendState === 'up', 10_000, 'nodes see Redis up');
    // The owner took its lease again (Redis came back empty) and a new peer on node b joins it.
    await until(() => (a.cluster!.metrics.ownershipChanges.get('reacquired') ?? 0) >= 1, 10_000, 'lease reacquired');
    expect(owners([a, b], key.streamId)).toEqual([a]);
    const vb = client(b.url!, key.streamId);
    const vbId = (await nextEvent(vb, 'joined', () => true, 10_000)).peerId;
    await until(() => vb.state === 'live' && vb.neighbours.some((n) => n.peerId === vaId || n.peerId === casterId), 10_000, 'cross-node after restart');
    const peer = vb.neighbours.find((n) => n.peerId === vaId || n.peerId === casterId)!.peerId;
    const target = peer === vaId ? va : caster;
    const msg = nextEvent(target, 'signal');
    vb.signal(peer, { after: 'restart' });
    expect((await msg).from).toBe(vbId);
  }, 30_000);

  it('refuses to start without a reachable Redis (CLUSTER_UNAVAILABLE) or with a node id already live (BAD_CONFIG)', async () => {
    const gone = await startRedisServer();
    await gone.stop();
    await expectRejectCode(startTracker({ port: 0, cluster: { nodeId: 'x', redisUrl: gone.url } }), 'CLUSTER_UNAVAILABLE');
    const [a] = await nodes(1);
    const prefix = `c${clusterNo}:`;
    expect(a.cluster!.nodeId).toBe('node-0');
    await expectRejectCode(startTracker({ port: 0, cluster: { nodeId: 'node-0', redisUrl: redisUrl(), prefix } }), 'BAD_CONFIG');
    await expectRejectCode(startTracker({ port: 0, cluster: { nodeId: 'bad id!', redisUrl: redisUrl() } }), 'BAD_CONFIG');
  });
});

describe('tracker cluster on the in-memory backend', () => {
  it('runs two nodes in one process over one MemorySpace', async () => {
    const space = new MemorySpace();
    const a = await startTracker({ port: 0, cluster: { nodeId: 'm0', backend: memoryBackend(space), leaseMs: 1000, renewMs: 100 } });
    cleanups.push(() => a.close());
    const b = await startTracker({ port: 0, cluster: { nodeId: 'm1', backend: memoryBackend(space), leaseMs: 1000, renewMs: 100 } });
    cleanups.push(() => b.close());
    const key = await generateStreamKey();
    const va = client(a.url!, key.streamId);
    const vaId = (await nextEvent(va, 'joined')).peerId;
    const vb = client(b.url!, key.streamId);
    const vbId = (await nextEvent(vb, 'joined')).peerId;
    await until(() => va.neighbours.some((n) => n.peerId === vbId), 5000, 'link');
    const got = nextEvent(va, 'signal');
    vb.signal(vaId, { hi: 1 });
    expect((await got).from).toBe(vbId);
    // Garbage on a node's channel (whoever can write to the store can send it) is counted and
    // dropped; the node goes on serving.
    const intruder = memoryBackend(space);
    for (const junk of ['not json', '{"t":"join"}', '[{"t":"join","s":"x"}]', '[{"t":"hb","s":"x","id":"p","n":"m1","st":null}]', '[{"t":"ev","s":"x","o":"m0~x","e":9,"v":[[null]]}]', '[{"t":"nope","s":"x"}]'])
      await intruder.broker.publish('p2p:node:m0', junk);
    await until(() => a.cluster!.metrics.in.get('bad') === 6, 5000, 'bad messages counted');
    const again = nextEvent(vb, 'signal');
    va.signal(vbId, { still: 'serving' });
    expect((await again).from).toBe(vaId);
  });
});

describe('tracker cluster message races (in-memory backend)', () => {
  it('a signal reaching a node before the neighbour list of its target is still delivered', async () => {
    const space = new MemorySpace();
    const a = await startTracker({ port: 0, cluster: { nodeId: 'r0', backend: memoryBackend(space) } });
    cleanups.push(() => a.close());
    // Node b's channel holds back the owner's event batches while `hold` is set.
    const inner = memoryBackend(space);
    let hold = false;
    const held: Array<() => void> = [];
    const backend: ClusterBackend = {
      kind: inner.kind,
      store: inner.store,
      get state() {
        return inner.state;
      },
      onState: (l) => inner.onState(l),
      onRoundTrip: (l) => inner.onRoundTrip(l),
      close: () => inner.close(),
      broker: {
        publish: (ch, m) => inner.broker.publish(ch, m),
        unsubscribe: (ch) => inner.broker.unsubscribe(ch),
        subscribe: (ch, h) => inner.broker.subscribe(ch, (m) => (hold && m.includes('"t":"ev"') ? held.push(() => h(m)) : h(m))),
      },
    };
    const b = await startTracker({ port: 0, cluster: { nodeId: 'r1', backend } });
    cleanups.push(() => b.close());
    const key = await generateStreamKey();
    const va = client(a.url!, key.streamId);
    await nextEvent(va, 'joined');
    const vb = client(b.url!, key.streamId);
    const vbId = (await nextEvent(vb, 'joined')).peerId;
    hold = true;
    // A new peer on the owner's node learns of vb at once; vb's node hears of it later.
    const vc = client(a.url!, key.streamId);
    const vcId = (await nextEvent(vc, 'joined')).peerId;
    await until(() => vc.neighbours.some((n) => n.peerId === vbId), 5000, 'vc knows vb');
    const got = nextEvent(vb, 'signal');
    vc.signal(vbId, { sdp: 'offer' });
    expect(await got).toEqual({ from: vcId, data: { sdp: 'offer' } });
    expect(vb.neighbours.some((n) => n.peerId === vcId)).toBe(false); // its list was still held
    hold = false;
    for (const f of held.splice(0)) f();
    await until(() => vb.neighbours.some((n) => n.peerId === vcId), 5000, 'vb knows vc');
  });
});

/** An in-memory backend with its store or broker partly replaced (a fault to inject). */
function wrapBackend(inner: ClusterBackend, over: { store?: Partial<ClusterBackend['store']>; broker?: Partial<ClusterBackend['broker']> }): ClusterBackend {
  return {
    kind: inner.kind,
    store: { ...inner.store, ...over.store },
    get state() {
      return inner.state;
    },
    onState: (l) => inner.onState(l),
    onRoundTrip: (l) => inner.onRoundTrip(l),
    close: () => inner.close(),
    broker: { ...inner.broker, ...over.broker },
  };
}

/** A cluster node on the manual clock (lease 10 s, renewal every 2 s). */
async function virtualNode(clock: ReturnType<typeof manualClock>, nodeId: string, backend: ClusterBackend): Promise<Tracker> {
  const t = await startTracker({ port: 0, clock, cluster: { nodeId, backend, leaseMs: 10_000, renewMs: 2000 } });
  cleanups.push(() => t.close());
  return t;
}

describe('tracker cluster failover on virtual time (in-memory backend)', () => {
  /** Two nodes over one MemorySpace whose leases and timers follow one manual clock. */
  async function pair() {
    const clock = manualClock();
    const space = new MemorySpace(() => clock.now());
    const start = async (nodeId: string) => {
      const t = await startTracker({ port: 0, clock, cluster: { nodeId, backend: memoryBackend(space), leaseMs: 10_000, renewMs: 2000 } });
      cleanups.push(() => t.close());
      return t;
    };
    return { clock, space, a: await start('v0'), b: await start('v1') };
  }

  it('a halted owner keeps its streams until its lease expires, then the survivor takes over at the next epoch', async () => {
    const { clock, space, a, b } = await pair();
    const key = await generateStreamKey();
    const va = client(a.url!, key.streamId);
    await nextEvent(va, 'joined');
    const vb = client(b.url!, key.streamId);
    const vbId = (await nextEvent(vb, 'joined')).peerId;
    const vb2 = client(b.url!, key.streamId);
    const vb2Id = (await nextEvent(vb2, 'joined')).peerId;
    await until(() => vb.neighbours.some((n) => n.peerId === vb2Id), 5000, 'link on node b');
    expect(a.cluster!.ownerOf(key.streamId)).toMatchObject({ node: 'v0', epoch: 1 });
    await a.halt();
    // A damaged snapshot entry is skipped, never a reason to refuse the takeover.
    space.hashes.get(`p2p:snap:{${key.streamId}}`)?.set('m:damaged', '{not json');
    expect(space.hashes.get(`p2p:snap:{${key.streamId}}`)?.size).toBeGreaterThan(2);
    // Within the lease nobody takes the stream (the owner might only be slow).
    await clock.advance(8000, 5);
    expect(b.cluster!.ownedStreams()).toEqual([]);
    // After it, the next check of node b takes it over from the snapshot, epoch 2.
    await clock.advance(4000, 5);
    await until(() => b.cluster!.ownedStreams().includes(key.streamId), 5000, 'takeover');
    expect(b.cluster!.ownerOf(key.streamId)).toMatchObject({ node: 'v1', epoch: 2 });
    // Node b's peers are members of the new room and still introduced to each other.
    const got = nextEvent(vb2, 'signal');
    await until(() => vb.neighbours.some((n) => n.peerId === vb2Id), 5000, 'link after takeover');
    vb.signal(vb2Id, { after: 'takeover' });
    expect((await got).from).toBe(vbId);
    expect(b.cluster!.metrics.ownershipChanges.get('acquired')).toBe(1);
  });

  it('a node whose renewal round is stuck writing a snapshot still takes over a dead owner\'s stream when its lease expires', async () => {
    const clock = manualClock();
    const space = new MemorySpace(() => clock.now());
    // Node b's snapshot writes of the stream it owns never finish: its renewal round stays busy.
    let stuckStream = '';
    const inner = memoryBackend(space);
    const stuck = wrapBackend(inner, { store: { writeHash: (k, set, del, fence) => (stuckStream && k.includes(stuckStream) ? new Promise<boolean>(() => {}) : inner.store.writeHash(k, set, del, fence)) } });
    const a = await virtualNode(clock, 'w0', memoryBackend(space));
    const b = await virtualNode(clock, 'w1', stuck);
    const own = await generateStreamKey();
    const vOwn = client(b.url!, own.streamId);
    await nextEvent(vOwn, 'joined');
    expect(b.cluster!.ownedStreams()).toEqual([own.streamId]);
    stuckStream = own.streamId;
    const key = await generateStreamKey();
    const va = client(a.url!, key.streamId);
    await nextEvent(va, 'joined');
    const vb = client(b.url!, key.streamId);
    await nextEvent(vb, 'joined');
    expect(a.cluster!.ownerOf(key.streamId)).toMatchObject({ node: 'w0', epoch: 1 });
    // A member more on b's own stream: its next snapshot write hangs, and so does its renewal round.
    const vOwn2 = client(b.url!, own.streamId);
    await nextEvent(vOwn2, 'joined');
    await clock.advance(2000, 5);
    await a.halt();
    await clock.advance(14_000, 20);
    await until(() => b.cluster!.ownedStreams().includes(key.streamId), 5000, 'takeover beside the stuck round');
    expect(b.cluster!.ownerOf(key.streamId)).toMatchObject({ node: 'w1', epoch: 2 });
    // Its own stream's lease was renewed all along.
    expect(b.cluster!.ownerOf(own.streamId)).toMatchObject({ node: 'w1', epoch: 1 });
  });

  it('a join the cluster never answers is closed after the join timeout, and the client\'s reconnect joins again', async () => {
    const clock = manualClock();
    const space = new MemorySpace(() => clock.now());
    // Node b's joins to the owner are lost on the way (as when they bounce between nodes while the
    // stream changes hands) until `lose` is cleared.
    let lose = true;
    const inner = memoryBackend(space);
    const losing = wrapBackend(inner, { broker: { publish: (ch, m) => (lose && m.includes('"t":"join"') ? Promise.resolve(1) : inner.broker.publish(ch, m)) } });
    const a = await virtualNode(clock, 'j0', memoryBackend(space));
    const b = await virtualNode(clock, 'j1', losing);
    const key = await generateStreamKey();
    const va = client(a.url!, key.streamId);
    await nextEvent(va, 'joined');
    const vb = client(b.url!, key.streamId);
    let joinedB = false;
    vb.on('joined', () => (joinedB = true));
    let closedReason: string | null = null;
    vb.on('disconnected', (d) => (closedReason ??= d.reason));
    await clock.advance(10_000, 20);
    expect(joinedB).toBe(false); // within the join timeout (15 s) it waits
    expect(closedReason).toBeNull();
    // Sockets are checked once per ping period (15 s): closed within two of them.
    await clock.advance(22_000, 44);
    await until(() => closedReason !== null, 5000, 'the close');
    expect(closedReason).toBe('not admitted in time');
    expectCountedCode(b.metrics, 'JOIN_TIMEOUT', 1);
    lose = false;
    for (let i = 0; i < 100 && !joinedB; i++) await clock.advance(200, 2);
    expect(joinedB).toBe(true); // joined after the client's reconnect
  });

  it('while the engine is down the owner keeps the roles of peers on other nodes; it reconciles when the engine is back', async () => {
    const clock = manualClock();
    const space = new MemorySpace(() => clock.now());
    const room = { holderModeAtViewers: 4, directModeAtViewers: 2, directMaxViewers: 8, holderProbationMs: 0 };
    const start = async (nodeId: string) => {
      const t = await startTracker({ port: 0, clock, room, cluster: { nodeId, backend: memoryBackend(space), leaseMs: 10_000, renewMs: 2000 } });
      cleanups.push(() => t.close());
      return t;
    };
    const a = await start('w0');
    const b = await start('w1');
    const key = await generateStreamKey();
    const caster = client(a.url!, key.streamId, { broadcasterKey: key, bitrateBps: 1e6 });
    const swarmNow = lastSwarm(caster);
    await nextEvent(caster, 'joined');
    const remote = Array.from({ length: 5 }, () => client(b.url!, key.streamId, { uploadBps: 20e6 }));
    await until(() => remote.every((v) => v.connected), 5000, 'viewers joined');
    await clock.advance(1000, 5); // a room tick: roles handed out
    await until(() => remote.filter((v) => v.holderKeys.length > 0).length >= 2, 5000, 'remote holders');
    const holders = () => JSON.stringify(swarmNow()?.holders);
    await until(() => remote.every((v) => !v.holderKeys.length || holders().includes(v.peerId!)), 5000, 'swarm summary');
    const before = holders();
    space.setState('down');
    // 9 s of virtual time: three role leases (3 s) without a heartbeat arriving from node b. The
    // broadcaster (on the owner's node) would hear of any change of holders.
    await clock.advance(9000, 5);
    expect(holders()).toBe(before);
    expect(a.cluster!.ownedStreams()).toEqual([key.streamId]);
    space.setState('up', true); // back, and empty (restarted without persistence)
    await clock.advance(2000, 5);
    await until(() => (a.cluster!.metrics.ownershipChanges.get('reacquired') ?? 0) === 1, 5000, 'lease taken again');
    expect(a.cluster!.ownerOf(key.streamId)!.epoch).toBe(2);
  });

  it('a node that stops cleanly hands its streams over at the next check, without waiting for the lease', async () => {
    const { clock, a, b } = await pair();
    const key = await generateStreamKey();
    const va = client(a.url!, key.streamId);
    await nextEvent(va, 'joined');
    const vb = client(b.url!, key.streamId);
    await nextEvent(vb, 'joined');
    await a.close();
    await clock.advance(2000, 5);
    await until(() => b.cluster!.ownedStreams().includes(key.streamId), 5000, 'handover');
    expect(b.cluster!.ownerOf(key.streamId)?.epoch).toBe(2);
  });
});
