// `npm run bench:tracker -- --nodes 3 --redis`: tracker nodes as separate processes sharing one
// real redis-server, load generators as in the single-node bench. For each placement of peers
// ('hash': a stream's peers on one node, as behind a proxy hashing the stream id; 'any': each
// peer on a node drawn at random) it prints relay latency p50/p99 (sender to receiver), the share
// of relays that stayed on one node, memory per connection of each node, Redis operations per
// join, and the seconds from SIGKILL of a stream's owner to a new owner. 'cells': each generator's
// peers join one stream, the nodes split streams into cells of peers / generators / nodes members
// (docs/tracker.md, Cells), peers go to any node; it prints the cells each node owns, the cross-cell
// link messages, and the seconds from SIGKILL of a cell's owner to a new owner. Not a test.

import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { startRedisServer } from '../src/tracker/redis-test-server.ts';
import { trackerNodeFlags } from './tracker-node-flags.ts';

export interface ClusterBenchOptions {
  nodes: number;
  peers: number;
  streams: number;
  generators: number;
  seconds: number;
  rate: number;
  churn: number;
  /** both: hash and any; all: hash, any and cells. */
  placement: 'hash' | 'any' | 'cells' | 'both' | 'all';
  /** One more stream of this many peers (0: none), joined by a generator of its own beside the
   * others (hash and any placements; the cells placement has its own large streams). */
  big?: number;
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const q = (a: number[], p: number) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : NaN);

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', (e) => reject(new Error(`GET ${url}: ${e.message} (a node out of file descriptors resets new connections; see the open-file check above)`)));
  });
}

/** The soft limit on open files of this process (inherited by the nodes and generators), or null off Linux. */
function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : null;
  } catch {
    return null;
  }
}

/**
 * Sockets the busiest process may hold: with a hashing proxy the big stream sits whole on one node
 * beside its share of the others (hashing is uneven: 1.5 x the mean), and a generator holds its
 * own peers. Each socket is one file descriptor; 1000 more for the process itself.
 */
export function socketsNeeded(o: Pick<ClusterBenchOptions, 'nodes' | 'peers' | 'generators' | 'big'> & { placement?: ClusterBenchOptions['placement'] }): number {
  // Peers on any node (placement any, or cells) spread evenly: a third more than the mean is ample.
  const spread = o.placement === 'any' || o.placement === 'cells';
  const node = spread ? Math.ceil((1.35 * (o.peers + (o.big ?? 0))) / o.nodes) : (o.big ?? 0) + Math.ceil((1.5 * o.peers) / o.nodes);
  const generator = Math.max(o.big ?? 0, Math.ceil(o.peers / o.generators));
  return Math.max(node, generator) + 1000;
}
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function ask<T>(c: ChildProcess, msg: object, ev: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { ev: string } & T) => {
      if (m.ev !== ev) return;
      c.off('message', on);
      resolve(m);
    };
    c.on('message', on);
    c.send(msg);
  });
}

/** Every process the bench forked: killed on the way out, whatever failed. */
const spawned: ChildProcess[] = [];

type Mem = { rss: number; heap: number; peers: number; collected: boolean };

async function phase(o: ClusterBenchOptions, redisUrl: string, kind: 'hash' | 'any' | 'cells', run: number): Promise<void> {
  const cells = kind === 'cells';
  const placement = cells ? 'any' : kind;
  // Cells: one stream per generator, split into one cell per node.
  const streams = cells ? o.generators : o.streams;
  const cellSize = Math.ceil(o.peers / o.generators / o.nodes);
  const big = cells ? 0 : (o.big ?? 0);
  const nodes = await Promise.all(Array.from({ length: o.nodes }, async (_, i) => {
    const child = fork(here('./tracker-server.ts'), [String(o.peers + big + streams + 1)], {
      execArgv: ['--expose-gc', ...trackerNodeFlags(), '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, P2P_BENCH_REDIS: redisUrl, P2P_BENCH_NODE: `r${run}n${i}`, ...(cells ? { P2P_BENCH_CELL_SIZE: String(cellSize) } : {}) },
    });
    spawned.push(child);
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`tracker node ${i} exited with ${code}`)));
    });
    return { child, port, base: `http://127.0.0.1:${port}`, url: `ws://127.0.0.1:${port}` };
  }));
  const metricsAll = () => Promise.all(nodes.map((n) => get(`${n.base}/metrics`)));
  const sum = (ms: string[], name: string) => ms.reduce((s, m) => s + metric(m, name), 0);
  const mem0 = await Promise.all(nodes.map((n) => ask<Mem>(n.child, { cmd: 'memory' }, 'memory')));
  const m0 = await metricsAll();

  const gens = Array.from({ length: o.generators + (big > 0 ? 1 : 0) }, () => fork(here('./tracker-load.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  spawned.push(...gens);
  const askAll = <T>(msg: object | ((i: number) => object), ev: string) => Promise.all(gens.map((g, i) => ask<T>(g, typeof msg === 'function' ? msg(i) : msg, ev)));
  const urls = nodes.map((n) => n.url);
  const tc = performance.now();
  // The big stream's generator is the last one: one stream, `big` peers.
  const share = (i: number) => (i === o.generators ? { peers: big, streams: 1 } : { peers: Math.ceil(o.peers / o.generators), streams: Math.ceil(streams / o.generators) });
  const connected = await askAll<{ joined: number; wanted: number }>((i) => ({ cmd: 'connect', url: urls[0], urls, placement, ...share(i), concurrency: 64 }), 'connected');
  const connectS = (performance.now() - tc) / 1000;
  const joined = connected.reduce((s, c) => s + c.joined, 0);
  const m1 = await metricsAll();
  const mem1 = await Promise.all(nodes.map((n) => ask<Mem>(n.child, { cmd: 'memory' }, 'memory')));
  const opsJoin = sum(m1, 'p2p_tracker_cluster_roundtrip_seconds_count') - sum(m0, 'p2p_tracker_cluster_roundtrip_seconds_count');

  const tr = performance.now();
  // The signal rate and churn are shared by the generators in proportion to their peers.
  const total = o.peers + big;
  const relayed = await askAll<{ sent: number; received: number; latencies: number[]; churned: number }>((i) => ({ cmd: 'relay', ratePerSec: (o.rate * share(i).peers) / total, seconds: o.seconds, churnPerSec: Math.ceil((o.churn * share(i).peers) / total) }), 'relayed');
  const wall = (performance.now() - tr) / 1000;
  const m2 = await metricsAll();
  const lat = relayed.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const relays = sum(m2, 'p2p_tracker_relayed_total') - sum(m1, 'p2p_tracker_relayed_total');
  const crossSig = sum(m2, 'p2p_tracker_cluster_messages_total{direction="out",kind="sig"}') - sum(m1, 'p2p_tracker_cluster_messages_total{direction="out",kind="sig"}');
  const rttP99 = (ms: string[]) => {
    // Merged round-trip histogram of all nodes over the whole run.
    const buckets = new Map<number, number>();
    for (const m of ms) for (const [, le, v] of m.matchAll(/^p2p_tracker_cluster_roundtrip_seconds_bucket\{le="([^"+]+)"\} (\d+)$/gm)) buckets.set(Number(le), (buckets.get(Number(le)) ?? 0) + Number(v));
    const total = sum(ms, 'p2p_tracker_cluster_roundtrip_seconds_count');
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    if (total === 0 || sorted.length === 0) return 'n/a (no operation timed)';
    // Past the histogram's last finite bucket the p99 is only known to be above it.
    const hit = sorted.find(([, v]) => v >= 0.99 * total);
    return hit ? `≤ ${hit[0] * 1000}` : `> ${sorted[sorted.length - 1][0] * 1000}`;
  };

  const label = cells
    ? `${streams} stream(s) of ${Math.ceil(o.peers / o.generators)} peers split into cells of ${cellSize}, peers spread over the nodes (no proxy)`
    : (placement === 'hash' ? 'peers placed by a hash of the stream id (hashing proxy)' : 'peers spread over the nodes (no proxy)') + (big > 0 ? `, plus one stream of ${big} peers` : '');
  console.log(`--- ${o.nodes} nodes, ${label}`);
  console.log(`peers joined: ${joined} of ${connected.reduce((s, c) => s + c.wanted, 0)} in ${connectS.toFixed(1)} s; per node ${mem1.map((m) => m.peers).join(' / ')}`);
  console.log(`relay latency, sender to receiver: p50 ${q(lat, 0.5).toFixed(2)} ms, p99 ${q(lat, 0.99).toFixed(2)} ms, max ${q(lat, 1).toFixed(2)} ms (${relays} relays in ${wall.toFixed(1)} s, churn ${relayed.reduce((s, r) => s + r.churned, 0)})`);
  console.log(`relays staying on one node: ${relays ? (((relays - crossSig) / relays) * 100).toFixed(1) : 'n/a'} % (${crossSig} crossed nodes)`);
  console.log(`memory per connection, per node (resident growth from the idle node over its peers, young generation's growth included, ${mem1[0]?.collected ? 'after a full GC' : 'no forced GC'}): ${mem1.map((m, i) => (m.peers ? `${((m.rss - mem0[i].rss) / m.peers / 1024).toFixed(1)} KB` : 'n/a')).join(' / ')}`);
  console.log(`Redis operations per join (join phase, all nodes, renewals included): ${(opsJoin / Math.max(1, joined)).toFixed(2)}; Redis round trip p99 ${rttP99(m2)} ms`);
  const ownedOf = async (n: { base: string }) => ((JSON.parse(await get(`${n.base}/health`).catch(() => '{}')).cluster?.owned ?? []) as Array<{ streamId: string; epoch: number }>);
  if (cells) {
    const owned = await Promise.all(nodes.map(ownedOf));
    console.log(`cells owned per node (cell 0 is the stream's own room): ${owned.map((os) => os.map((x) => (x.streamId.includes('#') ? `#${x.streamId.split('#')[1]}` : '#0')).sort().join(',') || '-').join(' / ')}; cells opened ${sum(m2, 'p2p_tracker_cluster_cells_opened_total')}`);
    console.log(`cross-cell link messages (xl) sent, whole run: ${sum(m2, 'p2p_tracker_cluster_messages_total{direction="out",kind="xl"}')}`);
  }
  console.log(`ownership changes, whole run, all nodes: ${['acquired', 'lost', 'reacquired', 'moved'].map((k) => `${k} ${sum(m2, `p2p_tracker_cluster_ownership_changes_total{kind="${k}"}`)}`).join(', ')}`);
  console.log(`cross-node messages during relay: ${['join', 'leave', 'hb', 'ev', 'sig', 'lost'].map((k) => `${k} ${sum(m2, `p2p_tracker_cluster_messages_total{direction="out",kind="${k}"}`) - sum(m1, `p2p_tracker_cluster_messages_total{direction="out",kind="${k}"}`)}`).join(', ')}`);

  // Failover: SIGKILL the owner of a stream (cells: of a cell other than cell 0), time until a surviving node owns it.
  let vi = 0;
  let victim: { streamId: string; epoch: number } | undefined;
  for (let i = 0; i < nodes.length && !victim; i++) {
    victim = (await ownedOf(nodes[i])).find((x) => !cells || x.streamId.includes('#'));
    if (victim) vi = i;
  }
  const survivors = nodes.filter((_, i) => i !== vi);
  if (victim) {
    const t0 = performance.now();
    const killedUnixMs = Date.now();
    nodes[vi].child.kill('SIGKILL');
    // Asked by stream id (a node's owned list in /health is cut at 100); the takeover time is the new
    // owner's own record of when it took the stream, so a node slow to answer /health under the
    // reconnecting peers does not lengthen it. When /health answered is printed beside it.
    let after: { epoch: number; sinceUnixMs?: number; node: string } | undefined;
    let movedBefore: { epoch: number; sinceUnixMs?: number; node: string } | undefined;
    const limit = t0 + 60_000;
    while (!after && !movedBefore && performance.now() < limit) {
      for (const n of survivors) {
        const h = JSON.parse(await get(`${n.base}/health?stream=${encodeURIComponent(victim.streamId)}`).catch(() => '{}'));
        const o = h.cluster?.stream?.owner as { node: string; epoch: number; sinceUnixMs?: number } | null | undefined;
        if (o && o.node === h.cluster?.nodeId && o.epoch > victim.epoch) {
          // Taken before the SIGKILL: the victim had already lost it (a lease that lapsed on a loaded
          // machine), so this is no takeover from a dead owner.
          if (o.sinceUnixMs !== undefined && o.sinceUnixMs < killedUnixMs) movedBefore ??= o;
          else after ??= o;
        }
      }
      if (!after) await new Promise((r) => setTimeout(r, 50));
    }
    const seenS = (performance.now() - t0) / 1000;
    // What the survivors went through meanwhile: ownership changes (a takeover lost again shows as
    // lost + a later epoch) and their longest event-loop stall since the last scrape.
    const before = survivors.map((n) => m2[nodes.indexOf(n)]);
    const afterM = await Promise.all(survivors.map((n) => get(`${n.base}/metrics`).catch(() => '')));
    const changes = ['acquired', 'lost', 'reacquired', 'moved'].map((k) => `${k} ${sum(afterM, `p2p_tracker_cluster_ownership_changes_total{kind="${k}"}`) - sum(before, `p2p_tracker_cluster_ownership_changes_total{kind="${k}"}`)}`).join(', ');
    const stalls = afterM.map((m) => `${(metric(m, 'p2p_tracker_event_loop_delay_max_seconds') * 1000).toFixed(0)} ms`).join(' / ');
    if (movedBefore) console.log(`SIGKILL of an owner: not measured, the stream had moved to a survivor ${((killedUnixMs - (movedBefore.sinceUnixMs ?? 0)) / 1000).toFixed(2)} s before the SIGKILL (epoch ${victim.epoch} → ${movedBefore.epoch}: the owner's lease lapsed under load)`);
    else console.log(after
      ? `SIGKILL of ${cells ? 'a cell owner' : 'an owner'} to a new owner: ${after.sinceUnixMs !== undefined ? `${((after.sinceUnixMs - killedUnixMs) / 1000).toFixed(2)} s by the new owner's clock` : 'n/a'}; its /health said so ${seenS.toFixed(2)} s after SIGKILL (epoch ${victim.epoch} → ${after.epoch}; lease 6 s, checks every 1.2 s)`
      : 'SIGKILL of an owner to a new owner: no new owner within 60 s');
    console.log(`survivors after SIGKILL: ownership changes ${changes}; longest event-loop stall ${stalls}`);
    console.log('frames lost by viewers meanwhile: not measured here (these peers carry no media); src/node-peer/cluster-failover.test.ts prints it with media');
  } else console.log(`SIGKILL of an owner: no node owned ${cells ? 'a cell' : 'a stream'}, not measured`);

  for (const g of gens) g.send({ cmd: 'exit' });
  await Promise.all(gens.map((g) => new Promise((r) => g.once('exit', r))));
  for (const n of survivors) n.child.send({ cmd: 'exit' });
  await Promise.all(survivors.map((n) => new Promise((r) => n.child.once('exit', r))));
}

export async function runClusterBench(o: ClusterBenchOptions): Promise<void> {
  // Past the open-file limit a node cannot accept: the bench would measure resets, not the tracker.
  const limit = openFileLimit();
  const need = socketsNeeded(o);
  if (limit !== null && limit < need) {
    console.error(`bench:tracker cluster: the open-file limit is ${limit}, and one process may hold ${need} sockets; raise it first (as root: ulimit -n ${Math.ceil(need / 1024) * 1024 * 2}) or run fewer peers`);
    process.exitCode = 2;
    return;
  }
  const redis = await startRedisServer();
  console.log(`bench:tracker cluster: ${o.nodes} node processes on one redis-server (${redis.url}), ${o.peers} peers, ${o.streams} streams${o.big ? ` plus one stream of ${o.big} peers` : ''}, ${o.generators} generators, ${o.rate} signals/s for ${o.seconds} s; machine ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);
  try {
    const list = o.placement === 'all' ? (['hash', 'any', 'cells'] as const) : o.placement === 'both' ? (['hash', 'any'] as const) : [o.placement];
    let run = 0;
    for (const p of list) await phase(o, redis.url, p, run++);
  } finally {
    for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await redis.stop();
  }
}
