import { describe, expect, it } from 'vitest';
import { MEDIA_CHANNEL_ID, WebRtcTransport } from './web-rtc-transport.ts';
import { expectCode } from '../expect-code.ts';

// The browser behaviour is covered by e2e/transport.spec.ts; here only what Node can check.
describe('WebRtcTransport outside a browser', () => {
  it('loads simple-peer and refuses to start without RTCPeerConnection', () => {
    expect(MEDIA_CHANNEL_ID).toBe(2);
    expectCode(() => new WebRtcTransport(), 'TRANSPORT_NO_WEBRTC');
  });

  it('checks its config before anything else', () => {
    expectCode(() => new WebRtcTransport({ connectTimeoutMs: 5 }), 'TRANSPORT_BAD_CONFIG');
  });
});
