// An application-level upload cap for Node peers: a WebRtcTransport whose media sends beyond a
// token bucket are refused (the code absorbs them like any media loss; back-pressure rules stay
// the transport's). Control always goes out but spends tokens too. Node-only; used by NodePeer.

import type { Channel } from '../transport/transport.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import { realClock, type TransportClock } from '../transport/transport-clock.ts';
import { WebRtcTransport, type WebRtcImplementation } from '../transport/web-rtc-transport.ts';

/** Burst of the bucket: 100 ms of the rate, at least four full media messages. */
const BURST_MS = 100;

export class UploadLimitedTransport extends WebRtcTransport {
  readonly uploadLimitBps: number;
  /** Media sends refused by the cap. */
  refusedByLimit = 0;
  #tokens: number;
  #lastMs: number;
  readonly #burst: number;

  constructor(uploadLimitBps: number, config: Partial<TransportConfig>, wrtc: WebRtcImplementation, clock: TransportClock = realClock) {
    super(config, clock, wrtc);
    this.uploadLimitBps = uploadLimitBps;
    this.#burst = Math.max(4 * 1163, (uploadLimitBps / 8) * (BURST_MS / 1000));
    this.#tokens = this.#burst;
    this.#lastMs = clock.now();
  }

  override canSend(peerId: string, channel: Channel, bytes: number): boolean {
    if (channel === 'media' && this.#refill() < bytes) return false;
    return super.canSend(peerId, channel, bytes);
  }

  override send(peerId: string, channel: Channel, bytes: Uint8Array): boolean {
    if (channel === 'media' && this.#refill() < bytes.byteLength) {
      this.refusedByLimit++;
      return false;
    }
    const sent = super.send(peerId, channel, bytes);
    if (sent) this.#tokens -= bytes.byteLength;
    return sent;
  }

  #refill(): number {
    const t = this.clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((t - this.#lastMs) * this.uploadLimitBps) / 8000);
    this.#lastMs = t;
    return this.#tokens;
  }
}
