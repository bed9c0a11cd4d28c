// What the broadcast page tells its user, as pure functions: upload per stream byte counted only
// since viewers are watching (not diluted by the stream made before anyone came), the estimated
// share of the stream that viewers carry for each other, why the stream runs below the chosen
// bitrate, and what to do next for every error the page can show. No DOM, no clock (times are given).

import { P2PError } from '../errors.ts';

/** One sample of the broadcast session's counters (bytes since the session started). */
export interface UploadSample {
  atMs: number;
  viewers: number;
  /** Stream bytes published so far. */
  streamBytes: number;
  /** Bytes sent to peers so far. */
  bytesUp: number;
}

export interface UploadFigures {
  viewers: number;
  /** Bytes uploaded per stream byte over the window while viewers watched; null before any viewer. */
  uploadPerStream: number | null;
  /** 1 − upload / (viewers × stream), clipped to 0 … 1: how much of what viewers get comes from peers. */
  carriedByPeers: number | null;
  /** Seconds the figures cover (viewers present the whole time). */
  windowS: number;
}

/**
 * Upload / stream over the last `windowMs` during which at least one viewer was present. Samples from
 * before the current run of viewers (and from any time nobody watched) are left out, so a viewer who
 * joins a broadcast that has run alone for a minute sees ~1.0 with one viewer, not a diluted 0.75.
 */
export class UploadMeter {
  readonly windowMs: number;
  #samples: UploadSample[] = [];

  constructor(windowMs = 10_000) {
    this.windowMs = windowMs;
  }

  push(s: UploadSample): UploadFigures {
    const last = this.#samples.at(-1);
    // Counters that go back (a new session) or a swarm with nobody in it start the window again.
    if (!last || s.viewers === 0 || last.viewers === 0 || s.streamBytes < last.streamBytes || s.bytesUp < last.bytesUp) this.#samples = [];
    if (s.viewers > 0) this.#samples.push(s);
    while (this.#samples.length > 2 && s.atMs - this.#samples[1].atMs >= this.windowMs) this.#samples.shift();
    return this.figures(s.viewers);
  }

  figures(viewers = this.#samples.at(-1)?.viewers ?? 0): UploadFigures {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    const stream = first && last ? last.streamBytes - first.streamBytes : 0;
    if (!first || !last || viewers === 0 || stream <= 0) return { viewers, uploadPerStream: null, carriedByPeers: null, windowS: 0 };
    const up = (last.bytesUp - first.bytesUp) / stream;
    return { viewers, uploadPerStream: up, carriedByPeers: Math.min(1, Math.max(0, 1 - up / viewers)), windowS: (last.atMs - first.atMs) / 1000 };
  }
}

/** Why the stream runs below the chosen bitrate, or null when it is close enough (or just started). */
export function bitrateNote(chosenBps: number, measuredBps: number, liveForS: number): string | null {
  if (liveForS < 4 || measuredBps >= 0.7 * chosenBps) return null;
  return `The chosen ${formatBitrate(chosenBps)} is a ceiling: the encoder spends only what the picture needs, and a still or plain picture needs less (${formatBitrate(measuredBps)} now). A detailed, moving picture uses more.`;
}

export function formatBitrate(bps: number): string {
  return bps >= 1_000_000 ? `${(bps / 1_000_000).toFixed(1)} Mbit/s` : `${Math.round(bps / 1000)} kbit/s`;
}

/** Error codes the broadcast page can show, with the next thing to do. */
export const BROADCASTER_NEXT_STEP: Record<string, string> = {
  MEDIA_UNAVAILABLE: 'Open this page over https (or on localhost) in a current browser.',
  CAPTURE_FAILED: 'Allow camera and microphone for this site (the icon in the address bar), close other apps using the camera, then pick the devices again.',
  NO_VIDEO_CODEC: 'This browser cannot encode a video codec viewers can play: use a current Chrome, Edge or Firefox.',
  ENCODER_FAILED: 'Press Go live again (choose No microphone if the message says so, or a lower resolution); if it keeps failing, reload the page.',
  BAD_CONFIG: 'Pick another resolution or bitrate and press Go live again.',
  BAD_STATE: 'Press Stop, then Go live again.',
  STORAGE_UNAVAILABLE: 'Allow site storage (not in private mode) to keep the same stream id across reloads.',
  BAD_INIT_SEGMENT: 'Press Stop and Go live again; if it keeps failing, try another camera or browser.',
  BAD_FRAGMENT: 'Press Stop and Go live again.',
  TRANSPORT_NO_WEBRTC: 'Broadcast from a browser with WebRTC: a current Chrome, Edge, Firefox or Safari.',
};

/**
 * Before going live: the error to show when this browser has no WebRTC (no RTCPeerConnection, as in
 * WebKitGTK builds without it), since no viewer could receive the stream; null when it has WebRTC.
 */
export function noWebRtcError(scope: { RTCPeerConnection?: unknown } = globalThis): P2PError | null {
  if (typeof scope.RTCPeerConnection === 'function') return null;
  return new P2PError('TRANSPORT_NO_WEBRTC', 'This browser has no WebRTC (RTCPeerConnection), so no viewer could receive the stream');
}

/** The error text the broadcast page shows: the message, then what to do next. */
export function broadcasterErrorText(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  const message = String((e as Error)?.message ?? e);
  const next = typeof code === 'string' ? BROADCASTER_NEXT_STEP[code] : undefined;
  return `${message}. ${next ?? 'Reload the page and try again; if it keeps failing, try another browser.'}`;
}
