import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeMessage, type WireMessage } from '../protocol/wire.ts';
import { zeroView } from './identity-codec.ts';
import { CrossingWriter, readCrossings, ROOM_CALL_TO, roomCallOf } from './sim-exchange.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u8 = fc.integer({ min: 0, max: 255 });
const len = fc.integer({ min: 0, max: 1024 });
const message: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.record({ type: fc.constant('feed' as const), seq: u32, x: u8, payload: len.map(zeroView) }),
  fc.record({ type: fc.constant('seed' as const), seq: u32, c: u8, g: fc.integer({ min: 0, max: 31 }), payload: len.map(zeroView) }),
  fc.record({ type: fc.constant('cs-chunk' as const), seq: u32, c: u8, chunk: fc.integer({ min: 0, max: 7 }), chunks: fc.integer({ min: 1, max: 8 }), payload: len.map(zeroView) }),
  fc.record({ type: fc.constant('manifest-request' as const), seq: u32 }),
  fc.record({ type: fc.constant('seed-request' as const), seq: u32, g: fc.integer({ min: 0, max: 31 }) }),
  fc.record({ type: fc.constant('have' as const), entries: fc.array(fc.record({ seq: fc.integer({ min: 1000, max: 1200 }), flags: fc.constant(0), keys: fc.uniqueArray(u8, { maxLength: 20 }) }), { maxLength: 5 }) })
    .map((m) => ({ ...m, entries: m.entries.filter((e, i, a) => a.findIndex((o) => o.seq === e.seq) === i) })),
);

describe('crossings between parts of a parallel simulation', () => {
  it('come out as they went in: identity media as zero payloads of their length, control as its wire bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.double({ min: 0, max: 1e7, noNaN: true }), from: u32, to: u32, size: fc.integer({ min: 0, max: 70000 }), control: fc.boolean(), m: message }), { maxLength: 60 }), (items) => {
        const w = new CrossingWriter();
        for (const c of items) w.add(c.at, c.from, c.to, c.size, c.control, c.m);
        expect(w.count).toBe(items.length);
        const out = [...readCrossings(w.take())];
        expect(w.count).toBe(0);
        expect(out).toHaveLength(items.length);
        out.forEach((c, i) => {
          const want = items[i];
          expect([c.at, c.from, c.to, c.size, c.control]).toEqual([want.at, want.from, want.to, want.size, want.control]);
          if (c.msg instanceof Uint8Array) expect(c.msg).toEqual(encodeMessage(want.m));
          else expect(c.msg).toEqual(want.m);
        });
      }),
    );
  });

  it('room calls (complaints, failed pairs) cross among messages and come out as they went in', () => {
    const w = new CrossingWriter();
    w.add(5, 1, 2, 10, true, { type: 'manifest-request', seq: 7 });
    w.addRoomCall({ at: 12.5, from: 3, kind: 12, other: 'p-9', key: 41, reason: 'withheld' });
    w.addRoomCall({ at: 13, from: 4, kind: 11, other: 'p-1' });
    w.addReport(6, 1e6, 0.25);
    const out = [...readCrossings(w.take())];
    expect(out.map((c) => c.to)).toEqual([2, ROOM_CALL_TO, ROOM_CALL_TO, 0xffffffff]);
    expect(roomCallOf(out[1])).toEqual({ at: 12.5, from: 3, kind: 12, other: 'p-9', key: 41, reason: 'withheld' });
    expect(roomCallOf(out[2])).toEqual({ at: 13, from: 4, kind: 11, other: 'p-1' });
    expect([out[3].from, out[3].size, out[3].at]).toEqual([6, 1e6, 0.25]);
  });

  it('an empty window hands over an empty buffer', () => {
    const w = new CrossingWriter();
    expect([...readCrossings(w.take())]).toEqual([]);
  });
});
