// The virtual time the session tests run on: clocks and timers move only with advance(), real I/O
// still runs between steps, and WebCrypto work takes no virtual time.
import { afterEach, describe, expect, it } from 'vitest';
import { generateStreamKey, signBytes } from '../crypto/stream-key.ts';
import { useVirtualTime, type VirtualTime } from './session-test-kit.ts';

let vt: VirtualTime | undefined;
afterEach(() => vt?.restore());

describe('session test virtual time', () => {
  it('moves performance.now, Date and timers only by advance()', async () => {
    vt = useVirtualTime();
    const p0 = performance.now();
    const d0 = Date.now();
    const fired: number[] = [];
    setTimeout(() => fired.push(performance.now() - p0), 100);
    await new Promise((r) => setImmediate(r)); // real event-loop turns do not move virtual time
    expect(fired).toEqual([]);
    await vt.advance(99);
    expect(fired).toEqual([]);
    await vt.advance(1);
    expect(fired).toEqual([100]);
    expect(performance.now() - p0).toBe(100);
    expect(Date.now() - d0).toBe(100);
    expect(vt.elapsed()).toBe(100);
  });

  it('lets WebCrypto work finish within the step it started in, however long it takes in real time', async () => {
    const key = await generateStreamKey();
    vt = useVirtualTime();
    const t0 = performance.now();
    const doneAt: number[] = [];
    // Signatures still being made after the step's real 1 ms wait: without waiting for them, time
    // would have moved on by then.
    const data = new Uint8Array(100_000).fill(7);
    for (let i = 0; i < 300; i++) void signBytes(key, data).then(() => doneAt.push(performance.now() - t0));
    await vt.advance(5);
    expect(doneAt).toEqual(Array(300).fill(5));
  });

  it('fails until() after its limit of virtual time', async () => {
    vt = useVirtualTime();
    await expect(vt.until(() => false, 'nothing', 50)).rejects.toThrow(/no nothing within 50 ms of virtual time/);
    expect(vt.elapsed()).toBe(50);
  });
});
