// Test helpers for the tracker's server tests: raw `ws` sockets that record what they receive, and
// waiting for a client event. Test-only; imported by *.test.ts files, never by library code.

import { WebSocket } from 'ws';
import type { TrackerClient, TrackerClientEvents } from '../tracker-client/tracker-client.ts';

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

/** Polls `check` until it returns true. */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
