// Virtual time for the session tests: every timer and clock the sessions, the tracker, its clients
// and the memory transport read (setTimeout, setInterval, Date, performance.now) is faked, and the
// test moves time in small steps. Between steps real I/O runs (loopback sockets), and time does not
// move while a WebCrypto operation is under way (they are counted), so signing and verifying take no
// virtual time: a slow or busy machine makes a test take longer in real time, never a frame late.
// Test-only; imported by *.test.ts files, never by library code.

import { vi } from 'vitest';

// Captured before any test fakes them: the real event loop, to let sockets and crypto run.
const realSetTimeout = globalThis.setTimeout;
const realSetImmediate = globalThis.setImmediate;

export interface VirtualTime {
  /** Virtual milliseconds since useVirtualTime(). */
  elapsed(): number;
  /** Moves virtual time forward by `ms`, in steps, letting real I/O run between steps. */
  advance(ms: number): Promise<void>;
  /** Advances until `check()` holds; fails after `maxMs` of virtual time. */
  until(check: () => boolean, what: string, maxMs?: number): Promise<void>;
  restore(): void;
}

const SUBTLE_METHODS = ['sign', 'verify', 'digest', 'importKey', 'exportKey', 'generateKey'] as const;
/** WebCrypto operations started and not yet settled. */
let cryptoInFlight = 0;

/** Counts WebCrypto operations in flight; returns the undo. */
function countCrypto(): () => void {
  const subtle = globalThis.crypto.subtle as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const name of SUBTLE_METHODS) {
    const original = subtle[name];
    subtle[name] = (...args: unknown[]) => {
      cryptoInFlight++;
      const done = () => void cryptoInFlight--;
      const p = original.apply(globalThis.crypto.subtle, args);
      p.then(done, done);
      return p;
    };
  }
  return () => {
    for (const name of SUBTLE_METHODS) delete subtle[name];
  };
}

/**
 * Lets real work run before time moves on: a real 1 ms wait and a poll phase (socket reads), then
 * more real waits while WebCrypto operations are under way (at most 5 s, then time moves anyway).
 */
async function settle(): Promise<void> {
  await new Promise((r) => realSetTimeout(r, 1));
  await new Promise((r) => realSetImmediate(r));
  for (let i = 0; cryptoInFlight > 0 && i < 5000; i++) await new Promise((r) => realSetTimeout(r, 1));
}

export function useVirtualTime(stepMs = 5): VirtualTime {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
  const uncount = countCrypto();
  let elapsed = 0;
  const advance = async (ms: number) => {
    for (let left = ms; left > 0; left -= stepMs) {
      const step = Math.min(stepMs, left);
      await vi.advanceTimersByTimeAsync(step);
      elapsed += step;
      await settle();
    }
  };
  return {
    elapsed: () => elapsed,
    advance,
    async until(check, what, maxMs = 20_000) {
      const end = elapsed + maxMs;
      while (!check()) {
        if (elapsed >= end) throw new Error(`no ${what} within ${maxMs} ms of virtual time`);
        await advance(stepMs);
      }
    },
    restore: () => {
      uncount();
      vi.useRealTimers();
    },
  };
}
