// Test page for the WebRTC transport: exposes `window.transportTest` so a browser test can create
// a WebRtcTransport, relay its signals through the test (no server) and send and inspect messages.
// Loaded only by e2e/pages/transport.html; the product never imports it.

import { isP2PError } from '../../src/errors.ts';
import type { Channel, TransportConfig } from '../../src/transport/index.ts';
import { WebRtcTransport } from '../../src/transport/index.ts';

declare global {
  interface Window {
    /** Provided by the test (page.exposeFunction): carries a signal to peer `to`. */
    relaySignal?: (to: string, blob: unknown) => Promise<void>;
    transportTest: typeof api;
  }
}

let transport: WebRtcTransport | undefined;
const events: string[] = [];
const messages: Array<{ from: string; channel: Channel; size: number; first: number }> = [];

const t = (): WebRtcTransport => {
  if (!transport) throw new Error('call init first');
  return transport;
};

const errorCode = (e: unknown): string => (isP2PError(e) ? e.code : `unexpected: ${String(e)}`);

const api = {
  init(config: Partial<TransportConfig> = {}): void {
    transport = new WebRtcTransport(config);
    transport.on('signal', (to, blob) => void window.relaySignal?.(to, JSON.parse(JSON.stringify(blob))));
    transport.on('connected', (p) => events.push(`connected ${p}`));
    transport.on('disconnected', (p, why) => events.push(`disconnected ${p} ${why}`));
    transport.on('failed', (p, why) => events.push(`failed ${p} ${why}`));
    transport.on('writable', (p, ch) => events.push(`writable ${p} ${ch}`));
    transport.on('message', (from, channel, bytes) => messages.push({ from, channel, size: bytes.byteLength, first: bytes[0] }));
  },
  connect(peerId: string, initiator: boolean): void {
    t().connect(peerId, { initiator });
  },
  signal(from: string, blob: unknown): boolean {
    return t().signal(from, blob);
  },
  /** Sends `size` bytes filled with `fill`; returns true/false, or the P2PError code thrown. */
  send(peerId: string, channel: Channel, size: number, fill = 1): boolean | string {
    try {
      return t().send(peerId, channel, new Uint8Array(size).fill(fill));
    } catch (e) {
      return errorCode(e);
    }
  },
  /** Sends `count` messages in one synchronous loop, as a sender that ignores back-pressure would. */
  flood(peerId: string, channel: Channel, count: number, size: number) {
    let sent = 0;
    let refused = 0;
    let maxBuffered = 0;
    let firstError = '';
    for (let i = 0; i < count; i++) {
      try {
        if (t().send(peerId, channel, new Uint8Array(size).fill(i & 255))) sent++;
        else refused++;
      } catch (e) {
        refused++;
        firstError ||= errorCode(e);
      }
      maxBuffered = Math.max(maxBuffered, t().bufferedAmount(peerId, channel));
    }
    return { sent, refused, maxBuffered, firstError };
  },
  events: () => [...events],
  messages: () => [...messages],
  stats: (peerId: string) => t().stats(peerId),
  linkInfo: (peerId: string) => t().linkInfo(peerId),
  transportStats: () => t().transportStats(),
  peers: () => t().peers(),
  close: (peerId: string) => t().close(peerId),
};

window.transportTest = api;
