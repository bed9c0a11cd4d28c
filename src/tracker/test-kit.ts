// Test helpers for the tracker's server tests: raw `ws` sockets that record what they receive, and
// waiting for a client event. Test-only; imported by *.test.ts files, never by library code.

import { afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { isP2PError, type P2PError } from '../errors.ts';
import type { TrackerClient, TrackerClientEvents } from '../tracker-client/tracker-client.ts';
import type { TrackerMetrics } from './metrics.ts';
import { startTracker, type Tracker, type TrackerOptions } from './server.ts';

export interface RawPeer {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first message (already received or future) matching `pred`. */
  next(pred: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  sendJson(v: unknown): void;
}

export async function rawPeer(url: string, headers?: Record<string, string>): Promise<RawPeer> {
  const ws = new WebSocket(url, headers ? { headers } : undefined);
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }> = [];
  ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return {
    ws,
    messages,
    closed,
    sendJson: (v) => ws.send(JSON.stringify(v)),
    next(pred, timeoutMs = 5000) {
      const hit = messages.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching message in ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 500)}`)), timeoutMs);
        waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
      });
    },
  };
}

/** Resolves with the next `event` of `client` whose value matches `pred`. */
export function nextEvent<K extends keyof TrackerClientEvents>(
  client: TrackerClient,
  event: K,
  pred: (v: TrackerClientEvents[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<TrackerClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new Error(`no ${event} event in ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.on(event, (v) => {
      if (!pred(v)) return;
      clearTimeout(t);
      off();
      resolve(v);
    });
  });
}

/**
 * Fails unless the first `error` message `p` received at or after message index `since` (already
 * received or future) carries `code`. It waits for any error, not for the expected one, so an
 * error with another code fails the test instead of being skipped. Returns the message.
 */
export async function expectErrorMessageCode(p: RawPeer, code: string, since = 0, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const m = await p.next((x) => x.type === 'error' && p.messages.indexOf(x) >= since, timeoutMs);
  if (m.code !== code) throw new Error(`expected an error message ${code}, got ${String(m.code)}: ${String(m.message)}`);
  return m;
}

/**
 * Fails unless the next `error` event of `client` is a P2PError with `code`. Call it before the
 * action that provokes the error and await the result after it (a wrong code rejects).
 */
export function expectClientErrorCode(client: TrackerClient, code: string, timeoutMs = 5000): Promise<P2PError> {
  const result = nextEvent(client, 'error', () => true, timeoutMs).then((e) => {
    const got: unknown = e;
    if (!isP2PError(got, code)) throw new Error(`expected a client error ${code}, got ${isP2PError(got) ? got.code : String(got)}`);
    return e;
  });
  result.catch(() => {}); // handled where the test awaits it; no unhandled rejection in between
  return result;
}

/** Fails unless the tracker has counted `code` in `rejected` exactly `count` times. */
export function expectCountedCode(metrics: TrackerMetrics, code: string, count = 1): void {
  const n = metrics.rejected.get(code) ?? 0;
  if (n !== count) throw new Error(`expected ${code} counted ${count} times, counted ${n}`);
}

/** Polls `check` until it returns true. */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A tracker clock that only moves when the test says so (no sleeps, no wall-clock assertions). */
export interface ManualClock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  /**
   * Moves time forward by `ms`, firing due intervals in order. Between firings it yields to the
   * event loop (`settleMs` of real time), so socket traffic such as pongs is processed as it would
   * be between two real timer runs.
   */
  advance(ms: number, settleMs?: number): Promise<void>;
}

export function manualClock(startMs = 1_000_000): ManualClock {
  let t = startMs;
  let nextId = 1;
  const timers = new Map<number, { fn: () => void; everyMs: number; dueMs: number }>();
  return {
    now: () => t,
    setInterval(fn, ms) {
      const id = nextId++;
      timers.set(id, { fn, everyMs: Math.max(1, ms), dueMs: t + Math.max(1, ms) });
      return id;
    },
    clearInterval(handle) {
      timers.delete(handle as number);
    },
    async advance(ms, settleMs = 0) {
      const end = t + ms;
      for (;;) {
        let next: { fn: () => void; everyMs: number; dueMs: number } | null = null;
        for (const x of timers.values()) if (x.dueMs <= end && (!next || x.dueMs < next.dueMs)) next = x;
        if (!next) break;
        t = next.dueMs;
        next.dueMs += next.everyMs;
        next.fn();
        await new Promise((r) => setTimeout(r, settleMs));
      }
      t = end;
    },
  };
}

/**
 * Trackers on 127.0.0.1 with a manual clock, and raw sockets to them that have had their welcome;
 * they and whatever the test adds to `cleanups` are closed after each test, the last made first.
 * Call once at the top of a test file.
 */
export function serverHarness(): {
  cleanups: Array<() => unknown>;
  tracker(opts?: TrackerOptions): Promise<{ t: Tracker; clock: ManualClock }>;
  raw(t: Tracker, headers?: Record<string, string>): Promise<RawPeer>;
} {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  });
  return {
    cleanups,
    async tracker(opts = {}) {
      const clock = manualClock();
      const t = await startTracker({ port: 0, host: '127.0.0.1', clock, ...opts });
      cleanups.push(() => t.close());
      return { t, clock };
    },
    async raw(t, headers) {
      const p = await rawPeer(t.url as string, headers);
      cleanups.push(() => p.ws.terminate());
      await p.next((m) => m.type === 'welcome');
      return p;
    },
  };
}
