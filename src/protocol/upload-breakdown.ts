// The broadcaster's upload by cause: every message the broadcaster core hands to the transport is
// counted once, at the moment it leaves the core (media dropped from a send queue as stale never
// is), by its encoded size (our header included, the transport's batch framing and
// SCTP/DTLS/UDP not). The parts add up to what the core sent. Pure counters, no clock.

import { encodedLength, type WireMessage } from './wire.ts';

/** Why a media message was queued (the broadcaster core tags each one). */
export type MediaCause = 'direct' | 'repair' | 'segment' | 'segment-repair';

/** Bytes handed to the transport by the broadcaster core, by cause. */
export interface UploadBreakdown {
  /** Direct feed, systematic keys (x < 64): the frame's own bytes they carry. */
  directData: number;
  /** Direct feed, systematic keys: zero bytes past the frame's end (the feed code pads L to 64·P). */
  directPadding: number;
  /** Direct feed, keys x ≥ 64 (the spare keys beyond the 64 a frame needs): payload bytes. */
  directSpare: number;
  /** Direct feed: the FEED header of every message (7 bytes each). */
  directHeaders: number;
  /** Direct-feed messages sent (systematic and spare). */
  directMessages: number;
  /**
   * Of the direct feed above (frame bytes, padding, spare keys, headers), what the frames flagged as
   * init segments took: the init segment's repeats for late joiners, padded to 64·P like any frame.
   */
  directInitFrames: number;
  /** Feed keys sent as answers to a viewer's REQUEST, headers included. */
  repairs: number;
  repairMessages: number;
  /** Code-segment chunks to holders (holder mode, the overlap after a switch, backfill), headers included. */
  segments: number;
  /** Code-segment chunks answering CS_REPAIR, headers included. */
  segmentRepairs: number;
  /** Manifests sent first-hand (manifestFanout per frame). */
  manifests: number;
  /** Manifests sent as answers to MANIFEST_REQUEST. */
  manifestAnswers: number;
  /** INIT_SEGMENT answers (manifest and init segment). */
  initAnswers: number;
  /** HELLO and DIRECT_SLOT. */
  control: number;
  /** Everything above. */
  total: number;
}

export function emptyUploadBreakdown(): UploadBreakdown {
  return {
    directData: 0, directPadding: 0, directSpare: 0, directHeaders: 0, directMessages: 0, directInitFrames: 0, repairs: 0, repairMessages: 0,
    segments: 0, segmentRepairs: 0, manifests: 0, manifestAnswers: 0, initAnswers: 0, control: 0, total: 0,
  };
}

/** Frame bytes in systematic part x (x < 64) of a frame of `length` bytes cut in parts of P bytes. */
export function dataBytesOfPart(x: number, length: number, P: number): number {
  return Math.max(0, Math.min(P, length - x * P));
}

/**
 * Counts one message leaving the core. `cause` for media (the tag it was queued with); for a
 * direct-feed key, `frameLength` is its frame's L (the padding is the part past L) and `initFrame`
 * whether that frame is an init segment.
 */
export function countUpload(u: UploadBreakdown, m: WireMessage, cause: MediaCause | 'answer' | undefined, frameLength = 0, initFrame = false): void {
  const size = encodedLength(m);
  u.total += size;
  switch (m.type) {
    case 'feed':
      if (cause === 'direct') {
        const P = m.payload.length;
        u.directMessages++;
        u.directHeaders += size - P;
        if (initFrame) u.directInitFrames += size;
        if (m.x >= 64) u.directSpare += P;
        else {
          const data = dataBytesOfPart(m.x, frameLength, P);
          u.directData += data;
          u.directPadding += P - data;
        }
      } else {
        u.repairs += size;
        u.repairMessages++;
      }
      return;
    case 'cs-chunk':
      if (cause === 'segment-repair') u.segmentRepairs += size;
      else u.segments += size;
      return;
    case 'manifest':
      if (cause === 'answer') u.manifestAnswers += size;
      else u.manifests += size;
      return;
    case 'init-segment':
      u.initAnswers += size;
      return;
    default:
      u.control += size;
  }
}
