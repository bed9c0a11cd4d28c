// Pieces of the HTMLMediaElement surface that <p2p-player> defines for live playback where the inner
// <video> has no meaning of its own: `seekable` (the DVR window: from the oldest media kept to the
// live edge), a MediaError-like `error` for player failures the <video> never sees (a codec MSE
// lacks), and the live-edge start that control layers read. Pure; tested in Node.

/** A read-only TimeRanges over plain pairs (what `seekable` and `buffered` return). */
export class PlainTimeRanges implements TimeRanges {
  readonly #ranges: ReadonlyArray<readonly [number, number]>;

  constructor(ranges: ReadonlyArray<readonly [number, number]>) {
    this.#ranges = ranges.map(([a, b]) => [a, b] as const);
  }

  get length(): number {
    return this.#ranges.length;
  }

  start(index: number): number {
    return this.#at(index)[0];
  }

  end(index: number): number {
    return this.#at(index)[1];
  }

  #at(index: number): readonly [number, number] {
    const r = this.#ranges[index];
    // As TimeRanges does: an index out of range is an IndexSizeError.
    if (!r) throw new DOMException(`index ${index} is outside 0 … ${this.#ranges.length - 1}`, 'IndexSizeError');
    return r;
  }
}

/**
 * The DVR window of a live stream: one range from the oldest buffered media to the newest (gaps the
 * player jumps are inside it, as a live HLS player's seekable range spans its playlist).
 */
export function liveSeekable(buffered: ReadonlyArray<readonly [number, number]>): PlainTimeRanges {
  if (buffered.length === 0) return new PlainTimeRanges([]);
  return new PlainTimeRanges([[buffered[0][0], buffered[buffered.length - 1][1]]]);
}

/** MediaError codes (HTMLMediaElement spec). */
export const MEDIA_ERR = { ABORTED: 1, NETWORK: 2, DECODE: 3, SRC_NOT_SUPPORTED: 4 } as const;

/** A MediaError-like value for a player error code: what `error` returns when the <video> has none. */
export function mediaErrorFor(code: string, message: string): { code: number; message: string } {
  const mediaCode = code === 'UNSUPPORTED_CODEC' ? MEDIA_ERR.SRC_NOT_SUPPORTED : code === 'APPEND_FAILED' || code === 'BAD_INIT_SEGMENT' ? MEDIA_ERR.DECODE : MEDIA_ERR.NETWORK;
  return { code: mediaCode, message };
}
