// A session given several tracker nodes (trackerUrls, or a `tracker` attribute listing them):
// the list is parsed and checked, and both sessions move to the next node when theirs is gone.
// Real trackers on port 0 and real tracker clients over `ws`, on virtual time (session-test-kit.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createCodec } from '../codec/index.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { expectCode } from '../expect-code.ts';
import { startTracker } from '../tracker/server.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { MemoryNetwork } from '../transport/memory-transport.ts';
import { BroadcastSession } from './broadcast-session.ts';
import { MAX_TRACKER_URLS, resolveSessionConfig, splitTrackerList } from './session-config.ts';
import { useVirtualTime, type VirtualTime } from './session-test-kit.ts';
import { ViewerSession } from './viewer-session.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
const cleanups: Array<() => unknown> = [];
let vt: VirtualTime;
beforeEach(() => {
  vt = useVirtualTime();
});
afterEach(async () => {
  vt.restore();
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe('tracker lists', () => {
  it('splits a white-space separated list: the first is trackerUrl, the rest trackerUrls', () => {
    expect(splitTrackerList('ws://a/tracker')).toEqual({ trackerUrl: 'ws://a/tracker' });
    expect(splitTrackerList('  wss://a/t \n wss://b/t\twss://c/t ')).toEqual({ trackerUrl: 'wss://a/t', trackerUrls: ['wss://b/t', 'wss://c/t'] });
    expect(splitTrackerList('')).toEqual({ trackerUrl: '' });
  });

  it('checks every URL of the list and its length', () => {
    const transport = new MemoryNetwork().createTransport();
    cleanups.push(() => transport.destroy());
    const urls = (n: number) => Array.from({ length: n }, (_, i) => `ws://n${i}/tracker`);
    expect(resolveSessionConfig({ trackerUrl: 'ws://a', transport, trackerUrls: urls(MAX_TRACKER_URLS) }).trackerUrls).toHaveLength(MAX_TRACKER_URLS);
    expectCode(() => resolveSessionConfig({ trackerUrl: 'ws://a', transport, trackerUrls: urls(MAX_TRACKER_URLS + 1) }), 'BAD_CONFIG');
    expectCode(() => resolveSessionConfig({ trackerUrl: 'ws://a', transport, trackerUrls: ['http://b/tracker'] }), 'BAD_CONFIG');
    expectCode(() => resolveSessionConfig({ trackerUrl: 'ws://a', transport, trackerUrls: ['ws://b/tracker', 7 as unknown as string] }), 'BAD_CONFIG');
    expectCode(() => resolveSessionConfig({ trackerUrl: 'ws://a', transport, trackerUrls: 'ws://b/tracker' as unknown as string[] }), 'BAD_CONFIG');
    expectCode(() => resolveSessionConfig({ ...splitTrackerList(''), transport }), 'BAD_CONFIG');
  });

  it('a viewer and a broadcaster whose tracker is gone join the next one of their list', async () => {
    const codec = await createCodec();
    const a = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50 });
    const b = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50 });
    cleanups.push(() => b.close());
    const [urlA, urlB] = [`ws://127.0.0.1:${a.port}`, `ws://127.0.0.1:${b.port}`];
    const key = await generateStreamKey();
    const net = new MemoryNetwork({ seed: 1 });
    const common = { ...splitTrackerList(`${urlA} ${urlB}`), WebSocket: WS, codec, reconnectMinMs: 100, reconnectMaxMs: 200, statsIntervalMs: 50 };
    const caster = new BroadcastSession({ ...common, key, transport: net.createTransport(), bitrateBps: 1_000_000 });
    const viewer = new ViewerSession({ ...common, streamId: key.streamId, transport: net.createTransport() });
    cleanups.push(() => viewer.destroy(), () => caster.destroy());
    await vt.until(() => caster.tracker.connected && viewer.stats.streamState === 'live', 'both on the first tracker', 20_000);
    expect([caster.tracker.url, viewer.tracker.url]).toEqual([urlA, urlA]);
    await a.close();
    // The second tracker knows the stream only from the broadcaster's new publish: the viewer is live there again.
    const onB = (t: { url: string; connected: boolean }) => t.url === urlB && t.connected;
    await vt.until(() => onB(caster.tracker) && onB(viewer.tracker) && viewer.stats.streamState === 'live', 'both on the second tracker', 20_000);
  });
});
