import { describe, expect, it } from 'vitest';
import { MEDIA_ERR, PlainTimeRanges, liveSeekable, mediaErrorFor } from './live-ranges.ts';

describe('live seekable window', () => {
  it('spans the oldest kept media to the live edge, across jumped gaps', () => {
    const s = liveSeekable([[10, 14], [14.5, 40]]);
    expect([s.length, s.start(0), s.end(0)]).toEqual([1, 10, 40]);
    expect(liveSeekable([]).length).toBe(0);
  });

  it('throws IndexSizeError outside its ranges, like TimeRanges', () => {
    const r = new PlainTimeRanges([[1, 2]]);
    expect(() => r.start(1)).toThrow(/index 1/);
    expect(() => r.end(-1)).toThrow(/index -1/);
  });

  it('maps player errors to MediaError codes', () => {
    expect(mediaErrorFor('UNSUPPORTED_CODEC', 'x').code).toBe(MEDIA_ERR.SRC_NOT_SUPPORTED);
    expect(mediaErrorFor('APPEND_FAILED', 'x').code).toBe(MEDIA_ERR.DECODE);
    expect(mediaErrorFor('SESSION_FAILED', 'x')).toEqual({ code: MEDIA_ERR.NETWORK, message: 'x' });
  });
});
