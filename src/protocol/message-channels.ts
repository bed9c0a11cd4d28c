// Which wire messages ride the transport's reliable unordered `requests` channel, and the check a
// receiver makes of what comes on it. Pure; used by the session's core driver (both directions)
// and by the simulator, which models the same routing.
//
// Only REQUEST goes there. It is the message the late frames wait for (a lost control message
// held every REQUEST behind it on the ordered channel), and nothing about it depends on order: it
// names its frame and keys, is served from what the receiver holds, and its budget is a count per
// neighbour and frame, the same in any order. The other small control messages stay on `control`:
// HAVE entries build on the ones before them (keys already told are not told again), SUBSCRIBE
// and its `on: false` must not cross, MANIFEST-REQUEST / INIT-REQUEST / SEED-REQUEST are few and
// were not measured to wait.

import { T, WIRE_VERSION, type WireMessage } from './wire.ts';

/** Wire message types sent on the requests channel. */
export const REQUESTS_CHANNEL_TYPES: ReadonlySet<WireMessage['type']> = new Set(['request']);

/** Wire type bytes accepted on the requests channel (the same set, as bytes). */
const ACCEPTED_TYPE_BYTES: ReadonlySet<number> = new Set([T.request]);

/** True when a message of this type is sent on the requests channel. */
export function onRequestsChannel(type: WireMessage['type']): boolean {
  return REQUESTS_CHANNEL_TYPES.has(type);
}

/**
 * True when bytes that came on the requests channel may be a message meant for it (its version
 * and type bytes say so; the core parses the rest as from any channel). Anything else there is
 * out of protocol, whatever it would mean on another channel: the receiver refuses it and counts
 * it against the sender.
 */
export function requestsChannelAccepts(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && bytes[0] === WIRE_VERSION && ACCEPTED_TYPE_BYTES.has(bytes[1]);
}
