import { describe, expect, it } from 'vitest';
import { expectCode } from '../expect-code.ts';
import {
  MAX_FRAGMENT_BYTES,
  MAX_FRAME_BYTES,
  RECORD_HEADER_BYTES,
  decodeEndOfStream,
  encodeEndOfStream,
  readRecords,
  writeRecord,
  type FrameRecord,
} from './frame-format.ts';

const record = (over: Partial<FrameRecord> = {}): FrameRecord => ({
  fragmentIndex: 7, fragmentLength: 100, offset: 90, keyFrame: true, mediaTimeMs: 1234, payload: new Uint8Array(10).fill(5), ...over,
});

function frameOf(...records: FrameRecord[]): Uint8Array {
  const out = new Uint8Array(records.reduce((n, r) => n + RECORD_HEADER_BYTES + r.payload.length, 0));
  let at = 0;
  for (const r of records) at = writeRecord(out, at, r);
  return out;
}

describe('media frame records', () => {
  it('reads back what it wrote, a record up to the last byte of its fragment', () => {
    const r = record();
    const [back] = readRecords(frameOf(r));
    expect({ ...back, payload: [...back.payload] }).toEqual({ ...r, payload: [...r.payload] });
    expect(readRecords(frameOf(record({ keyFrame: false }), record({ fragmentIndex: 8, offset: 0 })))).toHaveLength(2);
  });

  it('rejects each kind of malformed frame with BAD_MEDIA_FRAME', () => {
    const good = frameOf(record());
    const edit = (at: number, set: (v: DataView) => void) => {
      const b = good.slice();
      set(new DataView(b.buffer));
      return b;
    };
    expectCode(() => readRecords(new Uint8Array(0)), 'BAD_MEDIA_FRAME');
    expectCode(() => readRecords(new Uint8Array(MAX_FRAME_BYTES + 1)), 'BAD_MEDIA_FRAME');
    expectCode(() => readRecords(good.subarray(0, RECORD_HEADER_BYTES - 1)), 'BAD_MEDIA_FRAME'); // header cut
    expectCode(() => readRecords(good.subarray(0, good.length - 1)), 'BAD_MEDIA_FRAME'); // payload cut
    expectCode(() => readRecords(new Uint8Array([...good, 1])), 'BAD_MEDIA_FRAME'); // trailing byte
    expectCode(() => readRecords(edit(0, (v) => v.setUint16(12, 0, true))), 'BAD_MEDIA_FRAME'); // empty piece
    expectCode(() => readRecords(edit(0, (v) => v.setUint32(4, 0, true))), 'BAD_MEDIA_FRAME'); // empty fragment
    expectCode(() => readRecords(edit(0, (v) => v.setUint32(4, MAX_FRAGMENT_BYTES + 1, true))), 'BAD_MEDIA_FRAME');
    expectCode(() => readRecords(edit(0, (v) => v.setUint32(8, 91, true))), 'BAD_MEDIA_FRAME'); // one byte beyond
    expectCode(() => readRecords(edit(0, (v) => v.setUint8(14, 2))), 'BAD_MEDIA_FRAME'); // unknown flag
    expectCode(() => readRecords(edit(0, (v) => v.setUint8(15, 1))), 'BAD_MEDIA_FRAME'); // reserved byte
  });

  it('end-of-stream bodies are exactly 4 bytes', () => {
    expect(decodeEndOfStream(encodeEndOfStream(123456))).toBe(123456);
    expectCode(() => decodeEndOfStream(new Uint8Array(3)), 'BAD_MEDIA_FRAME');
    expectCode(() => decodeEndOfStream(new Uint8Array(5)), 'BAD_MEDIA_FRAME');
  });
});
