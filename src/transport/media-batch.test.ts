// The media channel's batch framing on its own: what goes in comes out (property runs over random
// messages, the writer's size and count bounds, the marker escape), and every hostile batch is a
// named refusal that never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCH_ENTRY_HEADER_BYTES,
  BATCH_HEADER_BYTES,
  BATCH_MARKER,
  BatchWriter,
  MAX_BATCH_MESSAGES,
  batchSize,
  encodeBatch,
  isBatch,
  parseBatch,
} from './media-batch.ts';
import { MEDIA_MESSAGE_LIMIT_BYTES } from './transport.ts';

const message = (maxBytes: number) => fc.uint8Array({ minLength: 1, maxLength: maxBytes });
const le16 = (n: number) => [n & 0xff, n >> 8];

/** Feeds messages to a writer the way the transport does: take when the next one does not fit. */
function writeAll(messages: Uint8Array[], maxBytes: number): Uint8Array[] {
  const w = new BatchWriter(maxBytes);
  const out: Uint8Array[] = [];
  for (const m of messages) {
    if (!w.fits(m.byteLength)) out.push(w.take()!);
    expect(w.fits(m.byteLength)).toBe(true);
    w.append(m);
  }
  const last = w.take();
  if (last) out.push(last);
  return out;
}

/** What a receiver makes of the datachannel messages: batches split, others as they are. */
function readAll(sent: Uint8Array[]): Uint8Array[] {
  return sent.flatMap((m) => {
    if (!isBatch(m)) return [m];
    const r = parseBatch(m);
    if (!r.ok) throw new Error(`refused: ${r.reason}`);
    return r.messages;
  });
}

describe('batch framing', () => {
  it('round-trips any 1 … 64 messages, byte for byte and in order', () => {
    fc.assert(
      fc.property(fc.array(message(300), { minLength: 1, maxLength: MAX_BATCH_MESSAGES }), (messages) => {
        const batch = encodeBatch(messages);
        expect(batch.byteLength).toBe(batchSize(messages.map((m) => m.byteLength)));
        expect(isBatch(batch)).toBe(true);
        const r = parseBatch(batch);
        expect(r).toEqual({ ok: true, messages });
      }),
    );
  });

  it('through the writer: every datachannel message within its bound, the messages unchanged', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: MEDIA_MESSAGE_LIMIT_BYTES }).chain((maxBytes) =>
          fc.tuple(fc.constant(maxBytes), fc.array(message(maxBytes - BATCH_HEADER_BYTES - BATCH_ENTRY_HEADER_BYTES), { maxLength: 200 })),
        ),
        ([maxBytes, messages]) => {
          const sent = writeAll(messages, maxBytes);
          for (const m of sent) {
            expect(m.byteLength).toBeLessThanOrEqual(maxBytes);
            if (isBatch(m)) expect(m[1]).toBeLessThanOrEqual(MAX_BATCH_MESSAGES);
          }
          expect(readAll(sent)).toEqual(messages);
        },
      ),
    );
  });

  it('sends a lone message as itself, unless it starts with the marker', () => {
    const w = new BatchWriter(MEDIA_MESSAGE_LIMIT_BYTES);
    expect(w.take()).toBeUndefined();
    w.append(new Uint8Array([1, 18, 3]));
    expect(w.pendingBytes).toBe(BATCH_HEADER_BYTES + BATCH_ENTRY_HEADER_BYTES + 3);
    expect([...w.take()!]).toEqual([1, 18, 3]);
    expect(w.pendingBytes).toBe(0);
    w.append(new Uint8Array([BATCH_MARKER, 5]));
    const framed = w.take()!;
    expect([...framed]).toEqual([BATCH_MARKER, 1, ...le16(2), BATCH_MARKER, 5]);
    expect(parseBatch(framed)).toEqual({ ok: true, messages: [new Uint8Array([BATCH_MARKER, 5])] });
  });

  it('packs eight feed packets of an 8 KiB frame (135 bytes each) into one message of 1 098 bytes, not nine', () => {
    const w = new BatchWriter(MEDIA_MESSAGE_LIMIT_BYTES);
    for (let i = 0; i < 8; i++) {
      expect(w.fits(135)).toBe(true);
      expect(w.costOf(135)).toBe((i === 0 ? BATCH_HEADER_BYTES : 0) + BATCH_ENTRY_HEADER_BYTES + 135);
      w.append(new Uint8Array(135).fill(i + 1));
    }
    expect(w.fits(135)).toBe(false);
    expect(w.pendingBytes).toBe(1098);
    expect(w.payloadBytes).toBe(8 * 135);
    expect(w.count).toBe(8);
  });

  it('holds at most 64 messages whatever their size', () => {
    const sent = writeAll(Array.from({ length: 130 }, (_, i) => new Uint8Array([i + 1])), MEDIA_MESSAGE_LIMIT_BYTES);
    expect(sent.map((m) => m[1])).toEqual([64, 64, 2]);
  });

  it('copies what it is given: the caller may reuse its buffer at once', () => {
    const w = new BatchWriter(100);
    const buf = new Uint8Array([1, 2, 3]);
    w.append(buf);
    buf.fill(9);
    w.append(buf);
    const r = parseBatch(w.take()!);
    expect(r.ok && r.messages.map((m) => [...m])).toEqual([[1, 2, 3], [9, 9, 9]]);
  });
});

describe('hostile batches', () => {
  const refused = (bytes: number[]) => parseBatch(new Uint8Array(bytes));

  it('are refused with a reason, never thrown', () => {
    expect(refused([BATCH_MARKER])).toEqual({ ok: false, reason: 'truncated' });
    expect(refused([BATCH_MARKER, 0])).toEqual({ ok: false, reason: 'bad-count' });
    expect(refused([BATCH_MARKER, MAX_BATCH_MESSAGES + 1, ...le16(1), 7])).toEqual({ ok: false, reason: 'bad-count' });
    expect(refused([BATCH_MARKER, 255])).toEqual({ ok: false, reason: 'bad-count' });
    expect(refused([BATCH_MARKER, 1, ...le16(0)])).toEqual({ ok: false, reason: 'empty-message' });
    expect(refused([BATCH_MARKER, 1, 3])).toEqual({ ok: false, reason: 'truncated' }); // half a length
    expect(refused([BATCH_MARKER, 1, ...le16(4), 1, 2, 3])).toEqual({ ok: false, reason: 'truncated' });
    expect(refused([BATCH_MARKER, 1, ...le16(0xffff), 1])).toEqual({ ok: false, reason: 'truncated' });
    expect(refused([BATCH_MARKER, 2, ...le16(1), 7])).toEqual({ ok: false, reason: 'truncated' }); // one of two
    expect(refused([BATCH_MARKER, 1, ...le16(1), 7, 0])).toEqual({ ok: false, reason: 'trailing-bytes' });
    expect(refused([1, 1, ...le16(1), 7])).toEqual({ ok: false, reason: 'truncated' }); // not a batch at all
  });

  it('refuses the largest count a batch of 1 163 bytes could hold beyond the bound', () => {
    const tooMany = MAX_BATCH_MESSAGES + 1;
    const bytes = [BATCH_MARKER, tooMany];
    for (let i = 0; i < tooMany; i++) bytes.push(...le16(1), i);
    expect(refused(bytes)).toEqual({ ok: false, reason: 'bad-count' });
    expect(parseBatch(new Uint8Array([BATCH_MARKER, MAX_BATCH_MESSAGES, ...bytes.slice(2, 2 + 3 * MAX_BATCH_MESSAGES)])).ok).toBe(true);
  });

  it('any bytes after the marker: a batch that re-encodes to the same bytes, or a refusal', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: MEDIA_MESSAGE_LIMIT_BYTES - 1 }), (tail) => {
        const bytes = new Uint8Array([BATCH_MARKER, ...tail]);
        const r = parseBatch(bytes);
        if (r.ok) {
          expect(r.messages.length).toBeGreaterThanOrEqual(1);
          expect(r.messages.length).toBeLessThanOrEqual(MAX_BATCH_MESSAGES);
          expect(encodeBatch(r.messages)).toEqual(bytes);
        } else {
          expect(['bad-count', 'empty-message', 'truncated', 'trailing-bytes']).toContain(r.reason);
        }
      }),
    );
  });

  it('a well-formed batch cut short or lengthened anywhere is refused', () => {
    fc.assert(
      fc.property(fc.array(message(40), { minLength: 1, maxLength: 20 }), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (messages, cut, extra) => {
        const batch = encodeBatch(messages);
        expect(parseBatch(batch.subarray(0, cut % batch.byteLength)).ok).toBe(false);
        expect(parseBatch(new Uint8Array([...batch, ...extra])).ok).toBe(false);
      }),
    );
  });
});
