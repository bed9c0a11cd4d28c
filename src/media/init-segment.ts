// Reads an MP4 init segment (ftyp + moov) far enough to build the MSE MIME type: the codec string of
// every track (avc1/avc3 from avcC, vp09 from vpcC, av01 from av1C, Opus, AAC). Pure, bounded box
// walk; throws P2PError('BAD_INIT_SEGMENT') on anything it cannot read. Used by the player core.

import { P2PError } from '../errors.ts';

export interface InitSegmentInfo {
  /** Codec strings in track order, e.g. ['avc1.42c01f', 'opus']. */
  codecs: string[];
  hasVideo: boolean;
  hasAudio: boolean;
  /** For MediaSource.isTypeSupported / addSourceBuffer. */
  mimeType: string;
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);
const MAX_DEPTH = 8;

interface Box {
  type: string;
  start: number; // payload start
  end: number;
}

function boxes(b: Uint8Array, start: number, end: number): Box[] {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) break;
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) throw new P2PError('BAD_INIT_SEGMENT', `box ${JSON.stringify(type)} of ${size} bytes overruns its parent`);
    out.push({ type, start: at + header, end: at + size });
    if (out.length > 1000) throw new P2PError('BAD_INIT_SEGMENT', 'too many boxes');
    at += size;
  }
  return out;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const dec2 = (n: number): string => String(n).padStart(2, '0');

function sampleEntryCodec(b: Uint8Array, entry: Box): { codec: string; video: boolean } | null {
  const fourcc = entry.type;
  const visual = ['avc1', 'avc3', 'vp09', 'vp08', 'av01', 'hvc1', 'hev1'].includes(fourcc);
  const audio = ['Opus', 'mp4a', 'fLaC'].includes(fourcc);
  if (!visual && !audio) return null;
  const childStart = entry.start + (visual ? 78 : 28);
  const children = childStart <= entry.end ? boxes(b, childStart, entry.end) : [];
  const child = (t: string) => children.find((c) => c.type === t);
  if (fourcc === 'avc1' || fourcc === 'avc3') {
    const c = child('avcC');
    if (!c || c.end - c.start < 4) throw new P2PError('BAD_INIT_SEGMENT', `${fourcc} without avcC`);
    return { codec: `${fourcc}.${hex2(b[c.start + 1])}${hex2(b[c.start + 2])}${hex2(b[c.start + 3])}`, video: true };
  }
  if (fourcc === 'vp09') {
    const c = child('vpcC');
    if (!c || c.end - c.start < 7) throw new P2PError('BAD_INIT_SEGMENT', 'vp09 without vpcC');
    const profile = b[c.start + 4];
    const level = b[c.start + 5];
    const bitDepth = b[c.start + 6] >> 4;
    return { codec: `vp09.${dec2(profile)}.${dec2(level)}.${dec2(bitDepth)}`, video: true };
  }
  if (fourcc === 'av01') {
    const c = child('av1C');
    if (!c || c.end - c.start < 3) throw new P2PError('BAD_INIT_SEGMENT', 'av01 without av1C');
    const profile = b[c.start + 1] >> 5;
    const level = b[c.start + 1] & 31;
    const tier = (b[c.start + 2] >> 7) & 1;
    const high = (b[c.start + 2] >> 6) & 1;
    const twelve = (b[c.start + 2] >> 5) & 1;
    const depth = profile === 2 && high ? (twelve ? 12 : 10) : high ? 10 : 8;
    return { codec: `av01.${profile}.${dec2(level)}${tier ? 'H' : 'M'}.${dec2(depth)}`, video: true };
  }
  if (fourcc === 'vp08') return { codec: 'vp8', video: true };
  if (fourcc === 'hvc1' || fourcc === 'hev1') return { codec: fourcc, video: true };
  if (fourcc === 'Opus') return { codec: 'opus', video: false };
  if (fourcc === 'fLaC') return { codec: 'flac', video: false };
  return { codec: 'mp4a.40.2', video: false };
}

/** Parses an init segment; throws P2PError('BAD_INIT_SEGMENT') when it has no readable track. */
export function parseInitSegment(bytes: Uint8Array): InitSegmentInfo {
  const codecs: string[] = [];
  let hasVideo = false;
  let hasAudio = false;
  const walk = (start: number, end: number, depth: number): void => {
    if (depth > MAX_DEPTH) throw new P2PError('BAD_INIT_SEGMENT', 'boxes nested too deep');
    for (const box of boxes(bytes, start, end)) {
      if (CONTAINERS.has(box.type)) walk(box.start, box.end, depth + 1);
      else if (box.type === 'stsd') {
        if (box.end - box.start < 8) throw new P2PError('BAD_INIT_SEGMENT', 'short stsd');
        for (const entry of boxes(bytes, box.start + 8, box.end)) {
          const c = sampleEntryCodec(bytes, entry);
          if (!c) continue;
          codecs.push(c.codec);
          if (c.video) hasVideo = true;
          else hasAudio = true;
        }
      }
    }
  };
  walk(0, bytes.length, 0);
  if (codecs.length === 0) throw new P2PError('BAD_INIT_SEGMENT', 'no track with a known codec');
  const mimeType = `${hasVideo ? 'video' : 'audio'}/mp4; codecs="${codecs.join(',')}"`;
  return { codecs, hasVideo, hasAudio, mimeType };
}
