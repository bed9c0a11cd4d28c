// The channels' batch framing: several small messages bound to one neighbour on one channel travel
// as one datachannel message, and the receiver splits them again (media batches fit one SCTP
// packet; control batches, on the reliable ordered channel, up to CONTROL_BATCH_BYTES). Pure bytes;
// knows nothing of the protocol inside. Used by TransportCore on both its send and its receive path.

import { MEDIA_MESSAGE_LIMIT_BYTES } from './transport.ts';

/**
 * First byte of a batch on either channel. A message of the application that starts with this
 * byte is always sent inside a batch (of one, if need be), so the receiver never mistakes it.
 */
export const BATCH_MARKER = 0xba;
/** Marker u8, count u8. */
export const BATCH_HEADER_BYTES = 2;
/** Length u16 (little-endian) before each inner message. */
export const BATCH_ENTRY_HEADER_BYTES = 2;
/**
 * Largest control batch sent. Several SCTP packets, which the reliable channel delivers whole;
 * small enough for every WebRTC stack's message size (16 KiB is the interoperable bound).
 */
export const CONTROL_BATCH_BYTES = 16 * 1024;
/** Largest message a batch can carry (its length is a u16). */
export const MAX_BATCH_ENTRY_BYTES = 0xffff;
/** Most inner messages in one batch, sent or accepted. */
export const MAX_BATCH_MESSAGES = 64;
/**
 * Largest batch accepted: one SCTP packet's worth (MEDIA_MESSAGE_LIMIT_BYTES), or a largest media
 * message framed alone because it starts with the marker (4 bytes more; never a protocol message).
 */
export const MAX_BATCH_BYTES = MEDIA_MESSAGE_LIMIT_BYTES + BATCH_HEADER_BYTES + BATCH_ENTRY_HEADER_BYTES;

/**
 * The frame each side sends first on its requests channel once it is open: "mine is open, use it".
 * A batch of zero messages, so never a batch nor a message of the application (those that start
 * with the marker travel in batches of one or more).
 */
export const REQUESTS_READY = Uint8Array.of(BATCH_MARKER, 0);

/** True when `bytes` is the requests channel's ready frame. */
export function isRequestsReady(bytes: Uint8Array): boolean {
  return bytes.byteLength === 2 && bytes[0] === BATCH_MARKER && bytes[1] === 0;
}

/** Why an inbound batch was refused. */
export type BatchError =
  /** The count byte is 0 or above MAX_BATCH_MESSAGES. */
  | 'bad-count'
  /** An inner message of length 0. */
  | 'empty-message'
  /** A length runs past the end, or the batch ends before `count` messages. */
  | 'truncated'
  /** Bytes left after the last of `count` messages. */
  | 'trailing-bytes';

export type BatchParse = { ok: true; messages: Uint8Array[] } | { ok: false; reason: BatchError };

/** True when a received media message is a batch (to be split with `parseBatch`). */
export function isBatch(bytes: Uint8Array): boolean {
  return bytes.byteLength > 0 && bytes[0] === BATCH_MARKER;
}

/**
 * Splits a batch (its first byte is BATCH_MARKER). The whole batch is checked before anything is
 * returned: either every inner message (each a copy the caller owns, in the order sent) or the
 * first fault found. Never throws. Inner messages still need the caller's own size checks.
 */
export function parseBatch(bytes: Uint8Array): BatchParse {
  if (bytes.byteLength < BATCH_HEADER_BYTES || bytes[0] !== BATCH_MARKER) return { ok: false, reason: 'truncated' };
  const count = bytes[1];
  if (count === 0 || count > MAX_BATCH_MESSAGES) return { ok: false, reason: 'bad-count' };
  const ends: number[] = [];
  let at = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + BATCH_ENTRY_HEADER_BYTES > bytes.byteLength) return { ok: false, reason: 'truncated' };
    const length = bytes[at] | (bytes[at + 1] << 8);
    at += BATCH_ENTRY_HEADER_BYTES;
    if (length === 0) return { ok: false, reason: 'empty-message' };
    if (at + length > bytes.byteLength) return { ok: false, reason: 'truncated' };
    at += length;
    ends.push(at);
  }
  if (at !== bytes.byteLength) return { ok: false, reason: 'trailing-bytes' };
  return { ok: true, messages: ends.map((end, i) => bytes.slice((i === 0 ? BATCH_HEADER_BYTES : ends[i - 1]) + BATCH_ENTRY_HEADER_BYTES, end)) };
}

/** Bytes a batch of messages of these sizes takes. */
export function batchSize(sizes: readonly number[]): number {
  return sizes.reduce((n, s) => n + BATCH_ENTRY_HEADER_BYTES + s, BATCH_HEADER_BYTES);
}

/** One batch of `messages` (1 … MAX_BATCH_MESSAGES, each 1 … 65 535 bytes). For tests and tools. */
export function encodeBatch(messages: readonly Uint8Array[]): Uint8Array {
  const w = new BatchWriter(batchSize(messages.map((m) => m.byteLength)));
  for (const m of messages) w.append(m);
  return w.take(true)!;
}

/**
 * The batch being filled for one neighbour. Holds copies of the messages appended (the caller may
 * reuse its buffers), never more than `maxBytes` in all nor MAX_BATCH_MESSAGES messages.
 */
export class BatchWriter {
  #buf: Uint8Array | undefined;
  #length = BATCH_HEADER_BYTES;
  #count = 0;
  #payload = 0;
  #firstIsMarked = false;

  /** `maxBytes`: the largest datachannel message the batch may become. */
  constructor(readonly maxBytes: number) {}

  /** Messages appended since the last take. */
  get count(): number {
    return this.#count;
  }

  /** Bytes of the messages appended, framing left out. */
  get payloadBytes(): number {
    return this.#payload;
  }

  /** Bytes the batch would take if sent now (0 when empty). */
  get pendingBytes(): number {
    return this.#count === 0 ? 0 : this.#length;
  }

  /** Bytes the batch grows by when a message of `size` bytes is appended. */
  costOf(size: number): number {
    return (this.#count === 0 ? BATCH_HEADER_BYTES : 0) + BATCH_ENTRY_HEADER_BYTES + size;
  }

  /** True when a message of `size` bytes can join the batch without passing either bound. */
  fits(size: number): boolean {
    return this.#count < MAX_BATCH_MESSAGES && this.#length + BATCH_ENTRY_HEADER_BYTES + size <= this.maxBytes;
  }

  /** Appends a copy of `bytes`. The caller checked `fits`. */
  append(bytes: Uint8Array): void {
    this.#buf ??= new Uint8Array(this.maxBytes);
    const buf = this.#buf;
    const n = bytes.byteLength;
    buf[this.#length] = n & 0xff;
    buf[this.#length + 1] = n >> 8;
    buf.set(bytes, this.#length + BATCH_ENTRY_HEADER_BYTES);
    if (this.#count === 0) this.#firstIsMarked = bytes[0] === BATCH_MARKER;
    this.#length += BATCH_ENTRY_HEADER_BYTES + n;
    this.#payload += n;
    this.#count++;
  }

  /**
   * The datachannel message to send, and the writer emptied; undefined when empty. A batch of one
   * message is the message itself, unless it starts with BATCH_MARKER or `framed` is set.
   */
  take(framed = false): Uint8Array | undefined {
    const buf = this.#buf;
    if (this.#count === 0 || !buf) return undefined;
    let out: Uint8Array;
    if (this.#count === 1 && !this.#firstIsMarked && !framed) {
      out = buf.slice(BATCH_HEADER_BYTES + BATCH_ENTRY_HEADER_BYTES, this.#length);
    } else {
      buf[0] = BATCH_MARKER;
      buf[1] = this.#count;
      out = buf.slice(0, this.#length);
    }
    this.#length = BATCH_HEADER_BYTES;
    this.#count = 0;
    this.#payload = 0;
    return out;
  }
}
