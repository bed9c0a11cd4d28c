import { describe, expect, it } from 'vitest';
import type { TransportClock } from '../transport/transport-clock.ts';
import { UploadMeter } from './upload-meter.ts';

/** A clock moved by hand; `busyMs` makes every timer fire that much late (a busy event loop). */
function manualClock() {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let next = 1;
  const clock: TransportClock & { advance(ms: number): void; busyMs: number } = {
    busyMs: 0,
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.push({ at: now + ms, fn, id: next });
      return next++;
    },
    clearTimeout: (h) => {
      timers = timers.filter((t) => t.id !== h);
    },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at + clock.busyMs > end) break;
        timers.shift();
        now = t.at + clock.busyMs;
        t.fn();
      }
      now = end;
    },
  };
  return clock;
}

/** An uplink of `bps` with a queue: the session hands `offerBps`, the link sends what it can. */
function link(clock: ReturnType<typeof manualClock>, bps: number, offerBps: number) {
  let handed = 0;
  let sent = 0;
  let last = 0;
  const step = () => {
    const now = clock.now();
    const dt = now - last;
    last = now;
    handed += (offerBps * dt) / 8000;
    sent = Math.min(handed, sent + (bps * dt) / 8000);
  };
  return { bytesUp: () => (step(), handed), bytesRefused: () => 0, bufferedBytes: () => (step(), handed - sent) };
}

describe('UploadMeter', () => {
  it('reports what the uplink delivered when the session offers more than it can send', () => {
    const clock = manualClock();
    const reports: number[] = [];
    const m = new UploadMeter(link(clock, 2e6, 5e6), (bps) => reports.push(bps), { clock, reportMs: 1000 });
    m.start();
    clock.advance(5000);
    expect(reports.length).toBeGreaterThanOrEqual(4);
    // The backed-up link shows its capacity, not what the session offered.
    expect(reports[reports.length - 1]).toBeGreaterThan(1.9e6);
    expect(reports[reports.length - 1]).toBeLessThan(2.1e6);
    expect(m.last?.busyShare).toBeGreaterThan(0.9);
  });

  it('reports what was demonstrated by an idle uplink, a lower bound', () => {
    const clock = manualClock();
    const reports: number[] = [];
    const m = new UploadMeter(link(clock, 50e6, 1e6), (bps) => reports.push(bps), { clock });
    m.start();
    clock.advance(3000);
    expect(reports[reports.length - 1]).toBeGreaterThan(0.9e6);
    expect(reports[reports.length - 1]).toBeLessThan(1.1e6);
  });

  it('scales the figure down when its own timers run late (event-loop lag)', () => {
    const clock = manualClock();
    const reports: number[] = [];
    const m = new UploadMeter(link(clock, 50e6, 4e6), (bps) => reports.push(bps), { clock });
    m.start();
    clock.advance(3000);
    const prompt = reports[reports.length - 1];
    clock.busyMs = 400;
    clock.advance(30_000);
    expect(m.last!.lagMs).toBeGreaterThan(300);
    // Its buffers never backed up, but the late event loop makes it a limited peer, not an idle one.
    expect(m.last!.busyShare).toBe(0);
    expect(m.last!.limitedShare).toBeGreaterThan(0.5);
    expect(reports[reports.length - 1]).toBeLessThan(prompt / 2);
  });

  it('reports nothing before it has a sample, and stops', () => {
    const clock = manualClock();
    const reports: number[] = [];
    const m = new UploadMeter(link(clock, 1e6, 1e6), (bps) => reports.push(bps), { clock, reportMs: 1000 });
    m.start();
    clock.advance(900);
    expect(reports).toEqual([]);
    clock.advance(200);
    expect(reports).toHaveLength(1);
    m.stop();
    clock.advance(5000);
    expect(reports).toHaveLength(1);
  });
});
