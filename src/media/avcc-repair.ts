// Repairs an H.264 decoder configuration (avcC) whose parameter sets carry their NAL header byte
// twice: Firefox's WebCodecs H.264 encoder (firefox-esr 153) describes its stream with SPS
// `67 67 42 c0 1e …` and PPS `68 68 …`. Firefox ignores it (the stream repeats correct parameter sets
// in-band), Chromium's decoder reads it and rejects the first key frame (PIPELINE_ERROR_DECODE), so
// no Chromium viewer showed a picture of a Firefox broadcast. Pure: rewrites the boxes of an init
// segment (or a moov) with corrected sizes; anything else is copied byte for byte.

import { concatBytes } from '../bytes.ts';
import { P2PError } from '../errors.ts';

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);
const MAX_DEPTH = 8;

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}


/** A parameter set whose first two bytes are the same SPS (7) or PPS (8) NAL header. */
const doubled = (nal: Uint8Array, type: number): boolean => nal.length >= 2 && nal[0] === nal[1] && (nal[0] & 0x9f) === type;

/** The avcC payload with doubled NAL headers removed, or null when it needs no repair. */
export function repairAvcCPayload(p: Uint8Array): Uint8Array | null {
  if (p.length < 7) return null;
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  let at = 5;
  const out: Uint8Array[] = [p.subarray(0, 6)];
  let fixed = false;
  const sets = (count: number, type: number): boolean => {
    for (let i = 0; i < count; i++) {
      if (at + 2 > p.length) return false;
      const len = view.getUint16(at);
      if (at + 2 + len > p.length) return false;
      let nal = p.subarray(at + 2, at + 2 + len);
      // A PPS is only mended when the SPS was: a PPS may start with the byte 0x68 twice by chance.
      if (doubled(nal, type) && (type === 0x07 || fixed)) {
        nal = nal.subarray(1);
        fixed = true;
      }
      out.push(new Uint8Array([nal.length >> 8, nal.length & 0xff]), nal);
      at += 2 + len;
    }
    return true;
  };
  const spsCount = p[5] & 0x1f;
  at = 6;
  if (!sets(spsCount, 0x07) || at >= p.length) return null;
  const ppsCount = p[at];
  out.push(p.subarray(at, at + 1));
  at += 1;
  if (!sets(ppsCount, 0x08)) return null;
  out.push(p.subarray(at));
  return fixed ? concatBytes(out) : null;
}

function rewrite(b: Uint8Array, start: number, end: number, depth: number): { bytes: Uint8Array; changed: boolean } {
  if (depth > MAX_DEPTH) throw new P2PError('BAD_INIT_SEGMENT', 'boxes nested too deep');
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const parts: Uint8Array[] = [];
  let changed = false;
  let at = start;
  while (at + 8 <= end) {
    const size = view.getUint32(at);
    const type = String.fromCharCode(b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
    // 64-bit or to-the-end sizes are copied unchanged (no muxer writes them for these boxes).
    if (size < 8 || at + size > end) {
      parts.push(b.subarray(at, end));
      break;
    }
    const box = b.subarray(at, at + size);
    const fixedBytes = CONTAINERS.has(type) ? 0 : type === 'stsd' ? 8 : type === 'avc1' || type === 'avc3' ? 78 : -1;
    let next: Uint8Array | null = null;
    if (fixedBytes >= 0 && size >= 8 + fixedBytes) {
      const inner = rewrite(b, at + 8 + fixedBytes, at + size, depth + 1);
      if (inner.changed) next = concatBytes([u32(8 + fixedBytes + inner.bytes.length), box.subarray(4, 8 + fixedBytes), inner.bytes]);
    } else if (type === 'avcC') {
      const payload = repairAvcCPayload(box.subarray(8));
      if (payload) next = concatBytes([u32(8 + payload.length), box.subarray(4, 8), payload]);
    }
    parts.push(next ?? box);
    changed ||= next !== null;
    at += size;
  }
  if (at < end && parts.length === 0) parts.push(b.subarray(at, end));
  return { bytes: changed ? concatBytes(parts) : b.subarray(start, end), changed };
}

/** `init` (ftyp+moov, or a moov) with every avcC's doubled NAL headers removed; the input when none. */
export function repairAvcParameterSets(init: Uint8Array): Uint8Array {
  const r = rewrite(init, 0, init.length, 0);
  return r.changed ? r.bytes.slice() : init;
}
