// Node's datachannels (@roamhq/wrtc) answer every property read with a blocking call into WebRTC's
// signalling thread. A WebRtcTransport over them reads `bufferedAmount` at most once per
// BUFFERED_READ_MS of its clock and counts the bytes it sent in between, so a burst of sends costs
// one read, not one per send (and per canSend); it reads `readyState` only when a send throws, and
// then answers false as before for a channel that is not open. Real WebRTC over loopback; the
// transport's clock is frozen, so the counts do not depend on the machine's speed.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { relaySignals } from './relay-signals.ts';
import type { TransportClock } from './transport-clock.ts';
import { BUFFERED_READ_MS, WebRtcTransport, type WebRtcImplementation } from './web-rtc-transport.ts';

interface Wrtc {
  RTCPeerConnection: new (config?: RTCConfiguration) => RTCPeerConnection;
  RTCSessionDescription: unknown;
  RTCIceCandidate: unknown;
}

/** @roamhq/wrtc whose datachannels count reads of `bufferedAmount` and `readyState`. */
function countingWrtc(): { impl: WebRtcImplementation; reads: () => number; stateReads: () => number; channels: RTCDataChannel[] } {
  const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as Wrtc;
  let reads = 0;
  let stateReads = 0;
  const channels: RTCDataChannel[] = [];
  class CountingPeerConnection extends wrtc.RTCPeerConnection {
    override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
      const dc = super.createDataChannel(label, init);
      const proto = Object.getPrototypeOf(dc) as object;
      const buffered = Object.getOwnPropertyDescriptor(proto, 'bufferedAmount')!.get!;
      const state = Object.getOwnPropertyDescriptor(proto, 'readyState')!.get!;
      Object.defineProperty(dc, 'bufferedAmount', {
        get() {
          reads++;
          return buffered.call(dc) as number;
        },
      });
      Object.defineProperty(dc, 'readyState', {
        get() {
          stateReads++;
          return state.call(dc) as RTCDataChannelState;
        },
      });
      channels.push(dc);
      return dc;
    }
  }
  return { impl: { ...wrtc, RTCPeerConnection: CountingPeerConnection }, reads: () => reads, stateReads: () => stateReads, channels };
}

/** A clock that moves only when told; its timers never fire (nothing here waits on them). */
function frozenClock(): TransportClock & { t: number } {
  return { t: 0, now() { return this.t; }, setTimeout: () => 0, clearTimeout: () => {} };
}

describe('WebRtcTransport over @roamhq/wrtc', () => {
  it('reads bufferedAmount once per BUFFERED_READ_MS, counting the bytes it sent in between', async () => {
    const { impl, reads, stateReads, channels } = countingWrtc();
    const clock = frozenClock();
    const a = new WebRtcTransport({}, clock, impl);
    const b = new WebRtcTransport({}, clock, impl);
    const unwire = relaySignals({ A: a, B: b });
    try {
      let got = 0;
      b.on('message', (_p, channel) => channel === 'media' && got++);
      const up = Promise.all([a, b].map((t) => new Promise<void>((resolve, reject) => {
        t.on('connected', () => resolve());
        t.on('failed', (_p, reason, detail) => reject(new Error(`${reason}: ${detail}`)));
      })));
      a.connect('B', { initiator: true });
      await up;
      clock.t += BUFFERED_READ_MS;
      const before = reads();
      const statesBefore = stateReads();
      const msg = new Uint8Array(100);
      let sent = 0;
      for (let i = 0; i < 50; i++) {
        if (a.canSend('B', 'media', msg.length) && a.send('B', 'media', msg)) sent++;
      }
      expect(sent).toBe(50);
      expect(reads() - before).toBe(1);
      expect(stateReads() - statesBefore).toBe(0);
      // Between reads it counts what went out since the last one: never below the truth.
      expect(a.bufferedAmount('B', 'media')).toBeGreaterThanOrEqual(50 * msg.length);
      clock.t += BUFFERED_READ_MS;
      a.bufferedAmount('B', 'media');
      expect(reads() - before).toBe(2);
      const deadline = Date.now() + 10_000;
      while (got === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(got).toBeGreaterThan(0);
      // A channel closing under the transport (before its close event is handled): send answers
      // false, as the readyState check before each send did, and does not throw.
      const media = channels.find((dc) => dc.label === 'media')!;
      media.close();
      expect(a.send('B', 'media', msg)).toBe(false);
    } finally {
      unwire();
      a.destroy();
      b.destroy();
    }
  }, 30_000);
});
