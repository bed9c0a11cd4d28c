// The one typed configuration of the transports, its documented defaults and the resolve step
// that rejects bad values with a precise P2PError('TRANSPORT_BAD_CONFIG'). Pure; no I/O.
// Called by WebRtcTransport and MemoryTransport constructors.

import { P2PError } from '../errors.ts';
import { CONTROL_MESSAGE_LIMIT_BYTES, MEDIA_MESSAGE_LIMIT_BYTES, REQUESTS_MESSAGE_LIMIT_BYTES } from './transport.ts';
import type { ListenerErrorHandler } from '../typed-emitter.ts';

/** One STUN or TURN server, as in RTCIceServer. TURN needs `username` and `credential`. */
export interface IceServerConfig {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface TransportConfig {
  /** STUN/TURN servers. Default: none (loopback and LAN need none). */
  iceServers: IceServerConfig[];
  /**
   * `relay` forces TURN (peers see only the relay's address). The TURN server may come later
   * (`WebRtcTransport.setIceServers`, from the tracker); until one is known no connection can form.
   * Default `all`.
   */
  iceTransportPolicy: 'all' | 'relay';
  /** A peer not connected this long after `connect` (or its inbound offer) fails with `connect-timeout`. Default 10 000. */
  connectTimeoutMs: number;
  /** A connected peer whose ICE stays disconnected, or whose send buffer makes no progress, this long fails with `stalled`. Default 8 000. */
  stallTimeoutMs: number;
  /** Most peers at once (connecting and connected). Default 64. */
  maxPeers: number;
  /** Most peers still connecting at once (bounds work a flood of offers can cause). Default 10. */
  maxPendingConnections: number;
  /** Accept offers from peers not announced with `connect`. Default true. */
  acceptInbound: boolean;
  /** Largest media message, sent or received. Default and upper bound 1163. */
  maxMediaMessageBytes: number;
  /** Largest control message, sent or received. Default 65 536; upper bound 262 144. */
  maxControlMessageBytes: number;
  /**
   * Largest message on the requests channel, sent or received (one falling back to control too).
   * Default and upper bound 1163 (the smaller of it and maxControlMessageBytes applies).
   */
  maxRequestsMessageBytes: number;
  /**
   * Open the reliable unordered `requests` channel and use it once the remote's is open. False:
   * none is opened and `requests` sends go on `control` (as to a peer without the channel). Default true.
   */
  requestsChannel: boolean;
  /**
   * Packs the small media messages sent to one peer within one turn of the event loop into one
   * datachannel message (at most `maxMediaMessageBytes`), handed over at the end of the turn.
   * Inbound batches are split whatever this says. Default true.
   */
  batchMedia: boolean;
  /**
   * Packs the control messages up to 16 KiB sent to one peer within one turn into one datachannel
   * message of at most CONTROL_BATCH_BYTES (the channel is reliable and ordered, so order holds),
   * handed over at the end of the turn; likewise requests-channel messages, in batches of at most
   * maxRequestsMessageBytes. Inbound batches are split whatever this says. Default true.
   */
  batchControl: boolean;
  /**
   * How long a media batch may wait for more messages, ms (with `batchMedia`): a peer's media batch
   * leaves this long after the first message of the window (sooner when full, or when a message too
   * large to share it is sent) instead of at the end of the turn. Answers to requests that arrive
   * in separate turns then share datachannel messages: each one costs a blocking call into WebRTC's
   * threads at both ends (in @roamhq/wrtc about 0.5 ms of CPU in all). Adds up to this much to the
   * latency of each media message. Control batches still leave at the end of the turn.
   * 0 (the end of the turn) … 50. Default 0.
   */
  mediaHoldMs: number;
  /** Media sends are dropped while `bufferedAmount + size` would exceed this. Default 8 × 1163 = 9 304. */
  mediaHighWaterBytes: number;
  /** `writable` fires for media when `bufferedAmount` falls to this. Default 2 × 1163 = 2 326. */
  mediaLowWaterBytes: number;
  /** Control (and requests) sends throw TRANSPORT_CONTROL_FULL while `bufferedAmount + size` would exceed this. Default 1 MiB. */
  controlHighWaterBytes: number;
  /** `writable` fires for control (and requests) when `bufferedAmount` falls to this. Default 256 KiB. */
  controlLowWaterBytes: number;
  /** Largest SDP accepted in an inbound offer or answer, in UTF-16 code units. Default 65 536. */
  maxSdpBytes: number;
  /** Most ICE candidates accepted from one peer. Default 64. */
  maxCandidatesPerPeer: number;
  /** Called when an event listener throws (the transport itself carries on). Default: console.error. */
  onListenerError?: ListenerErrorHandler;
}

/** Largest ICE candidate line accepted. */
export const MAX_CANDIDATE_BYTES = 1024;

export const DEFAULT_TRANSPORT_CONFIG: Readonly<TransportConfig> = Object.freeze({
  iceServers: [],
  iceTransportPolicy: 'all',
  connectTimeoutMs: 10_000,
  stallTimeoutMs: 8_000,
  maxPeers: 64,
  maxPendingConnections: 10,
  acceptInbound: true,
  maxMediaMessageBytes: MEDIA_MESSAGE_LIMIT_BYTES,
  maxControlMessageBytes: 64 * 1024,
  maxRequestsMessageBytes: REQUESTS_MESSAGE_LIMIT_BYTES,
  requestsChannel: true,
  batchMedia: true,
  batchControl: true,
  mediaHoldMs: 0,
  mediaHighWaterBytes: 8 * MEDIA_MESSAGE_LIMIT_BYTES,
  mediaLowWaterBytes: 2 * MEDIA_MESSAGE_LIMIT_BYTES,
  controlHighWaterBytes: 1024 * 1024,
  controlLowWaterBytes: 256 * 1024,
  maxSdpBytes: 64 * 1024,
  maxCandidatesPerPeer: 64,
});

type IntKey = Exclude<
  { [K in keyof TransportConfig]: TransportConfig[K] extends number ? K : never }[keyof TransportConfig],
  undefined
>;

const INT_RANGES: Record<IntKey, [number, number]> = {
  connectTimeoutMs: [100, 600_000],
  stallTimeoutMs: [100, 600_000],
  maxPeers: [1, 1000],
  maxPendingConnections: [1, 1000],
  maxMediaMessageBytes: [1, MEDIA_MESSAGE_LIMIT_BYTES],
  maxControlMessageBytes: [1, CONTROL_MESSAGE_LIMIT_BYTES],
  maxRequestsMessageBytes: [1, REQUESTS_MESSAGE_LIMIT_BYTES],
  mediaHoldMs: [0, 50],
  mediaHighWaterBytes: [1, 16 * 1024 * 1024],
  mediaLowWaterBytes: [0, 16 * 1024 * 1024],
  controlHighWaterBytes: [1, 16 * 1024 * 1024],
  controlLowWaterBytes: [0, 16 * 1024 * 1024],
  maxSdpBytes: [256, 1024 * 1024],
  maxCandidatesPerPeer: [1, 10_000],
};

const KNOWN_KEYS = new Set<string>([...Object.keys(DEFAULT_TRANSPORT_CONFIG), 'onListenerError']);

const bad = (message: string): P2PError => new P2PError('TRANSPORT_BAD_CONFIG', message);

function checkIceServers(value: unknown): IceServerConfig[] {
  if (!Array.isArray(value)) throw bad(`iceServers must be an array (got ${typeof value})`);
  return value.map((server: unknown, i) => {
    if (!server || typeof server !== 'object') throw bad(`iceServers[${i}] must be an object`);
    const s = server as Record<string, unknown>;
    const urls = typeof s.urls === 'string' ? [s.urls] : s.urls;
    if (!Array.isArray(urls) || urls.length === 0) throw bad(`iceServers[${i}].urls must be a URL or a non-empty array of URLs`);
    let turn = false;
    for (const url of urls) {
      if (typeof url !== 'string' || !/^(stun|stuns|turn|turns):[^\s]+$/.test(url)) {
        throw bad(`iceServers[${i}].urls has ${JSON.stringify(url)}; expected stun:, stuns:, turn: or turns: URLs`);
      }
      if (url.startsWith('turn')) turn = true;
    }
    for (const key of ['username', 'credential'] as const) {
      if (s[key] !== undefined && typeof s[key] !== 'string') throw bad(`iceServers[${i}].${key} must be a string`);
      if (turn && typeof s[key] !== 'string') throw bad(`iceServers[${i}] is a TURN server and needs a ${key}`);
    }
    const out: IceServerConfig = { urls: [...urls] as string[] };
    if (typeof s.username === 'string') out.username = s.username;
    if (typeof s.credential === 'string') out.credential = s.credential;
    return out;
  });
}

/**
 * Fills defaults and checks every field. Throws P2PError('TRANSPORT_BAD_CONFIG') naming the
 * field, the allowed range and the value given; unknown keys are rejected (typos).
 */
export function resolveTransportConfig(partial: Partial<TransportConfig> = {}): Readonly<TransportConfig> {
  if (!partial || typeof partial !== 'object') throw bad('config must be an object');
  for (const key of Object.keys(partial)) {
    if (!KNOWN_KEYS.has(key)) throw bad(`unknown option "${key}"`);
  }
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const c: TransportConfig = { ...DEFAULT_TRANSPORT_CONFIG, ...given };

  for (const [key, [min, max]] of Object.entries(INT_RANGES) as Array<[IntKey, [number, number]]>) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw bad(`${key} must be an integer from ${min} to ${max} (got ${String(v)})`);
    }
  }
  c.iceServers = checkIceServers(c.iceServers);
  if (c.iceTransportPolicy !== 'all' && c.iceTransportPolicy !== 'relay') {
    throw bad(`iceTransportPolicy must be "all" or "relay" (got ${String(c.iceTransportPolicy)})`);
  }
  if (typeof c.acceptInbound !== 'boolean') throw bad(`acceptInbound must be a boolean (got ${String(c.acceptInbound)})`);
  if (typeof c.batchMedia !== 'boolean') throw bad(`batchMedia must be a boolean (got ${String(c.batchMedia)})`);
  if (typeof c.requestsChannel !== 'boolean') throw bad(`requestsChannel must be a boolean (got ${String(c.requestsChannel)})`);
  if (typeof c.batchControl !== 'boolean') throw bad(`batchControl must be a boolean (got ${String(c.batchControl)})`);
  if (c.onListenerError !== undefined && typeof c.onListenerError !== 'function') throw bad('onListenerError must be a function');
  if (c.maxPendingConnections > c.maxPeers) {
    throw bad(`maxPendingConnections (${c.maxPendingConnections}) must not exceed maxPeers (${c.maxPeers})`);
  }
  if (c.mediaHighWaterBytes < c.maxMediaMessageBytes) {
    throw bad(`mediaHighWaterBytes (${c.mediaHighWaterBytes}) must be at least maxMediaMessageBytes (${c.maxMediaMessageBytes})`);
  }
  if (c.mediaLowWaterBytes >= c.mediaHighWaterBytes) {
    throw bad(`mediaLowWaterBytes (${c.mediaLowWaterBytes}) must be below mediaHighWaterBytes (${c.mediaHighWaterBytes})`);
  }
  if (c.controlHighWaterBytes < c.maxControlMessageBytes) {
    throw bad(`controlHighWaterBytes (${c.controlHighWaterBytes}) must be at least maxControlMessageBytes (${c.maxControlMessageBytes})`);
  }
  if (c.controlLowWaterBytes >= c.controlHighWaterBytes) {
    throw bad(`controlLowWaterBytes (${c.controlLowWaterBytes}) must be below controlHighWaterBytes (${c.controlHighWaterBytes})`);
  }
  return Object.freeze(c);
}
