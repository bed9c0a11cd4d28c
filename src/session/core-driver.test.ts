import { describe, expect, it } from 'vitest';
import type { CoreOutput } from '../protocol/core-types.ts';
import { encodeMessage, parseMessage, type WireMessage } from '../protocol/wire.ts';
import { MemoryNetwork, type MemoryMessageInfo } from '../transport/memory-transport.ts';
import { ManualClock } from '../transport/scripted-transport.ts';
import { CoreDriver, type DrivenCore } from './core-driver.ts';

/** A core that sends what the test queues and records what it is given. */
class FakeCore implements DrivenCore {
  readonly out: CoreOutput[] = [];
  readonly got: Array<{ from: string; type: string }> = [];
  readonly bad: Array<{ from: string; reason: string }> = [];
  handlePeerConnected(): void {}
  handlePeerDisconnected(): void {}
  handleMessage(from: string, bytes: Uint8Array): void {
    const r = parseMessage(bytes);
    this.got.push({ from, type: r.ok ? r.message.type : 'unparsed' });
  }
  handleBadInput(from: string, reason: string): void {
    this.bad.push({ from, reason });
  }
  handleCryptoResult(): void {}
  handleBufferedAmount(): void {}
  nextTimeout(): number | undefined {
    return undefined;
  }
  handleTimeout(): void {}
  pollOutput(): CoreOutput | undefined {
    return this.out.shift();
  }
  destroy(): void {}
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

const have: WireMessage = { type: 'have', entries: [{ seq: 7, flags: 0, keys: [1] }] };
const allowed = new Uint8Array(32);
allowed[0] = 0b110;
const request: WireMessage = { type: 'request', seq: 7, count: 2, allowed };

/** Two drivers over memory transports, 10 ms apart; `hook` sees every message. */
async function drivers(hook?: (m: MemoryMessageInfo) => { extraDelayMs?: number } | void) {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, latencyMs: 10, hook });
  const ta = net.createTransport('A');
  const tb = net.createTransport('B');
  ta.on('signal', (to, blob) => to === 'B' && tb.signal('A', blob));
  tb.on('signal', (to, blob) => to === 'A' && ta.signal('B', blob));
  const a = new FakeCore();
  const b = new FakeCore();
  const da = new CoreDriver(a, ta, { runCrypto: () => undefined }, 64 * 1024);
  const db = new CoreDriver(b, tb, { runCrypto: () => undefined }, 64 * 1024);
  const step = async (ms: number) => {
    for (let i = 0; i < ms; i++) {
      await settle();
      clock.advance(1);
    }
    await settle();
  };
  ta.connect('B', { initiator: true });
  await step(40); // connected, and both requests channels open
  expect(ta.stats('B')?.requestsOpen).toBe(true);
  expect(tb.stats('A')?.requestsOpen).toBe(true);
  return { a, b, da, db, ta, tb, step };
}

describe('CoreDriver: REQUESTs on the requests channel', () => {
  it('sends a REQUEST on the requests channel, so it is not held up by a control message being retransmitted', async () => {
    // A's first HAVE is "lost" and comes 300 ms late, as a retransmission on the ordered channel does.
    let delayed = false;
    const { a, b, da, step } = await drivers((m) => {
      if (m.from === 'A' && m.channel === 'control' && !delayed) {
        delayed = true;
        return { extraDelayMs: 300 };
      }
    });
    a.out.push({ type: 'send', peerId: 'B', channel: 'control', message: have });
    da.drain();
    await step(1);
    a.out.push({ type: 'send', peerId: 'B', channel: 'control', message: have }, { type: 'send', peerId: 'B', channel: 'control', message: request });
    da.drain();
    await step(50);
    expect(b.got).toEqual([{ from: 'A', type: 'request' }]);
    await step(300);
    expect(b.got.map((g) => g.type)).toEqual(['request', 'have', 'have']);
    expect(b.bad).toEqual([]);
  });

  it('refuses anything but a REQUEST on the requests channel and counts it against the sender', async () => {
    const { a, tb, da, step } = await drivers();
    tb.send('A', 'requests', encodeMessage(have));
    tb.send('A', 'requests', new Uint8Array([0x53, 0x4b, 1, 2])); // not a wire message at all
    tb.send('A', 'requests', encodeMessage(request));
    await step(20);
    expect(a.got).toEqual([{ from: 'B', type: 'request' }]);
    expect(a.bad.map((x) => x.from)).toEqual(['B', 'B']);
    expect(da.traffic.requestsChannelRefused).toBe(2);
    // The same HAVE on control is taken.
    tb.send('A', 'control', encodeMessage(have));
    await step(20);
    expect(a.got.map((g) => g.type)).toEqual(['request', 'have']);
  });
});
