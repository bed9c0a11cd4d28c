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
