// Reads just enough of fragmented MP4 to time a fragment: track timescales and default sample
// durations from the init segment (mdhd, tkhd, trex), and a fragment's start (tfdt) and duration
// (tfhd / trun sample durations). Pure, bounded box walk; throws P2PError('BAD_FRAGMENT') on
// anything it cannot read. Used by the LL-HLS writer, which lists fragments as parts.

import { P2PError } from '../errors.ts';

interface Box {
  type: string;
  start: number; // payload start
  end: number;
}

const MAX_BOXES = 10_000;

function boxes(b: Uint8Array, start: number, end: number): Box[] {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) throw new P2PError('BAD_FRAGMENT', `truncated large box ${type}`);
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) throw new P2PError('BAD_FRAGMENT', `box ${JSON.stringify(type)} of ${size} bytes overruns its parent`);
    out.push({ type, start: at + header, end: at + size });
    if (out.length > MAX_BOXES) throw new P2PError('BAD_FRAGMENT', 'too many boxes');
    at += size;
  }
  return out;
}

const child = (b: Uint8Array, parent: Box, type: string): Box | undefined => boxes(b, parent.start, parent.end).find((x) => x.type === type);
const need = (box: Box, bytes: number, what: string): void => {
  if (box.end - box.start < bytes) throw new P2PError('BAD_FRAGMENT', `short ${what}`);
};

export interface TrackTiming {
  timescale: number;
  /** trex default_sample_duration, in the track's timescale (0 when absent). */
  defaultSampleDuration: number;
}

/** Timescale and default sample duration of every track of an init segment, by track_ID. */
export function readTrackTimings(init: Uint8Array): Map<number, TrackTiming> {
  const view = new DataView(init.buffer, init.byteOffset, init.byteLength);
  const out = new Map<number, TrackTiming>();
  const moov = boxes(init, 0, init.length).find((x) => x.type === 'moov');
  if (!moov) throw new P2PError('BAD_FRAGMENT', 'init segment without moov');
  const moovChildren = boxes(init, moov.start, moov.end);
  for (const trak of moovChildren.filter((x) => x.type === 'trak')) {
    const tkhd = child(init, trak, 'tkhd');
    const mdia = child(init, trak, 'mdia');
    const mdhd = mdia && child(init, mdia, 'mdhd');
    if (!tkhd || !mdhd) throw new P2PError('BAD_FRAGMENT', 'trak without tkhd or mdhd');
    need(tkhd, 24, 'tkhd');
    need(mdhd, 24, 'mdhd');
    const trackId = view.getUint32(tkhd.start + (init[tkhd.start] === 1 ? 20 : 12));
    const timescale = view.getUint32(mdhd.start + (init[mdhd.start] === 1 ? 20 : 12));
    if (timescale === 0) throw new P2PError('BAD_FRAGMENT', `track ${trackId} has timescale 0`);
    out.set(trackId, { timescale, defaultSampleDuration: 0 });
  }
  const mvex = moovChildren.find((x) => x.type === 'mvex');
  if (mvex) {
    for (const trex of boxes(init, mvex.start, mvex.end).filter((x) => x.type === 'trex')) {
      need(trex, 24, 'trex');
      const t = out.get(view.getUint32(trex.start + 4));
      if (t) t.defaultSampleDuration = view.getUint32(trex.start + 12);
    }
  }
  if (out.size === 0) throw new P2PError('BAD_FRAGMENT', 'init segment without tracks');
  return out;
}

export interface FragmentTiming {
  /** Decode time of the first sample (tfdt), seconds; the earliest over the fragment's tracks. */
  startS: number;
  /** The longest track run of the fragment, seconds. */
  durationS: number;
}

/** Start and duration of one fragment (moof + mdat, possibly several) against its init segment's tracks. */
export function readFragmentTiming(fragment: Uint8Array, tracks: Map<number, TrackTiming>): FragmentTiming {
  const view = new DataView(fragment.buffer, fragment.byteOffset, fragment.byteLength);
  const sums = new Map<number, { start: number; ticks: number }>();
  const moofs = boxes(fragment, 0, fragment.length).filter((x) => x.type === 'moof');
  if (moofs.length === 0) throw new P2PError('BAD_FRAGMENT', 'fragment without moof');
  for (const moof of moofs) {
    for (const traf of boxes(fragment, moof.start, moof.end).filter((x) => x.type === 'traf')) {
      const parts = boxes(fragment, traf.start, traf.end);
      const tfhd = parts.find((x) => x.type === 'tfhd');
      if (!tfhd) throw new P2PError('BAD_FRAGMENT', 'traf without tfhd');
      need(tfhd, 8, 'tfhd');
      const tfFlags = view.getUint32(tfhd.start) & 0xffffff;
      const trackId = view.getUint32(tfhd.start + 4);
      const track = tracks.get(trackId);
      if (!track) throw new P2PError('BAD_FRAGMENT', `fragment names unknown track ${trackId}`);
      let at = tfhd.start + 8;
      if (tfFlags & 0x1) at += 8;
      if (tfFlags & 0x2) at += 4;
      let defaultDuration = track.defaultSampleDuration;
      if (tfFlags & 0x8) {
        if (at + 4 > tfhd.end) throw new P2PError('BAD_FRAGMENT', 'short tfhd');
        defaultDuration = view.getUint32(at);
      }
      const tfdt = parts.find((x) => x.type === 'tfdt');
      let base = sums.get(trackId)?.start ?? NaN;
      if (tfdt && Number.isNaN(base)) {
        need(tfdt, 8, 'tfdt');
        base = fragment[tfdt.start] === 1 ? (need(tfdt, 12, 'tfdt'), Number(view.getBigUint64(tfdt.start + 4))) : view.getUint32(tfdt.start + 4);
      }
      let ticks = sums.get(trackId)?.ticks ?? 0;
      for (const trun of parts.filter((x) => x.type === 'trun')) {
        need(trun, 8, 'trun');
        const flags = view.getUint32(trun.start) & 0xffffff;
        const count = view.getUint32(trun.start + 4);
        let p = trun.start + 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
        const stride = (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0) + (flags & 0x800 ? 4 : 0);
        if (p + count * stride > trun.end) throw new P2PError('BAD_FRAGMENT', `trun of ${count} samples overruns its box`);
        if (flags & 0x100) {
          for (let i = 0; i < count; i++, p += stride) ticks += view.getUint32(p);
        } else ticks += count * defaultDuration;
      }
      sums.set(trackId, { start: base, ticks });
    }
  }
  let startS = Infinity;
  let durationS = 0;
  for (const [trackId, s] of sums) {
    const scale = tracks.get(trackId)!.timescale;
    if (!Number.isNaN(s.start)) startS = Math.min(startS, s.start / scale);
    durationS = Math.max(durationS, s.ticks / scale);
  }
  if (!(durationS > 0)) throw new P2PError('BAD_FRAGMENT', 'fragment without sample durations');
  return { startS: Number.isFinite(startS) ? startS : NaN, durationS };
}
