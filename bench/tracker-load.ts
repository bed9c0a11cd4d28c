// Load generator of `npm run bench:tracker`, run as a child process: opens many real tracker
// clients (over `ws`) on loopback, publishes its share of streams, then relays signals between
// neighbours at a set rate with churn, and reports relay latencies to the parent. Not a test.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { generateStreamKey, type StreamKeyPair } from '../src/crypto/stream-key.ts';
import { TrackerClient, type WebSocketConstructor } from '../src/tracker-client/tracker-client.ts';

const WS = WebSocket as unknown as WebSocketConstructor;

interface ConnectCmd {
  cmd: 'connect';
  url: string;
  /** Tracker cluster: every node's URL. With `placement` 'hash' a stream's peers all go to one node
   * (as behind a proxy hashing the stream id), with 'any' each peer goes to a node drawn at random. */
  urls?: string[];
  placement?: 'hash' | 'any';
  peers: number;
  streams: number;
  concurrency: number;
}
interface RelayCmd {
  cmd: 'relay';
  ratePerSec: number;
  seconds: number;
  churnPerSec: number;
}
type Cmd = ConnectCmd | RelayCmd | { cmd: 'exit' };

const send = (m: unknown) => process.send?.(m);
const clients: TrackerClient[] = [];
let keys: StreamKeyPair[] = [];
let url = '';
let urls: string[] = [];
let placement: 'hash' | 'any' = 'hash';
/** The node a stream's peer connects to: by a hash of the stream id, or any node at random. */
function urlFor(streamId: string): string {
  if (urls.length < 2) return url;
  if (placement === 'any') return urls[Math.floor(Math.random() * urls.length)];
  let h = 0;
  for (let i = 0; i < streamId.length; i++) h = (h * 31 + streamId.charCodeAt(i)) >>> 0;
  return urls[h % urls.length];
}
let latencies: number[] = [];
let received = 0;
let errors = 0;
/** Milliseconds from opening the socket to the first non-empty neighbour list, for late joiners. */
let firstNeighbourMs: number[] = [];

function makeClient(streamId: string, key?: StreamKeyPair, timeFirstNeighbour = false): Promise<TrackerClient> {
  const t0 = performance.now();
  const u = urlFor(streamId);
  const c = new TrackerClient({ url: u, urls: urls.filter((x) => x !== u), streamId, WebSocket: WS, broadcasterKey: key, uploadBps: 20e6, reconnectMinMs: 1000, reconnectMaxMs: 10000 });
  c.on('signal', (s) => {
    const ts = (s.data as { ts?: number })?.ts;
    if (typeof ts === 'number') {
      received++;
      if (latencies.length < 200000) latencies.push(performance.now() - ts);
    }
  });
  c.on('error', () => errors++);
  if (timeFirstNeighbour) {
    const off = c.on('neighbours', (n) => {
      if (n.neighbours.length === 0) return;
      firstNeighbourMs.push(performance.now() - t0);
      off();
    });
  }
  return new Promise((resolve) => {
    const done = () => resolve(c);
    c.on('joined', done);
    c.on('disconnected', done);
    c.connect();
  });
}

async function connect(m: ConnectCmd): Promise<void> {
  url = m.url;
  urls = m.urls ?? [];
  placement = m.placement ?? 'hash';
  const t0 = performance.now();
  if (keys.length === 0) {
    keys = await Promise.all(Array.from({ length: m.streams }, () => generateStreamKey()));
    for (const k of keys) clients.push(await makeClient(k.streamId, k));
  }
  let next = 0;
  const worker = async () => {
    while (next < m.peers) {
      const i = clients.length + next++;
      clients.push(await makeClient(keys[i % keys.length].streamId));
    }
  };
  await Promise.all(Array.from({ length: m.concurrency }, worker));
  const joined = clients.filter((c) => c.connected).length;
  send({ ev: 'connected', joined, wanted: m.peers + m.streams, ms: performance.now() - t0 });
}

async function relay(m: RelayCmd): Promise<void> {
  latencies = [];
  firstNeighbourMs = [];
  received = 0;
  let sent = 0;
  let churned = 0;
  const pad = 'a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host generation 0 ufrag abcd network-id 1 network-cost 10'.repeat(2);
  const tickMs = 10;
  const start = performance.now();
  const end = start + m.seconds * 1000;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (performance.now() >= end) {
        clearInterval(timer);
        resolve();
        return;
      }
      // Sends what the elapsed time allows, so a late timer does not lower the rate.
      const due = Math.floor(((performance.now() - start) * m.ratePerSec) / 1000) - sent;
      for (let k = 0; k < due; k++) {
        for (let tries = 0; tries < 8; tries++) {
          const c = clients[Math.floor(Math.random() * clients.length)];
          if (!c.connected || c.neighbours.length === 0) continue;
          const to = c.neighbours[Math.floor(Math.random() * c.neighbours.length)].peerId;
          if (c.signal(to, { ts: performance.now(), candidate: pad })) sent++;
          break;
        }
      }
    }, tickMs);
    const churnTimer = setInterval(() => {
      if (performance.now() >= end) return clearInterval(churnTimer);
      for (let i = 0; i < m.churnPerSec; i++) {
        const idx = keys.length + Math.floor(Math.random() * (clients.length - keys.length));
        const old = clients[idx];
        old.destroy();
        churned++;
        void makeClient(old.config.streamId, undefined, true).then((c) => (clients[idx] = c));
      }
    }, 1000);
  });
  await new Promise((r) => setTimeout(r, 500)); // let in-flight signals land
  loop.disable();
 send({ ev: 'relayed', sent, received, churned, errors, latencies, firstNeighbourMs, loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6 });
}

process.on('message', (m: Cmd) => {
  if (m.cmd === 'connect') void connect(m);
  else if (m.cmd === 'relay') void relay(m);
  else if (m.cmd === 'exit') {
    for (const c of clients) c.destroy();
    setTimeout(() => process.exit(0), 200);
  }
});
// The bench that forked this process is gone (it failed or was killed): do not linger.
process.on('disconnect', () => process.exit(0));
