// Test helpers asserting that a call fails with one P2PError code (not merely that it throws), or
// that an error reported by an event or a page carries one.
// Every code in the README's error table is asserted through these by some test (unit tests, and
// browser specs in e2e/); the check `scripts/check-error-codes.mjs` (part of `npm test`) looks for
// their calls. Not imported by the library.

import { isP2PError } from './errors.ts';

/** Fails unless `fn` throws a P2PError with `code`. */
export function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    if (isP2PError(e, code)) return;
    throw new Error(`expected P2PError ${code}, got ${String(e)}`);
  }
  throw new Error(`expected P2PError ${code}, nothing thrown`);
}

/** Fails unless `promise` (or the promise `fn` returns) rejects with a P2PError with `code`. */
export async function expectRejectCode(promise: Promise<unknown> | (() => Promise<unknown>), code: string): Promise<void> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    if (isP2PError(e, code)) return;
    throw new Error(`expected P2PError ${code}, got ${String(e)}`);
  }
  throw new Error(`expected P2PError ${code}, nothing thrown`);
}

/**
 * Fails unless an error reported rather than thrown carries `code`: an event's or a page's
 * `{ code }`, or its text (`CODE: message…`, as a P2PError's message starts).
 */
export function expectReportedCode(reported: object | string | null | undefined, code: string): void {
  const got = typeof reported === 'string' ? /^([A-Z][A-Z0-9_]{2,}):/.exec(reported)?.[1] : (reported as { code?: unknown } | null | undefined)?.code;
  if (got === code) return;
  throw new Error(`expected a reported error ${code}, got ${reported === undefined || reported === null ? 'none' : JSON.stringify(reported)}`);
}
