import { describe, expect, it } from 'vitest';
import { isP2PError } from '../errors.ts';
import { MEDIA_CHANNEL_ID, WebRtcTransport } from './web-rtc-transport.ts';

// The browser behaviour is covered by e2e/transport.spec.ts; here only what Node can check.
describe('WebRtcTransport outside a browser', () => {
  it('loads simple-peer and refuses to start without RTCPeerConnection', () => {
    expect(MEDIA_CHANNEL_ID).toBe(2);
    expect(() => new WebRtcTransport()).toThrow(expect.objectContaining({ code: 'TRANSPORT_NO_WEBRTC' }));
  });

  it('checks its config before anything else', () => {
    try {
      new WebRtcTransport({ connectTimeoutMs: 5 });
      throw new Error('accepted');
    } catch (e) {
      expect(isP2PError(e, 'TRANSPORT_BAD_CONFIG')).toBe(true);
    }
  });
});
