// Node's datachannels (@roamhq/wrtc) answer every property read with a blocking call into WebRTC's
// signalling thread. A WebRtcTransport over them reads `bufferedAmount` only when the bytes sent
// since its last read may pass the mark, at most once per BUFFERED_READ_MS of its clock, and not at
// all while nothing was buffered and nothing sent, so a burst of sends costs one read or none; it reads `readyState` only when a send throws, and
// then answers false as before for a channel that is not open. Media messages of one turn leave in
// batches, one native send each. Real WebRTC over loopback; the counts do not depend on the
// machine's speed (the transport's clock is frozen, or the sends all happen in one turn).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { relaySignals } from './relay-signals.ts';
import { realClock, type TransportClock } from './transport-clock.ts';
import { BUFFERED_READ_MS, WebRtcTransport, type WebRtcImplementation } from './web-rtc-transport.ts';

interface Wrtc {
  RTCPeerConnection: new (config?: RTCConfiguration) => RTCPeerConnection;
  RTCSessionDescription: unknown;
  RTCIceCandidate: unknown;
}

/** @roamhq/wrtc whose datachannels count reads of `bufferedAmount` and `readyState`. */
function countingWrtc(): { impl: WebRtcImplementation; reads: () => number; stateReads: () => number; sends: () => number; channels: RTCDataChannel[] } {
  const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as Wrtc;
  let reads = 0;
  let stateReads = 0;
  let sends = 0;
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
      const send = dc.send.bind(dc) as (data: Uint8Array) => void;
      Object.defineProperty(dc, 'send', {
        value: (data: Uint8Array) => {
          if (label === 'media') sends++;
          send(data);
        },
      });
      channels.push(dc);
      return dc;
    }
  }
  return { impl: { ...wrtc, RTCPeerConnection: CountingPeerConnection }, reads: () => reads, stateReads: () => stateReads, sends: () => sends, channels };
}

/** A clock that moves only when told; its timers never fire (nothing here waits on them). */
function frozenClock(): TransportClock & { t: number } {
  return { t: 0, now() { return this.t; }, setTimeout: () => 0, clearTimeout: () => {} };
}

describe('WebRtcTransport over @roamhq/wrtc', () => {
  it('does not ask a channel that held nothing at its last read and was sent nothing since', async () => {
    const { impl, reads } = countingWrtc();
    const clock = frozenClock();
    const a = new WebRtcTransport({}, clock, impl);
    const b = new WebRtcTransport({}, clock, impl);
    const unwire = relaySignals({ A: a, B: b });
    try {
      const up = Promise.all([a, b].map((t) => new Promise<void>((resolve, reject) => {
        t.on('connected', () => resolve());
        t.on('failed', (_p, reason, detail) => reject(new Error(`${reason}: ${detail}`)));
      })));
      a.connect('B', { initiator: true });
      await up;
      const before = reads();
      expect(a.bufferedAmount('B', 'media')).toBe(0);
      expect(reads() - before).toBe(1);
      clock.t += 10 * BUFFERED_READ_MS;
      expect(a.bufferedAmount('B', 'media')).toBe(0);
      expect(reads() - before).toBe(1);
      expect(a.send('B', 'media', new Uint8Array(100))).toBe(true);
      await Promise.resolve(); // the turn's batch leaves
      clock.t += BUFFERED_READ_MS;
      a.bufferedAmount('B', 'media');
      expect(reads() - before).toBe(2);
    } finally {
      unwire();
      a.destroy();
      b.destroy();
    }
  }, 30_000);

  it('reads bufferedAmount only when the bytes sent since the last read may pass the mark, at most once per BUFFERED_READ_MS', async () => {
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
      // 50 × 100 bytes (and their framing) stay under the high-water mark even if none left: no read.
      expect(reads() - before).toBe(0);
      expect(stateReads() - statesBefore).toBe(0);
      // Past the mark by that count, the channel is asked, once in a BUFFERED_READ_MS however many sends.
      for (let i = 0; i < 50; i++) if (a.canSend('B', 'media', msg.length)) a.send('B', 'media', msg);
      expect(reads() - before).toBe(1);
      clock.t += BUFFERED_READ_MS;
      a.bufferedAmount('B', 'media');
      expect(reads() - before).toBe(2);
      const deadline = Date.now() + 10_000;
      while (got === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(got).toBeGreaterThan(0);
      // A channel closing under the transport (before its close event is handled): send answers
      // false, as the readyState check before each send did, and does not throw.
      const media = channels.find((dc) => dc.label === 'media')!;
      // (A message too large to share a batch: a batched one is counted dropped at the end of the turn.)
      media.close();
      expect(a.send('B', 'media', new Uint8Array(1163))).toBe(false);
    } finally {
      unwire();
      a.destroy();
      b.destroy();
    }
  }, 30_000);

  it('hands the media messages of one turn to the channel in batches: 40 feed packets, 5 native sends', async () => {
    const run = async (batchMedia: boolean) => {
      const { impl, sends } = countingWrtc();
      const a = new WebRtcTransport({ batchMedia }, realClock, impl);
      const b = new WebRtcTransport({}, realClock, impl);
      const unwire = relaySignals({ A: a, B: b });
      try {
        const got: number[] = [];
        b.on('message', (_p, channel, bytes) => channel === 'media' && got.push(bytes[0] | (bytes[134] << 8)));
        const up = Promise.all([a, b].map((t) => new Promise<void>((resolve, reject) => {
          t.on('connected', () => resolve());
          t.on('failed', (_p, reason, detail) => reject(new Error(`${reason}: ${detail}`)));
        })));
        a.connect('B', { initiator: true });
        await up;
        const before = sends();
        // Feed packets of an 8 KiB frame (135 bytes), a frame's worth for one neighbour, in one turn.
        for (let i = 0; i < 40; i++) {
          const m = new Uint8Array(135).fill(i + 1);
          m[134] = 7;
          expect(a.send('B', 'media', m)).toBe(true);
        }
        await Promise.resolve();
        const sent = sends() - before;
        const deadline = Date.now() + 10_000;
        while (got.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        return { sent, got: got.sort((x, y) => x - y), stats: a.stats('B')!.media };
      } finally {
        unwire();
        a.destroy();
        b.destroy();
      }
    };
    const batched = await run(true);
    const single = await run(false);
    const all = Array.from({ length: 40 }, (_, i) => (i + 1) | (7 << 8));
    expect(single.sent).toBe(40);
    expect(batched.sent).toBe(5);
    // Media may be lost (maxRetransmits 0), so only what arrived is compared: intact, once each.
    for (const r of [batched, single]) {
      expect(r.got.length).toBeGreaterThan(0);
      expect(new Set(r.got).size).toBe(r.got.length);
      for (const m of r.got) expect(all).toContain(m);
    }
    expect(batched.stats).toMatchObject({ messagesOut: 40, linkMessagesOut: 5, droppedOut: 0 });
  }, 30_000);
});
