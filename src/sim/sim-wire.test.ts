import { describe, expect, it } from 'vitest';
import { Wire } from './sim-wire.ts';

describe('Wire', () => {
  it('counts media not yet serialized and says when it drains below a threshold', () => {
    const w = new Wire(undefined, 100);
    for (let i = 1; i <= 40; i++) w.add(i * 10, 1000);
    expect(w.buffered(0)).toBe(40_000);
    expect(w.buffered(105)).toBe(30_000);
    expect(w.writableAt(105, 2000)).toBe(380);
    expect(w.writableAt(105, 50_000)).toBe(105);
    expect(w.buffered(400)).toBe(0);
    w.add(500, 7);
    expect(w.buffered(450)).toBe(7);
  });
});

describe('Wire.controlArrival (the reliable channels: ordered control, unordered REQUESTs)', () => {
  it('an ordered message waits for the one before it (being retransmitted); an unordered one neither waits nor holds up the next', () => {
    const w = new Wire(undefined, 100);
    // A control message lost once arrives at 400 ms (its retransmission); the next would arrive at 60 ms.
    expect(w.controlArrival(400, true)).toBe(400);
    expect(w.controlArrival(60, true)).toBe(400);
    // A REQUEST on the unordered channel arrives when it arrives, and does not move the ordered tail.
    expect(w.controlArrival(70, false)).toBe(70);
    expect(w.controlArrival(900, false)).toBe(900);
    expect(w.controlArrival(80, true)).toBe(400);
    expect(w.controlArrival(450, true)).toBe(450);
  });
});
