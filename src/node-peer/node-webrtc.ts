// WebRTC for Node peers: loads `@roamhq/wrtc` (an optional dependency whose native build ships in
// the package) and makes WebRtcTransports on it, so Node runs the same simple-peer transport as
// browsers. Node-only; used by the Node peer, its CLI, the lab and their tests.

import { createRequire } from 'node:module';
import { P2PError } from '../errors.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import { WebRtcTransport, type WebRtcImplementation } from '../transport/web-rtc-transport.ts';
import { realClock } from '../transport/transport-clock.ts';

let loaded: WebRtcImplementation | undefined;

/** The Node WebRTC implementation. Throws P2PError('TRANSPORT_NO_WEBRTC') when it is not installed. */
export function loadNodeWebRtc(): WebRtcImplementation {
  if (loaded) return loaded;
  try {
    const require = createRequire(import.meta.url);
    loaded = require('@roamhq/wrtc') as WebRtcImplementation;
  } catch (e) {
    throw new P2PError('TRANSPORT_NO_WEBRTC', `Node peers need the @roamhq/wrtc package (npm install @roamhq/wrtc): ${(e as Error).message}`);
  }
  return loaded;
}

/** A WebRtcTransport over Node's WebRTC implementation. */
export function createNodeTransport(config: Partial<TransportConfig> = {}): WebRtcTransport {
  return new WebRtcTransport(config, realClock, loadNodeWebRtc());
}
