// Test helper: a real redis-server on a free loopback port, without persistence, that a test can
// stop hard and start again on the same port. Test-only; imported by *.test.ts files. When
// redis-server is missing or does not start, it throws an error that says so and how to install it
// (`npm test` installs it with apt, see scripts/system-deps.mjs): tests never skip silently.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll } from 'vitest';

const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisTestServer {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: no shutdown save, like a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing was persisted). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedisServer(): Promise<RedisTestServer> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`these tests need a real Redis: ${REDIS_SERVER} is missing. Install it with: apt-get install -y redis-server (npm test does this when run as root)`);
  }
  const port = await freePort();
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const c = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let output = '';
    c.stdout?.on('data', (d) => (output = (output + String(d)).slice(-2000)));
    c.stderr?.on('data', (d) => (output = (output + String(d)).slice(-2000)));
    const exited = new Promise<never>((_, reject) => {
      c.once('error', (e) => reject(new Error(`redis-server could not start: ${e.message}`)));
      c.once('exit', (code) => reject(new Error(`redis-server exited with ${code} at start: ${output.trim()}`)));
    });
    exited.catch(() => {});
    // Ready when it accepts a connection and answers PING.
    const end = Date.now() + 10_000;
    for (;;) {
      const ok = await Promise.race([exited, ping(port)]);
      if (ok) return;
      if (Date.now() > end) throw new Error(`redis-server did not answer on port ${port} within 10 s: ${output.trim()}`);
      await new Promise((r) => setTimeout(r, 30));
    }
  };

  const kill = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };

  await start();
  return { url: `redis://127.0.0.1:${port}`, port, kill, start, stop: kill };
}

/**
 * One redis-server for the calling test file: started before its tests, stopped after them.
 * Returns a getter that gives the server, or throws the reason it did not start (so each test
 * that needs it fails with that message instead of being skipped).
 */
export function useRedisServer(): () => RedisTestServer {
  let redis: RedisTestServer | null = null;
  let failure: Error | null = null;
  beforeAll(async () => {
    try {
      redis = await startRedisServer();
    } catch (e) {
      failure = e as Error;
    }
  }, 20_000);
  afterAll(async () => {
    await redis?.stop();
  });
  return () => {
    if (!redis) throw failure ?? new Error('redis-server did not start');
    return redis;
  };
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += String(d);
      if (buf.includes('\r\n')) {
        s.destroy();
        resolve(buf.startsWith('+PONG'));
      }
    });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}
