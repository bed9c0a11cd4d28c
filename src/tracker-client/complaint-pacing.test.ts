// The tracker takes one complaint a second per socket and counts a faster one as a violation, so
// the client spaces complaints out (one per COMPLAINT_SPACING_MS, one per holder waiting) and
// sends them with their evidence. Virtual time: the test's wait is no timing threshold.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { useVirtualTime, type VirtualTime } from '../session/session-test-kit.ts';
import { parseClientMessage } from '../tracker/messages.ts';
import { COMPLAINT_SPACING_MS, TrackerClient, type WebSocketConstructor } from './tracker-client.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
const STREAM = 'S'.repeat(43);
let vt: VirtualTime;
const cleanups: Array<() => unknown> = [];
beforeEach(() => {
  vt = useVirtualTime();
});
afterEach(async () => {
  vt.restore();
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** A stand-in tracker that welcomes and joins every client and records what it gets, with the virtual time. */
async function fakeTracker() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  cleanups.push(() => new Promise((r) => wss.close(r)));
  const got: Array<{ at: number; text: string }> = [];
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ type: 'welcome', version: 1, peerId: 'peer0001', nonce: 'AAAAAAAAAAAAAAAAAAAAAA', heartbeatMs: 60_000, maxSignalBytes: 32768 }));
    ws.on('message', (data) => {
      const text = String(data);
      got.push({ at: vt.elapsed(), text });
      if (text.includes('"join"')) ws.send(JSON.stringify({ type: 'joined', streamId: STREAM, peerId: 'peer0001', broadcaster: false }));
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, got };
}

describe('tracker client complaints', () => {
  it('go out one per spacing, with their evidence, the newest per holder', async () => {
    const t = await fakeTracker();
    const c = new TrackerClient({ url: t.url, streamId: STREAM, WebSocket: WS });
    cleanups.push(() => c.destroy());
    c.connect();
    await vt.until(() => c.connected, 'join');
    c.complain('holderAAA1', 'withholding', { key: 2, seq: 900, frames: 4 });
    c.complain('holderBBB2', 'corrupt', { key: 5, seq: 901, frames: 1 });
    c.complain('holderCCC3', 'withholding', { key: 7, seq: 902, frames: 4 });
    c.complain('holderBBB2', 'corrupt', { key: 5, seq: 903, frames: 1 }); // replaces its waiting one
    await vt.advance(4 * COMPLAINT_SPACING_MS);
    const sent = t.got.filter((g) => g.text.includes('"complaint"'));
    const parsed = sent.map((g) => parseClientMessage(g.text));
    expect(parsed).toEqual([
      { type: 'complaint', peerId: 'holderAAA1', reason: 'withholding', key: 2, seq: 900, frames: 4 },
      { type: 'complaint', peerId: 'holderCCC3', reason: 'withholding', key: 7, seq: 902, frames: 4 },
      { type: 'complaint', peerId: 'holderBBB2', reason: 'corrupt', key: 5, seq: 903, frames: 1 },
    ]);
    for (let i = 1; i < sent.length; i++) expect(sent[i].at - sent[i - 1].at).toBeGreaterThanOrEqual(COMPLAINT_SPACING_MS - 10);
  });
});
