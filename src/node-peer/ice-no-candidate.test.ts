// A connection whose ICE gathering ends with no usable local candidate (relay only, no relay server:
// as when a network drops UDP) fails at once with `ice-failed`, instead of waiting out the connect
// timeout; a pair that has candidates still connects. Real WebRTC in Node (@roamhq/wrtc).
import { describe, expect, it } from 'vitest';
import { relaySignals } from '../transport/relay-signals.ts';
import type { FailReason } from '../transport/transport.ts';
import { createNodeTransport } from './node-webrtc.ts';

/** The first outcome of `a`'s connection to B: connected, or failed with a reason. */
function outcome(a: ReturnType<typeof createNodeTransport>): Promise<{ connected: true } | { reason: FailReason; detail: string }> {
  return new Promise((resolve) => {
    a.on('connected', () => resolve({ connected: true }));
    a.on('failed', (_p, reason, detail) => resolve({ reason, detail }));
  });
}

describe('WebRTC transport: no usable local candidate', () => {
  // The connect timeout is the largest allowed: a failure that waits for it would end the test by
  // its own timeout instead of giving `ice-failed`.
  const slow = { connectTimeoutMs: 600_000 };

  for (const side of ['initiator', 'answerer'] as const) {
    it(`fails at once with ice-failed when the ${side} gathers no candidate`, async () => {
      const cut = { ...slow, iceTransportPolicy: 'relay' as const, iceServers: [] };
      const a = createNodeTransport(side === 'initiator' ? cut : slow);
      const b = createNodeTransport(side === 'initiator' ? slow : cut);
      const unwire = relaySignals({ A: a, B: b });
      try {
        const cutSide = side === 'initiator' ? a : b;
        const got = outcome(cutSide);
        a.connect('B', { initiator: true });
        expect(await got).toEqual({ reason: 'ice-failed', detail: 'ICE gathering ended with no usable local candidate' });
        expect(cutSide.peers()).toEqual([]);
      } finally {
        unwire();
        a.destroy();
        b.destroy();
      }
    }, 20_000);
  }

  it('a pair with host candidates connects', async () => {
    const a = createNodeTransport(slow);
    const b = createNodeTransport(slow);
    const unwire = relaySignals({ A: a, B: b });
    try {
      const got = outcome(a);
      a.connect('B', { initiator: true });
      expect(await got).toEqual({ connected: true });
    } finally {
      unwire();
      a.destroy();
      b.destroy();
    }
  }, 20_000);
});
