// The door of the frame path (docs/hls.md): a viewer whose swarm links are all gone plays the edge's
// frame feed through its own session, whose protocol core checks every frame. Real edge, real HTTP,
// a real ViewerSession that joined the tracker but whose links never connect (a transport of another
// MemoryNetwork, as when the viewer's UDP is blocked). What it cannot do without a neighbour is learn
// the stream key; a session that replaces an earlier one (a rejoin) is handed that one's key.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { MemoryNetwork } from '../transport/memory-transport.ts';
import { ViewerSession } from '../session/viewer-session.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { HttpFrameFeed } from './http-frame-feed.ts';
import { startEdgeRig, type EdgeRig } from './test-edge-rig.ts';
import { makeTestFmp4, splitFmp4, type SplitFmp4 } from './test-media.ts';

let media: SplitFmp4;
beforeAll(() => {
  media = splitFmp4(makeTestFmp4({ seconds: 6 }));
});
let rig: EdgeRig | null = null;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
  await rig?.stop();
  rig = null;
});

/** A session on the rig's tracker whose links can never connect; counts the frames it delivers. */
async function lonelySession(r: EdgeRig, streamKey?: Uint8Array): Promise<{ session: ViewerSession; frames: number[] }> {
  const session = await ViewerSession.create({
    trackerUrl: `${r.baseUrl.replace('http', 'ws')}/tracker`, WebSocket: WebSocket as unknown as WebSocketConstructor,
    streamId: r.streamId, transport: new MemoryNetwork({ seed: 9 }).createTransport(), ...(streamKey ? { streamKey } : {}),
  });
  const frames: number[] = [];
  session.on('frame', (f) => frames.push(f.seq));
  cleanups.push(() => session.destroy());
  return { session, frames };
}

function feedInto(r: EdgeRig, session: ViewerSession): HttpFrameFeed {
  const feed = new HttpFrameFeed({ playlistUrl: `${r.baseUrl}/hls/${r.streamId}/index.m3u8`, onFrame: (m, f) => session.addOutsideFrame(m, f) });
  feed.start();
  cleanups.push(() => feed.stop());
  return feed;
}

describe('the frame path\'s door: a session without neighbours', () => {
  it('checks and delivers the edge\'s frames once it carries the stream key of the session it replaces; without it, none', async () => {
    rig = await startEdgeRig(media);
    const key = rig.edgeSession!.publicKey!;
    const carried = await lonelySession(rig, key);
    const bare = await lonelySession(rig);
    feedInto(rig, carried.session);
    const bareFeed = feedInto(rig, bare.session);
    await rig.done;
    await new Promise((res) => setTimeout(res, 800));
    expect(carried.session.publicKey).toEqual(key);
    expect(carried.session.connectedPeers).toBe(0);
    expect(carried.frames.length).toBeGreaterThan(10);
    expect(carried.session.core.stats.outsideFrames).toBe(carried.frames.length);
    expect(carried.session.newestFrameSeq).toBe(Math.max(...carried.frames));
    // Nothing left open below the newest: the feed would go on from the frame after it.
    expect(carried.session.resumeFrameSeq).toBeGreaterThan(Math.min(...carried.frames));
    // The same feed into a session that never learnt the key: every check waits, none is delivered.
    expect(bareFeed.stats.frames).toBeGreaterThan(10);
    expect(bare.session.publicKey).toBeNull();
    expect(bare.frames).toEqual([]);
    expect(bare.session.newestFrameSeq).toBeNull();
  });

  it('a carried key that does not hash to the stream id is refused (the session learns nothing from it)', async () => {
    rig = await startEdgeRig(media);
    const other = await generateStreamKey();
    const s = await lonelySession(rig, other.publicKeyBytes);
    feedInto(rig, s.session);
    await new Promise((res) => setTimeout(res, 1500));
    expect(s.session.publicKey).toBeNull();
    expect(s.frames).toEqual([]);
  });
});
