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
  /** The first audio track: its sample entry's rate and channels, its media timescale, Opus's input rate. */
  audio: AudioTrackInfo | null;
}

export interface AudioTrackInfo {
  codec: string;
  /** The sample entry's rate (Opus in MP4 must say 48 000). */
  sampleRate: number;
  channels: number;
  /** The track's media timescale (mdhd); for Opus 48 000. */
  timescale: number;
  /** Opus only: the input-sample-rate field of the dOps box (Chromium requires it to equal sampleRate). */
  inputSampleRate?: number;
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);
const MAX_DEPTH = 8;

interface Box {
  type: string;
  start: number; // payload start
  end: number;
}

function boxes(b: Uint8Array, start: number, end: number): Box[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = dv.getUint32(at);
    const type = String.fromCharCode(b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) break;
      size = Number(dv.getBigUint64(at + 8));
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

/** A box's payload as a view, for reading fields. */
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The child boxes of an audio sample entry start after its 28 fixed bytes. */
const AUDIO_ENTRY_FIXED = 28;

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

/** The timescale of an mdhd box (version 0 or 1). */
function mdhdTimescale(b: Uint8Array, box: Box): number {
  const version = b[box.start];
  const at = box.start + (version === 1 ? 20 : 12);
  if (at + 4 > box.end) throw new P2PError('BAD_INIT_SEGMENT', 'short mdhd');
  return view(b).getUint32(at);
}

function audioEntryInfo(b: Uint8Array, entry: Box, codec: string, timescale: number): AudioTrackInfo {
  if (entry.end - entry.start < AUDIO_ENTRY_FIXED) throw new P2PError('BAD_INIT_SEGMENT', `short ${entry.type} sample entry`);
  const v = view(b);
  const info: AudioTrackInfo = { codec, sampleRate: v.getUint16(entry.start + 24), channels: v.getUint16(entry.start + 16), timescale };
  if (entry.type === 'Opus') {
    const dOps = boxes(b, entry.start + AUDIO_ENTRY_FIXED, entry.end).find((c) => c.type === 'dOps');
    if (dOps && dOps.end - dOps.start >= 8) info.inputSampleRate = v.getUint32(dOps.start + 4);
  }
  return info;
}

/** Parses an init segment; throws P2PError('BAD_INIT_SEGMENT') when it has no readable track. */
export function parseInitSegment(bytes: Uint8Array): InitSegmentInfo {
  const codecs: string[] = [];
  let hasVideo = false;
  let hasAudio = false;
  let audio: AudioTrackInfo | null = null;
  let timescale = 0;
  const walk = (start: number, end: number, depth: number): void => {
    if (depth > MAX_DEPTH) throw new P2PError('BAD_INIT_SEGMENT', 'boxes nested too deep');
    for (const box of boxes(bytes, start, end)) {
      if (box.type === 'trak') timescale = 0;
      if (CONTAINERS.has(box.type)) walk(box.start, box.end, depth + 1);
      else if (box.type === 'mdhd') timescale = mdhdTimescale(bytes, box);
      else if (box.type === 'stsd') {
        if (box.end - box.start < 8) throw new P2PError('BAD_INIT_SEGMENT', 'short stsd');
        for (const entry of boxes(bytes, box.start + 8, box.end)) {
          const c = sampleEntryCodec(bytes, entry);
          if (!c) continue;
          codecs.push(c.codec);
          if (c.video) hasVideo = true;
          else {
            hasAudio = true;
            audio ??= audioEntryInfo(bytes, entry, c.codec, timescale);
          }
        }
      }
    }
  };
  walk(0, bytes.length, 0);
  if (codecs.length === 0) throw new P2PError('BAD_INIT_SEGMENT', 'no track with a known codec');
  const mimeType = `${hasVideo ? 'video' : 'audio'}/mp4; codecs="${codecs.join(',')}"`;
  return { codecs, hasVideo, hasAudio, mimeType, audio };
}
