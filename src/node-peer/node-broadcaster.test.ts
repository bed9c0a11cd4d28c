// The Node broadcaster's synthetic frames: sizes that are a multiple of 8 KiB where the bitrate
// allows, so the feed code's padding (64 · 128 · ceil(L / 8192) bytes per frame) adds next to
// nothing, at the bitrate asked for; and its options reach the broadcaster core.
import { afterEach, describe, expect, it } from 'vitest';
import { expectCode } from '../expect-code.ts';
import { paddedFrameBytes } from '../media/frame-format.ts';
import { startTracker } from '../tracker/server.ts';
import { frameLayout, NodeBroadcaster } from './node-broadcaster.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe('frameLayout', () => {
  it('makes frames of whole 8 KiB units at the bitrate asked for', () => {
    const table: Array<[bitrateBps: number, fps: number, frameBytes: number]> = [
      [300_000, 10, 8192], // 3750 bytes a tenth of a second: one 8 KiB frame every 218 ms
      [500_000, 10, 8192],
      [1_000_000, 10, 16384],
      [2_000_000, 10, 24576],
      [2_000_000, 25, 8192],
      [10_000_000, 10, 65536], // at most 64 KiB
    ];
    for (const [bitrateBps, fps, frameBytes] of table) {
      const l = frameLayout(bitrateBps, fps);
      expect(l.frameBytes, `${bitrateBps} bit/s`).toBe(frameBytes);
      expect(l.paddingRatio).toBe(1);
      expect((l.frameBytes * 8000) / l.intervalMs).toBeCloseTo(bitrateBps, 6);
      expect(l.intervalMs).toBeLessThanOrEqual(500);
    }
  });

  it('below 8 KiB per longest interval, sends what accrued in it and says how much is padding', () => {
    const l = frameLayout(50_000, 10); // 8 KiB would take 1.3 s
    expect(l.intervalMs).toBe(500);
    expect(l.frameBytes).toBe(3125);
    expect(l.paddingRatio).toBeCloseTo(8192 / 3125, 6);
    expect(frameLayout(50_000, 10, 2000).frameBytes).toBe(8192);
  });

  it('refuses nonsense with BAD_CONFIG', () => {
    expectCode(() => frameLayout(0, 10), 'BAD_CONFIG');
    expectCode(() => frameLayout(300_000, 0), 'BAD_CONFIG');
    expectCode(() => frameLayout(300_000, 10, 1), 'BAD_CONFIG');
  });
});

describe('NodeBroadcaster frames', () => {
  it('publishes frames that pad by nothing at 300 kbit/s, and passes spare keys to its core', async () => {
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50 });
    cleanups.push(() => tracker.close());
    const b = await NodeBroadcaster.start({ trackerUrl: `ws://127.0.0.1:${tracker.port}`, bitrateBps: 300_000, framesPerSec: 10, spareKeys: 6 });
    cleanups.push(() => b.destroy());
    const seqs = Array.from({ length: 12 }, () => b.publishNext());
    const lengths = seqs.slice(1).map((seq) => b.published.get(seq)!.length); // the first is the init frame
    const framed = lengths.reduce((n, l) => n + l, 0);
    const padded = lengths.reduce((n, l) => n + paddedFrameBytes(l), 0);
    expect(padded / framed).toBeLessThanOrEqual(1.01);
    expect(b.framesPerSec).toBeCloseTo(300_000 / 8 / 8192, 6);
    expect(b.session.core.cfg.directSpareKeys).toBe(6);
    await expect(NodeBroadcaster.start({ trackerUrl: `ws://127.0.0.1:${tracker.port}`, spareKeys: 500 })).rejects.toMatchObject({ code: 'BAD_CONFIG' });
  }, 30_000);
});
