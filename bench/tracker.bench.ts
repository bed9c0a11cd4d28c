// `npm run bench:tracker`: starts the tracker and load generators as separate processes (real
// `ws` clients on loopback), holds N peers across many streams with joins and leaves, relays
// signals between neighbours, and prints peers held, relayed messages/s, relay latency p50/p99,
// memory per connected peer and tracker CPU. Bounded in count and time. Not a test.
//
// Flags: --peers 10000 --streams 100 --generators 2 --seconds 20 --rate 2000 --churn 20 [--semi-space MB] [--v8-flags "--flag ..."] [--profile DIR] [--heap-snapshot FILE] [--heap-sampling FILE [--promoted | --allocations]]
// Cluster: --nodes 3 --redis [--placement hash|any|cells|both|all] [--big N] runs tracker-cluster.bench.ts instead.

import { fork } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { trackerNodeFlags } from './tracker-node-flags.ts';

const { values: o } = parseArgs({
  options: {
    peers: { type: 'string', default: '10000' },
    streams: { type: 'string', default: '100' },
    generators: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '2000' },
    churn: { type: 'string', default: '20' },
    /** V8 young-generation semi-space of the tracker, MB (default: the installed command's; 0: V8's). */
    'semi-space': { type: 'string' },
    /** More V8 flags for the tracker, space-separated (e.g. "--single-threaded-gc"), to try one against the shipped set. */
    'v8-flags': { type: 'string' },
    /** Writes a V8 CPU profile of the tracker into this folder. */
    profile: { type: 'string' },
    /** Writes V8's sampling heap profile of the relay phase to this file: where the objects still alive at its end were allocated. */
    'heap-sampling': { type: 'string' },
    /** With --heap-sampling: also the objects a full collection freed during the phase (promoted objects that died in the old generation, and whatever dead objects the young generation held at that collection), not only what is alive at its end. A scavenge runs before the profile is read. */
    promoted: { type: 'boolean' },
    /** With --heap-sampling: every allocation of the phase, whether it died young or not (where the allocation rate, and so the scavenges, come from). */
    allocations: { type: 'boolean' },
    /** Writes a heap snapshot of the tracker to this file once every peer is connected (before the load). */
    'heap-snapshot': { type: 'string' },
    /** Tracker nodes sharing a redis-server (tracker-cluster.bench.ts). */
    nodes: { type: 'string' },
    redis: { type: 'boolean' },
    placement: { type: 'string', default: 'all' },
    /** Cluster: one more stream of this many peers, from a generator of its own (hash and any placements). */
    big: { type: 'string', default: '0' },
  },
});
if (o.redis || Number(o.nodes ?? 1) > 1) {
  const { runClusterBench } = await import('./tracker-cluster.bench.ts');
  const placement = o.placement === 'hash' || o.placement === 'any' || o.placement === 'cells' || o.placement === 'both' ? o.placement : 'all';
  await runClusterBench({ nodes: Math.max(1, Number(o.nodes ?? 3)), peers: Number(o.peers), streams: Number(o.streams), generators: Math.max(1, Number(o.generators)), seconds: Math.min(60, Number(o.seconds)), rate: Number(o.rate), churn: Number(o.churn), placement, big: Math.max(0, Number(o.big)) });
  process.exit(process.exitCode ?? 0);
}
const peers = Number(o.peers);
const streams = Number(o.streams);
const gens = Math.max(1, Number(o.generators));
const seconds = Math.min(60, Number(o.seconds));
const rate = Number(o.rate);
const churn = Number(o.churn);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
// The tracker and the generators are stopped with it: a bench that runs out of time must not leave
// a tracker holding 10 000 sockets behind.
// Bounds: 4 minutes to connect and join every peer (a shared, loaded machine took two), then the
// relay phase plus 90 s.
const spawned: import('node:child_process').ChildProcess[] = [];
const bound = (ms: number, what: string) =>
  setTimeout(() => {
    console.error(`bench:tracker: ${what} over its bound of ${ms / 1000} s, stopping`);
    for (const c of spawned) c.kill('SIGKILL');
    process.exit(1);
  }, ms);
let deadline = bound(240_000, 'connect');

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}
const q = (a: number[], p: number) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : NaN);

// The tracker runs in its own process (the CLI's startTracker with bench limits), with the V8 flags
// of the installed command and --expose-gc so memory is read after a full collection.
const trackerFlags = [...trackerNodeFlags(o['semi-space']), ...(o['v8-flags'] ?? '').split(/\s+/).filter((f) => f.startsWith('--'))];
console.log(`tracker V8 flags: ${trackerFlags.join(' ') || "(V8's defaults)"}`);
const tracker = fork(here('./tracker-server.ts'), [String(peers + streams)], {
  execArgv: ['--expose-gc', ...trackerFlags, ...(o.profile ? ['--cpu-prof', `--cpu-prof-dir=${o.profile}`] : []), '--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
spawned.push(tracker);
const trackerAsk = <T>(cmd: string | { cmd: string; [k: string]: unknown }, ev: string): Promise<T> =>
  new Promise((resolve) => {
    const on = (m: { ev: string } & T) => {
      if (m.ev !== ev) return;
      tracker.off('message', on);
      resolve(m);
    };
    tracker.on('message', on);
    tracker.send(typeof cmd === 'string' ? { cmd } : cmd);
  });
const port = await new Promise<number>((resolve, reject) => {
  tracker.once('message', (m: { port: number }) => resolve(m.port));
  tracker.once('exit', (code) => reject(new Error(`tracker exited with ${code}`)));
});
const base = `http://127.0.0.1:${port}`;
type Mem = { rss: number; heap: number; heapTotal: number; external: number; arrayBuffers: number; newSpace: number; peers: number; collected: boolean };
const mem0 = await trackerAsk<Mem>('memory', 'memory');

const children = Array.from({ length: gens }, () => fork(here('./tracker-load.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
spawned.push(...children);
const ask = <T>(msg: object, ev: string): Promise<T[]> =>
  Promise.all(children.map((c) => new Promise<T>((resolve) => {
    const on = (m: { ev: string } & T) => {
      if (m.ev !== ev) return;
      c.off('message', on);
      resolve(m);
    };
    c.on('message', on);
    c.send(msg);
  })));

console.log(`bench:tracker: ${peers} peers, ${streams} streams, ${gens} generator processes, tracker pid ${tracker.pid} on port ${port}`);
// Two connect steps: memory per peer is the slope between them (fixed costs such as V8's young
// generation and compiled code cancel out), and the average over all peers from the idle start.
const tc = performance.now();
const url = `ws://127.0.0.1:${port}`;
const half = Math.ceil(peers / gens / 2);
const connected = await ask<{ joined: number; wanted: number; ms: number }>({ cmd: 'connect', url, peers: half, streams: Math.ceil(streams / gens), concurrency: 64 }, 'connected');
const memHalf = await trackerAsk<Mem>('memory', 'memory');
const connected2 = await ask<{ joined: number; wanted: number; ms: number }>({ cmd: 'connect', url, peers: Math.ceil(peers / gens) - half, streams: 0, concurrency: 64 }, 'connected');
const connectS = (performance.now() - tc) / 1000;
const mem1 = await trackerAsk<Mem>('memory', 'memory');
if (o['heap-snapshot']) await trackerAsk({ cmd: 'heap-snapshot', file: o['heap-snapshot'] }, 'heap-snapshot');
const m1 = await get(`${base}/metrics`);
const held = mem1.peers;
const heldHalf = memHalf.peers;
const slope = (k: 'rss' | 'heap' | 'heapTotal' | 'external' | 'newSpace') => (mem1[k] - memHalf[k]) / (held - heldHalf);
const rssPer = (mem1.rss - mem0.rss) / held;
const heapPer = (mem1.heap - mem0.heap) / held;

clearTimeout(deadline);
deadline = bound(seconds * 1000 + 90_000, 'relay');
const cpu1 = metric(m1, 'process_cpu_seconds_total');
if (o['heap-sampling']) await trackerAsk({ cmd: 'heap-sampling-start', promoted: !!o.promoted || !!o.allocations, allocations: !!o.allocations }, 'heap-sampling-start');
await trackerAsk('relay-start', 'relay-start');
const tr = performance.now();
const relayed = await ask<{ sent: number; received: number; churned: number; errors: number; latencies: number[]; firstNeighbourMs: number[]; loopP99Ms: number; loopMaxMs: number }>(
  { cmd: 'relay', ratePerSec: rate / gens, seconds, churnPerSec: Math.ceil(churn / gens) }, 'relayed');
const wall = (performance.now() - tr) / 1000;
const m2 = await get(`${base}/metrics`);
type GcKind = { count: number; totalMs: number; maxMs: number };
const st = await trackerAsk<{
  gc: GcKind & { p99Ms: number; minor: GcKind; major: GcKind };
  loop: { split: boolean; lateP50: number; lateP99: number; lateMax: number; ownP99: number; ownMax: number; runP99: number; runMax: number; waitShare: number; runMs: number; wallMs: number };
  cpuMs: number;
}>('relay-stats', 'relay-stats');
if (o['heap-sampling']) await trackerAsk({ cmd: 'heap-sampling-stop', file: o['heap-sampling'] }, 'heap-sampling-stop');
const gcs = st.gc;
const cpu = (metric(m2, 'process_cpu_seconds_total') - cpu1) / wall;
const lat = relayed.flatMap((r) => r.latencies).sort((a, b) => a - b);
const received = relayed.reduce((s, r) => s + r.received, 0);
const sent = relayed.reduce((s, r) => s + r.sent, 0);
const relayedByTracker = metric(m2, 'p2p_tracker_relayed_total') - metric(m1, 'p2p_tracker_relayed_total');
const msgs = [...m2.matchAll(/^p2p_tracker_messages_total\{type="(\w+)"\} (\d+)$/gm)].map(([, t, v]) => `${t} ${v}`).join(', ');

console.log(`peers held: ${held} of ${connected.reduce((s, c) => s + c.wanted, 0) + connected2.reduce((s, c) => s + c.wanted, 0)} (connect + join of all in ${connectS.toFixed(1)} s)`);
console.log(`relayed: ${relayedByTracker} signals in ${wall.toFixed(1)} s = ${(relayedByTracker / seconds).toFixed(0)} msg/s over the ${seconds} s of load (sent ${sent}, received ${received}, churn ${relayed.reduce((s, r) => s + r.churned, 0)} leave+join)`);
console.log(`relay latency, sender to receiver over the tracker: p50 ${q(lat, 0.5).toFixed(2)} ms, p99 ${q(lat, 0.99).toFixed(2)} ms, max ${q(lat, 1).toFixed(2)} ms`);
const buckets = [...m2.matchAll(/^p2p_tracker_relay_latency_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map(([, le, v]) => [Number(le), Number(v)] as const);
const count = metric(m2, 'p2p_tracker_relay_latency_seconds_count');
const inside = (p: number) => (buckets.find(([, v]) => v >= p * count)?.[0] ?? NaN) * 1000;
console.log(`relay time inside the tracker (receive to send): mean ${((metric(m2, 'p2p_tracker_relay_latency_seconds_sum') / Math.max(1, count)) * 1000).toFixed(3)} ms, p99 ≤ ${inside(0.99)} ms`);
const firstN = relayed.flatMap((r) => r.firstNeighbourMs).sort((a, b) => a - b);
console.log(`late joiner, socket open to first neighbour list: p50 ${q(firstN, 0.5).toFixed(1)} ms, p99 ${q(firstN, 0.99).toFixed(1)} ms (${firstN.length} joins during load)`);
const gcNote = mem1.collected ? 'after a full GC' : 'without a forced GC';
console.log(`memory per connected peer, marginal (${heldHalf} → ${held} peers, ${gcNote}): ${(slope('rss') / 1024).toFixed(1)} KB resident, ${(slope('heap') / 1024).toFixed(1)} KB V8 heap`);
const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
console.log(`tracker memory at ${held} peers: resident ${(mem1.rss / 2 ** 20).toFixed(0)} MB = V8 heap committed ${(mem1.heapTotal / 2 ** 20).toFixed(0)} MB (young generation ${(mem1.newSpace / 2 ** 20).toFixed(0)} MB, used ${(mem1.heap / 2 ** 20).toFixed(0)} MB) + buffers outside the heap ${(mem1.external / 2 ** 20).toFixed(0)} MB + the rest (code, native sockets, malloc) ${((mem1.rss - mem1.heapTotal - mem1.external) / 2 ** 20).toFixed(0)} MB; idle: resident ${(mem0.rss / 2 ** 20).toFixed(0)} MB, young generation ${(mem0.newSpace / 2 ** 20).toFixed(0)} MB`);
console.log(`memory per connected peer, marginal, by part: heap committed ${kb(slope('heapTotal'))} (of it young generation ${kb(slope('newSpace'))}), buffers outside the heap ${kb(slope('external'))}, the rest ${kb(slope('rss') - slope('heapTotal') - slope('external'))}`);
console.log(`memory per connected peer, average from the idle tracker (${gcNote}): ${(rssPer / 1024).toFixed(1)} KB resident, ${(heapPer / 1024).toFixed(1)} KB V8 heap`);
console.log(`event loop delay p99 / max: tracker ${(metric(m2, 'p2p_tracker_event_loop_delay_p99_seconds') * 1000).toFixed(1)} / ${(metric(m2, 'p2p_tracker_event_loop_delay_max_seconds') * 1000).toFixed(1)} ms; generators ${relayed.map((r) => `${r.loopP99Ms.toFixed(1)} / ${r.loopMaxMs.toFixed(1)} ms`).join(', ')}`);
const lp = st.loop;
console.log(`tracker event loop, 10 ms sampler during relay: late p50 ${lp.lateP50.toFixed(1)} ms, p99 ${lp.lateP99.toFixed(1)} ms, max ${lp.lateMax.toFixed(1)} ms; ${lp.split ? `lateness minus the main thread's wait for a core: p99 ${lp.ownP99.toFixed(1)} ms, max ${lp.ownMax.toFixed(1)} ms; main thread CPU per 10 ms turn p99 ${lp.runP99.toFixed(1)} ms, max ${lp.runMax.toFixed(1)} ms; main thread waited for a core ${((lp.waitShare) * 100).toFixed(1)} % of the time` : 'no schedstat here: own work and waiting for a core not split'}`);
const gk = (k: GcKind) => `${k.count} (${k.totalMs.toFixed(0)} ms, max ${k.maxMs.toFixed(1)} ms)`;
console.log(`tracker GC pauses during relay: ${gcs.count}, ${gcs.totalMs.toFixed(0)} ms in all, p99 ${gcs.p99Ms.toFixed(1)} ms, max ${gcs.maxMs.toFixed(1)} ms; scavenges ${gk(gcs.minor)}, mark-compacts ${gk(gcs.major)}; longest slice of room ticks ${(metric(m2, 'p2p_tracker_tick_slice_max_seconds') * 1000).toFixed(1)} ms`);
console.log(`tracker CPU during relay: ${(cpu * 100).toFixed(0)} % of one core; per relayed signal (all the tracker's work over the phase: heartbeats, churn, ticks, pings included) ${((st.cpuMs * 1000) / Math.max(1, relayedByTracker)).toFixed(0)} µs process, ${lp.split ? `${((lp.runMs * 1000) / Math.max(1, relayedByTracker)).toFixed(0)} µs main thread` : 'main thread n/a'}`);
const sentByType = [...m2.matchAll(/^p2p_tracker_sent_messages_total\{type="(\w+)"\} (\d+)$/gm)].map(([, t, v]) => `${t} ${Number(v) - (metric(m1, `p2p_tracker_sent_messages_total{type="${t}"}`) || 0)}`).join(', ');
console.log(`tracker messages sent during relay: ${sentByType || 'n/a'}`);
// Heartbeats and fan-out vary from run to run (role holders heartbeat every second), so the
// tracker's cost is also given per message it handled, in or out.
const total = (text: string, name: string) => [...text.matchAll(new RegExp(`^${name}\\{type="\\w+"\\} (\\d+)$`, 'gm'))].reduce((a, [, v]) => a + Number(v), 0);
const handled = total(m2, 'p2p_tracker_messages_total') - total(m1, 'p2p_tracker_messages_total') + total(m2, 'p2p_tracker_sent_messages_total') - total(m1, 'p2p_tracker_sent_messages_total');
console.log(`tracker CPU per message handled (received + sent, ${handled} during relay): ${((st.cpuMs * 1000) / Math.max(1, handled)).toFixed(1)} µs process${lp.split ? `, ${((lp.runMs * 1000) / Math.max(1, handled)).toFixed(1)} µs main thread` : ''}`);
let pressure = 'n/a';
try {
  pressure = `${/^some .*avg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1]} %`;
} catch {
  // not Linux, or no pressure stall information
}
console.log(`machine: ${os.cpus().length} cores, load average (1 min) ${os.loadavg()[0].toFixed(1)}, CPU pressure (share of time some task waited for a CPU, last 60 s) ${pressure}`);
console.log(`tracker messages received: ${msgs}; rejected: ${[...m2.matchAll(/^p2p_tracker_rejected_total\{code="(\w+)"\} (\d+)$/gm)].map(([, c, v]) => `${c} ${v}`).join(', ') || 'none'}`);

for (const c of children) c.send({ cmd: 'exit' });
await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
tracker.send({ cmd: 'exit' });
await new Promise((r) => tracker.once('exit', r));
clearTimeout(deadline);
