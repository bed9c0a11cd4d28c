// The media frame and its in-frame record layout: the one description of how fragmented-MP4 bytes
// ride inside frames. Pure, no I/O, no clock. Used by the frame cutter (broadcaster side), the
// fragment assembler (player side) and the session, which carries frames through the swarm.
//
// A media frame (flags without FRAME_INIT / FRAME_END_OF_STREAM) is a run of records, each a
// 20-byte little-endian header followed by `length` bytes of one fragment:
//   u32 fragmentIndex   consecutive per stream, from 0
//   u32 fragmentLength  total bytes of that fragment, 1 … MAX_FRAGMENT_BYTES
//   u32 offset          where this piece starts in the fragment
//   u16 length          bytes of this piece, 1 … MAX_FRAME_BYTES - RECORD_HEADER_BYTES
//   u8  recordFlags     RECORD_KEY: the fragment begins with a key frame
//   u8  reserved        0
//   u32 mediaTimeMs     media time of the fragment's first sample, milliseconds (wraps at 2^32)
// An init frame (FRAME_INIT) is the raw init segment. An end frame (FRAME_END_OF_STREAM) is a u32:
// the number of fragments the stream had.

import { P2PError } from '../errors.ts';

export const FRAME_KEY = 1;
export const FRAME_INIT = 2;
export const FRAME_FRAGMENT_START = 4;
export const FRAME_FRAGMENT_END = 8;
export const FRAME_END_OF_STREAM = 16;
export const FRAME_FLAGS_MASK = 31;

export const MAX_FRAME_BYTES = 65536;
export const FRAME_ALIGN_BYTES = 8192;
export const RECORD_HEADER_BYTES = 20;
export const MAX_RECORD_PAYLOAD = MAX_FRAME_BYTES - RECORD_HEADER_BYTES;
export const MAX_FRAGMENT_BYTES = 16 * 1024 * 1024;
export const RECORD_KEY = 1;

/** One frame of the media byte stream, as the broadcaster emits it and the player consumes it. */
export interface MediaFrame {
  /** Frame sequence number, consecutive per stream from 0. */
  seq: number;
  /** 1 … MAX_FRAME_BYTES bytes. */
  bytes: Uint8Array;
  /** FRAME_* bits. */
  flags: number;
  /** Wall-clock capture time (ms since the Unix epoch) of the start of the first fragment in the frame. */
  captureTimeMs: number;
}

/** One piece of a fragment inside a media frame. */
export interface FrameRecord {
  fragmentIndex: number;
  fragmentLength: number;
  offset: number;
  keyFrame: boolean;
  mediaTimeMs: number;
  /** View into the frame's bytes (not a copy). */
  payload: Uint8Array;
}

/** Writes one record (header and payload) into `out` at `at`; returns the position after it. */
export function writeRecord(out: Uint8Array, at: number, r: FrameRecord): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(at, r.fragmentIndex >>> 0, true);
  view.setUint32(at + 4, r.fragmentLength, true);
  view.setUint32(at + 8, r.offset, true);
  view.setUint16(at + 12, r.payload.length, true);
  view.setUint8(at + 14, r.keyFrame ? RECORD_KEY : 0);
  view.setUint8(at + 15, 0);
  view.setUint32(at + 16, r.mediaTimeMs >>> 0, true);
  out.set(r.payload, at + RECORD_HEADER_BYTES);
  return at + RECORD_HEADER_BYTES + r.payload.length;
}

/**
 * Parses the records of a media frame. Throws P2PError('BAD_MEDIA_FRAME') on any malformed record
 * (truncated header, zero or overlong piece, piece beyond its fragment, unknown flag bits).
 */
export function readRecords(bytes: Uint8Array): FrameRecord[] {
  if (bytes.length === 0 || bytes.length > MAX_FRAME_BYTES) {
    throw new P2PError('BAD_MEDIA_FRAME', `media frame of ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: FrameRecord[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < RECORD_HEADER_BYTES) throw new P2PError('BAD_MEDIA_FRAME', `truncated record header at ${at}`);
    const fragmentIndex = view.getUint32(at, true);
    const fragmentLength = view.getUint32(at + 4, true);
    const offset = view.getUint32(at + 8, true);
    const length = view.getUint16(at + 12, true);
    const recordFlags = view.getUint8(at + 14);
    const reserved = view.getUint8(at + 15);
    const mediaTimeMs = view.getUint32(at + 16, true);
    const start = at + RECORD_HEADER_BYTES;
    if (length === 0 || start + length > bytes.length) throw new P2PError('BAD_MEDIA_FRAME', `record length ${length} at ${at}`);
    if (fragmentLength === 0 || fragmentLength > MAX_FRAGMENT_BYTES || offset + length > fragmentLength) {
      throw new P2PError('BAD_MEDIA_FRAME', `record [${offset}, +${length}) outside fragment of ${fragmentLength} bytes`);
    }
    if ((recordFlags & ~RECORD_KEY) !== 0 || reserved !== 0) throw new P2PError('BAD_MEDIA_FRAME', `unknown record flags ${recordFlags}/${reserved}`);
    out.push({
      fragmentIndex,
      fragmentLength,
      offset,
      keyFrame: (recordFlags & RECORD_KEY) !== 0,
      mediaTimeMs,
      payload: bytes.subarray(start, start + length),
    });
    at = start + length;
  }
  return out;
}

/** Body of an end-of-stream frame: the number of fragments the stream had. */
export function encodeEndOfStream(fragmentCount: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, fragmentCount >>> 0, true);
  return out;
}

/** Reads an end-of-stream body; throws P2PError('BAD_MEDIA_FRAME') unless it is exactly 4 bytes. */
export function decodeEndOfStream(bytes: Uint8Array): number {
  if (bytes.length !== 4) throw new P2PError('BAD_MEDIA_FRAME', `end-of-stream frame of ${bytes.length} bytes`);
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
}

/** Bytes a frame of `length` bytes occupies once padded for the feed code (64 · 128 · ceil(L / 8192)). */
export function paddedFrameBytes(length: number): number {
  return FRAME_ALIGN_BYTES * Math.ceil(length / FRAME_ALIGN_BYTES);
}
