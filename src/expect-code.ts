// Test helpers asserting that a call fails with one P2PError code (not merely that it throws).
// Every code in the README's error table is asserted through these by some test; the check
// `scripts/check-error-codes.mjs` (part of `npm test`) looks for their calls. Not imported by the library.

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
