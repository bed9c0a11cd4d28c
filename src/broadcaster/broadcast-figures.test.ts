import { describe, expect, it } from 'vitest';
import { BROADCASTER_NEXT_STEP, UploadMeter, bitrateNote, broadcasterErrorText, noWebRtcError } from './broadcast-figures.ts';
import { P2PError } from '../errors.ts';

describe('UploadMeter', () => {
  it('counts upload / stream only since a viewer came: one viewer fed directly reads 1.0, not diluted', () => {
    const m = new UploadMeter(10_000);
    // 60 s alone: 100 kB/s of stream, nothing uploaded.
    for (let t = 0; t <= 60; t++) expect(m.push({ atMs: t * 1000, viewers: 0, streamBytes: t * 100_000, bytesUp: 0 }).uploadPerStream).toBeNull();
    // A viewer joins and gets every stream byte from the broadcaster for 20 s.
    let f = m.figures();
    for (let t = 61; t <= 80; t++) f = m.push({ atMs: t * 1000, viewers: 1, streamBytes: t * 100_000, bytesUp: (t - 60) * 100_000 });
    expect(f.uploadPerStream).toBeCloseTo(1, 5);
    expect(f.carriedByPeers).toBeCloseTo(0, 5);
    expect(f.windowS).toBeGreaterThanOrEqual(9);
    expect(f.windowS).toBeLessThanOrEqual(10);
  });

  it('with four viewers and 1.2 stream uploaded, peers carry 70 % of what viewers receive', () => {
    const m = new UploadMeter(10_000);
    let f = m.figures();
    for (let t = 0; t <= 30; t++) f = m.push({ atMs: t * 1000, viewers: 4, streamBytes: t * 1000, bytesUp: t * 1200 });
    expect(f.uploadPerStream).toBeCloseTo(1.2, 5);
    expect(f.carriedByPeers).toBeCloseTo(0.7, 5);
  });

  it('starts over when everyone leaves or the counters go back (a new session)', () => {
    const m = new UploadMeter(10_000);
    for (let t = 0; t < 5; t++) m.push({ atMs: t * 1000, viewers: 2, streamBytes: t * 1000, bytesUp: t * 3000 });
    expect(m.push({ atMs: 5000, viewers: 0, streamBytes: 5000, bytesUp: 15_000 }).uploadPerStream).toBeNull();
    m.push({ atMs: 6000, viewers: 1, streamBytes: 6000, bytesUp: 15_000 });
    expect(m.push({ atMs: 7000, viewers: 1, streamBytes: 7000, bytesUp: 16_000 }).uploadPerStream).toBeCloseTo(1, 5);
    m.push({ atMs: 8000, viewers: 1, streamBytes: 10, bytesUp: 10 });
    expect(m.figures().uploadPerStream).toBeNull();
  });
});

describe('bitrateNote', () => {
  it('explains a stream far below the chosen bitrate once the encoder has settled', () => {
    expect(bitrateNote(1_500_000, 250_000, 16)).toMatch(/1\.5 Mbit\/s is a ceiling.*250 kbit\/s now/);
    expect(bitrateNote(1_500_000, 250_000, 2)).toBeNull();
    expect(bitrateNote(1_500_000, 1_400_000, 16)).toBeNull();
  });
});

describe('broadcaster error text', () => {
  it('says what to do next for every code the page shows, and for unknown errors', () => {
    for (const code of Object.keys(BROADCASTER_NEXT_STEP)) {
      expect(broadcasterErrorText(new P2PError(code, 'x'))).toContain(BROADCASTER_NEXT_STEP[code]);
    }
    expect(broadcasterErrorText(new Error('boom'))).toMatch(/^boom\. Reload the page/);
  });
});

describe('noWebRtcError', () => {
  it('stops a broadcaster without RTCPeerConnection with TRANSPORT_NO_WEBRTC and says what to use instead', () => {
    expect(noWebRtcError({ RTCPeerConnection: class {} })).toBeNull();
    const e = noWebRtcError({});
    expect(e?.code).toBe('TRANSPORT_NO_WEBRTC');
    expect(broadcasterErrorText(e)).toMatch(/no WebRTC .*no viewer could receive the stream\. Broadcast from a browser with WebRTC/);
  });
});
