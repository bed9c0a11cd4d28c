// Failover across processes: three `p2p-player-tracker --redis … --node-id …` processes share a
// real redis-server; the node owning a stream is killed with SIGKILL mid-stream. A survivor takes
// the stream over at a higher epoch (seen in its /health), the dead node's peers reconnect to the
// other nodes from their URL list, and peers on different surviving nodes signal each other.
// Fails with a clear message when redis-server cannot start.

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { TrackerClient, type WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { nextEvent, until } from './test-kit.ts';
import { useRedisServer } from './redis-test-server.ts';

const bin = fileURLToPath(new URL('../../bin/p2p-player-tracker.js', import.meta.url));
const WS = WebSocket as unknown as WebSocketConstructor;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const redisServer = useRedisServer();

interface Node {
  child: ChildProcess;
  port: number;
  url: string;
}

async function node(nodeId: string, redisUrl: string): Promise<Node> {
  const child = spawn(process.execPath, [bin, '--port', '0', '--host', '127.0.0.1', '--quiet', '--redis', redisUrl, '--node-id', nodeId, '--cluster-lease', '1500', '--holder-at', '4', '--direct-at', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let err = '';
  child.stderr?.on('data', (d) => (err = (err + String(d)).slice(-2000)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /ws:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`tracker node ${nodeId} exited early with ${code}: ${err}`)));
  });
  return { child, port, url: `ws://127.0.0.1:${port}` };
}

function client(url: string, streamId: string, extra: Partial<ConstructorParameters<typeof TrackerClient>[0]> = {}): TrackerClient {
  const c = new TrackerClient({ url, streamId, WebSocket: WS, reconnectMinMs: 50, reconnectMaxMs: 200, ...extra });
  cleanups.push(() => c.destroy());
  c.connect();
  return c;
}

async function health(n: Node): Promise<{ cluster: { owned: Array<{ streamId: string; epoch: number }> } } | null> {
  return new Promise((resolve) => {
    http
      .get(`http://127.0.0.1:${n.port}/health`, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', () => resolve(null));
  });
}

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
    const h0 = await health(ns[0]);
    const owned = h0?.cluster.owned.find((o) => o.streamId === key.streamId);
    expect(owned).toBeDefined();

    ns[0].child.kill('SIGKILL');
    // A survivor owns the stream at a higher epoch.
    let next: { streamId: string; epoch: number } | undefined;
    for (let i = 0; i < 300 && !next; i++) {
      for (const n of ns.slice(1)) next ??= (await health(n))?.cluster.owned.find((o) => o.streamId === key.streamId);
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
