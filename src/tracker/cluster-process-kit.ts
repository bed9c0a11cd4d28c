// Test helpers for the cluster tests that run tracker nodes as separate processes: start
// `p2p-player-tracker --redis … --node-id …` on a free port, connect tracker clients to it, and read
// a node's /health. Everything started is stopped after each test (SIGKILL for a node still
// running). Test-only; imported by *.test.ts files, never by library code.

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { TrackerClient, type WebSocketConstructor } from '../tracker-client/tracker-client.ts';

const bin = fileURLToPath(new URL('../../bin/p2p-player-tracker.js', import.meta.url));
const WS = WebSocket as unknown as WebSocketConstructor;

export interface NodeProcess {
  child: ChildProcess;
  port: number;
  url: string;
}

export type Owned = Array<{ streamId: string; epoch: number }>;

export interface ClusterProcessKit {
  /** A tracker node process on `redisUrl` (lease 1.5 s, small holder/direct thresholds) with further flags. */
  node(nodeId: string, redisUrl: string, extraArgs?: string[]): Promise<NodeProcess>;
  /** A connected tracker client with quick reconnects. */
  client(url: string, streamId: string, extra?: Partial<ConstructorParameters<typeof TrackerClient>[0]>): TrackerClient;
  /** The streams (and cells) a node owns, from its /health; null when it does not answer. */
  owned(n: NodeProcess): Promise<Owned | null>;
}

/** Registers the after-each cleanup; call once at the top of a test file. */
export function useClusterProcesses(): ClusterProcessKit {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  });
  return {
    async node(nodeId, redisUrl, extraArgs = []) {
      const args = [bin, '--port', '0', '--host', '127.0.0.1', '--quiet', '--redis', redisUrl, '--node-id', nodeId, '--cluster-lease', '1500', '--holder-at', '4', '--direct-at', '2', ...extraArgs];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
    },
    client(url, streamId, extra = {}) {
      const c = new TrackerClient({ url, streamId, WebSocket: WS, reconnectMinMs: 50, reconnectMaxMs: 200, ...extra });
      cleanups.push(() => c.destroy());
      c.connect();
      return c;
    },
    owned(n) {
      return new Promise((resolve) => {
        http
          .get(`http://127.0.0.1:${n.port}/health`, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => {
              try {
                resolve((JSON.parse(body) as { cluster: { owned: Owned } }).cluster.owned);
              } catch {
                resolve(null);
              }
            });
          })
          .on('error', () => resolve(null));
      });
    },
  };
}
