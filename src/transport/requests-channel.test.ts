// The requests channel over real WebRTC (@roamhq/wrtc, loopback), as Node peers run it: both
// sides open it and say so, then messages sent on `requests` come on `requests`; a peer without the
// channel (an older version, here `requestsChannel: false`) gets them on control and stays connected.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { relaySignals } from './relay-signals.ts';
import type { Channel } from './transport.ts';
import type { TransportConfig } from './transport-config.ts';
import { WebRtcTransport, type WebRtcImplementation } from './web-rtc-transport.ts';

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as WebRtcImplementation;
const made: WebRtcTransport[] = [];
afterEach(() => {
  for (const t of made.splice(0)) t.destroy();
});

async function pair(configB: Partial<TransportConfig> = {}) {
  const a = new WebRtcTransport({}, undefined, wrtc);
  const b = new WebRtcTransport(configB, undefined, wrtc);
  made.push(a, b);
  relaySignals({ A: a, B: b });
  const got: Record<'A' | 'B', Array<[Channel, number]>> = { A: [], B: [] };
  a.on('message', (_p, ch, bytes) => got.A.push([ch, bytes[0]]));
  b.on('message', (_p, ch, bytes) => got.B.push([ch, bytes[0]]));
  const up = Promise.all([a, b].map((t) => new Promise<void>((resolve, reject) => {
    t.on('connected', () => resolve());
    t.on('failed', (_p, reason, detail) => reject(new Error(`${reason}: ${detail}`)));
  })));
  a.connect('B', { initiator: true });
  await up;
  return { a, b, got };
}

/** Waits (real time) until `check` holds; fails after 10 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`no ${what}`);
}

describe('WebRtcTransport: the requests channel over @roamhq/wrtc', () => {
  it('opens on both sides, each says so, and carries requests messages on it', async () => {
    const { a, b, got } = await pair();
    await until(() => !!a.stats('B')?.requestsOpen && !!b.stats('A')?.requestsOpen, 'ready frames');
    expect(a.send('B', 'requests', new Uint8Array([3, 1]))).toBe(true);
    expect(b.send('A', 'requests', new Uint8Array([4, 2]))).toBe(true);
    await until(() => got.A.length + got.B.length === 2, 'messages');
    expect(got).toEqual({ A: [['requests', 4]], B: [['requests', 3]] });
    expect(a.stats('B')).toMatchObject({ requestsOnControl: 0, requests: { messagesOut: 1, messagesIn: 1, droppedIn: 0 } });
  });

  it('sends them on control to a peer without the channel, which stays connected', async () => {
    const { a, b, got } = await pair({ requestsChannel: false });
    // A round trip on control after the connection: A's ready frame, if B had a channel, would be in.
    expect(b.send('A', 'control', new Uint8Array([9]))).toBe(true);
    await until(() => got.A.length === 1, 'control message');
    expect(a.send('B', 'requests', new Uint8Array([3]))).toBe(true);
    expect(b.send('A', 'requests', new Uint8Array([4]))).toBe(true);
    await until(() => got.A.length === 2 && got.B.length === 1, 'messages');
    expect(got).toEqual({ A: [['control', 9], ['control', 4]], B: [['control', 3]] });
    expect(a.stats('B')).toMatchObject({ requestsOpen: false, requestsOnControl: 1 });
    expect(b.peerState('A')).toBe('connected');
    expect(a.peerState('B')).toBe('connected');
  });
});
