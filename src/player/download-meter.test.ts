import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DownloadMeter } from './download-meter.ts';

interface Send {
  atMs: number;
  key: number;
  bytes: number;
}
interface Arrival extends Send {
  /** This frame's last packet: the frame is delivered with it. */
  last: boolean;
}

/**
 * Packets through one bottleneck of `bytesPerMs`, in send order: each leaves the bottleneck when it
 * has been sent and the one before it has gone through (the viewer's link with its queue).
 */
function throughLink(sends: Send[], bytesPerMs: number): Arrival[] {
  let free = -Infinity;
  const lastOf = new Map<number, number>();
  sends.forEach((s, i) => lastOf.set(s.key, i));
  return sends.map((s, i) => {
    free = Math.max(s.atMs, free) + s.bytes / bytesPerMs;
    return { ...s, atMs: free, last: lastOf.get(s.key) === i };
  });
}

/** Feeds arrivals; a frame is delivered at its last packet (unless in `lost`). */
function feed(m: DownloadMeter, arrivals: Arrival[], lost: Set<number> = new Set()): void {
  for (const a of arrivals) {
    m.packet(a.key, a.bytes, a.atMs);
    if (a.last && !lost.has(a.key)) m.frameDone(a.key, a.atMs);
  }
}

/** Frames of `packets` × `bytes`, one every `everyMs`, each sent at once (a burst) or paced over `spreadMs`. */
function frames(count: number, packets: number, bytes: number, everyMs: number, spreadMs = 0): Send[] {
  const out: Send[] = [];
  for (let f = 0; f < count; f++) for (let p = 0; p < packets; p++) out.push({ atMs: 1000 + f * everyMs + (spreadMs * p) / packets, key: f, bytes });
  return out;
}

const mbps = (bps: number | null) => (bps === null ? null : bps / 1e6);

describe('DownloadMeter', () => {
  it('measures a fast link from bursts: one-frame fragments every 0.5 s through 10 Mbit/s', () => {
    const m = new DownloadMeter();
    expect(m.rateBps(0)).toBeNull();
    // 20 packets of 1000 bytes per frame: the stream runs at 320 kbit/s, the link at 10 Mbit/s.
    const arrivals = throughLink(frames(8, 20, 1000, 500), 10e6 / 8000);
    feed(m, arrivals);
    const r = m.report(arrivals.at(-1)!.atMs);
    expect(mbps(r.bps)).toBeCloseTo(10, 6);
    // The frames that ended in the last 2 s (each a period of 19 packets over 19 × 0.8 ms): the
    // stream left the link idle nearly all the time.
    expect(r.periods).toBe(5);
    expect(r.busyShare).toBeLessThan(0.05);
  });

  it('measures a saturated link at its rate, and the figure is then the stream\'s rate (busy share near 1)', () => {
    const m = new DownloadMeter();
    // 1 Mbit/s of stream through a 1 Mbit/s link: frames of 25 × 1000 bytes every 200 ms.
    const arrivals = throughLink(frames(40, 25, 1000, 200), 1e6 / 8000);
    feed(m, arrivals);
    const r = m.report(arrivals.at(-1)!.atMs);
    expect(mbps(r.bps)).toBeCloseTo(1, 6);
    expect(r.busyShare).toBeGreaterThan(0.9);
  });

  it('shows only a lower bound when the sender paces: the stream\'s rate, whatever the link could do', () => {
    const m = new DownloadMeter();
    // 40 packets of 500 bytes spread evenly over each 500 ms frame (320 kbit/s) through 50 Mbit/s.
    const arrivals = throughLink(frames(10, 40, 500, 500, 500), 50e6 / 8000);
    feed(m, arrivals);
    const bps = m.rateBps(arrivals.at(-1)!.atMs)!;
    expect(bps).toBeGreaterThan(0.3e6);
    expect(bps).toBeLessThan(0.34e6);
  });

  it('overlapping frames of a continuous stream make one busy time, cut into bounded periods for the window', () => {
    const m = new DownloadMeter();
    // Each frame's packets come over 300 ms, a new frame every 100 ms: some frame is always pending.
    const sends = frames(100, 30, 400, 100, 300).sort((a, b) => a.atMs - b.atMs);
    const arrivals = throughLink(sends, 100e6 / 8000);
    feed(m, arrivals);
    const end = arrivals.at(-1)!.atMs;
    const r = m.report(end);
    // 30 × 400 bytes per 100 ms is 0.96 Mbit/s, pending all the time: the figure is that rate.
    expect(mbps(r.bps)).toBeGreaterThan(0.9);
    expect(mbps(r.bps)).toBeLessThan(1.0);
    expect(r.busyMs).toBeLessThanOrEqual(m.config.windowMs + m.config.maxPeriodMs);
    expect(r.busyMs).toBeGreaterThan(m.config.windowMs - m.config.maxPeriodMs);
  });

  it('says nothing on too few bytes, forgets periods out of the window, and counts no period\'s first packet', () => {
    const m = new DownloadMeter({ minBytes: 1000 });
    m.packet(1, 30_000, 0); // one packet alone: nothing after it
    m.frameDone(1, 0);
    expect(m.report(0)).toMatchObject({ bps: null, bytes: 0, periods: 0 });
    m.packet(2, 500, 100);
    m.packet(2, 900, 110);
    m.frameDone(2, 110);
    expect(m.rateBps(110)).toBeNull(); // 900 < 1000
    m.packet(3, 500, 200);
    m.packet(3, 800, 204);
    m.frameDone(3, 204);
    expect(m.rateBps(204)).toBeCloseTo(((900 + 800) * 8 * 1000) / 14);
    expect(m.rateBps(204 + 2001)).toBeNull();
    m.frameDone(99, 3000); // never seen: nothing
    expect(m.rateBps(3000)).toBeNull();
  });

  it('a burst within one clock tick counts as minBusyMs', () => {
    const m = new DownloadMeter();
    for (let i = 0; i < 10; i++) m.packet(7, 1000, 50);
    m.frameDone(7, 50);
    expect(m.rateBps(50)).toBeCloseTo(9000 * 8 * 1000 / m.config.minBusyMs);
  });

  it('late pieces of a delivered frame open nothing; a frame that never completes holds no period past idleMs', () => {
    const m = new DownloadMeter();
    for (let i = 0; i < 10; i++) m.packet(1, 1000, 100 + i);
    m.frameDone(1, 109);
    // Stragglers of frame 1 long after: the link was idle, nothing pending.
    m.packet(1, 1000, 400);
    m.packet(1, 1000, 450);
    expect(m.report(450)).toMatchObject({ bytes: 9000, periods: 1 });
    // Frame 2 loses its last pieces and is never delivered: its period ends at its last packet.
    for (let i = 0; i < 10; i++) m.packet(2, 1000, 600 + i);
    const r = m.report(609 + m.config.idleMs + 1);
    expect(r).toMatchObject({ bytes: 18_000, periods: 2 });
    expect(r.busyMs).toBeCloseTo(9 + 9);
    // Frame 3 comes much later: a period of its own, not one spanning the gap.
    for (let i = 0; i < 10; i++) m.packet(3, 1000, 1200 + i * 2);
    m.frameDone(3, 1218);
    expect(m.report(1218).busyMs).toBeCloseTo(9 + 9 + 18);
    // Frame 2 is given up once silent for staleMs: a new period may start without it.
    m.report(609 + m.config.staleMs);
    expect(m.tracked).toBe(3);
  });

  it('never reads above the bottleneck, whatever the senders do; state stays bounded (property)', () => {
    const send = fc.record({ gapMs: fc.double({ min: 0, max: 400, noNaN: true }), key: fc.integer({ min: 0, max: 400 }), bytes: fc.integer({ min: 64, max: 1200 }) });
    fc.assert(fc.property(
      fc.array(send, { minLength: 1, maxLength: 400 }),
      fc.double({ min: 0.05, max: 20_000, noNaN: true }),
      fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 40 }),
      (plan, bytesPerMs, lostKeys) => {
        let t = 0;
        const sends = plan.map((p) => ({ atMs: (t += p.gapMs), key: p.key, bytes: p.bytes }));
        const arrivals = throughLink(sends, bytesPerMs);
        const m = new DownloadMeter({ maxFrames: 32 });
        const lost = new Set(lostKeys);
        for (const a of arrivals) {
          m.packet(a.key, a.bytes, a.atMs);
          if (a.last && !lost.has(a.key)) m.frameDone(a.key, a.atMs);
          const bps = m.rateBps(a.atMs);
          if (bps !== null) expect(bps).toBeLessThanOrEqual(bytesPerMs * 8000 * (1 + 1e-9) + 1e-6);
          expect(m.tracked).toBeLessThanOrEqual(64);
        }
      },
    ), { numRuns: 300 });
  });

  it('never reads below the rate the bytes came at over the window (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 2, max: 60 }),
      fc.integer({ min: 100, max: 1100 }),
      fc.integer({ min: 40, max: 1000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 1, max: 5000, noNaN: true }),
      (packets, bytes, everyMs, spreadShare, bytesPerMs) => {
        const arrivals = throughLink(frames(Math.ceil(6000 / everyMs), packets, bytes, everyMs, spreadShare * everyMs), bytesPerMs);
        const m = new DownloadMeter({ minBytes: 1 });
        feed(m, arrivals);
        const end = arrivals.at(-1)!.atMs;
        const r = m.report(end);
        // Counted bytes over the window and the one period that may reach back before it (cut at most one packet gap past maxPeriodMs).
        if (r.bps !== null) expect(r.bps).toBeGreaterThanOrEqual((r.bytes * 8 * 1000) / (m.config.windowMs + m.config.maxPeriodMs + m.config.idleMs) - 1e-6);
      },
    ), { numRuns: 200 });
  });
});
