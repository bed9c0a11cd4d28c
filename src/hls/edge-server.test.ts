// The edge as `npm start -- --edge` runs it, over real WebRTC on loopback: a broadcast session on the
// Node peer transport (@roamhq/wrtc through simple-peer) publishes ffmpeg-made fMP4 through a real
// tracker; `startServerEdge` joins the swarm on the first playlist request with its default
// transport (no MemoryTransport anywhere) and serves LL-HLS made of the broadcaster's own bytes.
import { M3U8Parser } from 'hls.js';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLlHlsPlaylist } from './playlist-rules.ts';
import { startEdgeRig, type EdgeRig } from './test-edge-rig.ts';
import { makeTestFmp4, splitFmp4 } from './test-media.ts';

let rig: EdgeRig | null = null;
afterEach(async () => {
  await rig?.stop();
  rig = null;
});

describe('startServerEdge over WebRTC', () => {
  it('joins a broadcaster over real WebRTC on the first playlist request and serves its fragments as LL-HLS', async () => {
    const media = splitFmp4(makeTestFmp4({ seconds: 6 }));
    rig = await startEdgeRig(media, { via: 'webrtc' });
    expect(rig.broadcaster.stats.connected).toBe(1);
    await rig.done;
    const base = `${rig.baseUrl}/hls/${rig.streamId}`;
    const r = await fetch(`${base}/index.m3u8?_HLS_msn=1`);
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(checkLlHlsPlaylist(text).violations).toEqual([]);
    const d = M3U8Parser.parseLevelPlaylist(text, `${base}/index.m3u8`, 0, 'main' as never, 0, null);
    expect(d.fragments.length).toBeGreaterThanOrEqual(2);
    const init = new Uint8Array(await (await fetch(d.fragments[0].initSegment!.url)).arrayBuffer());
    expect(Buffer.from(init).equals(Buffer.from(media.init))).toBe(true);
    // Every listed part is a broadcaster fragment, byte for byte, in order.
    const parts = d.partList!;
    const first = media.fragments.findIndex((f) => f.mediaTimeMs === d.fragments[0].programDateTime! - rig!.published[0].captureTimeMs);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(parts.length).toBeGreaterThan(3);
    for (let i = 0; i < parts.length; i++) {
      const body = new Uint8Array(await (await fetch(parts[i].url)).arrayBuffer());
      expect(Buffer.from(body).equals(Buffer.from(media.fragments[first + i].bytes)), parts[i].relurl).toBe(true);
    }
    const s = rig.edge.streams[0];
    expect(s.streamId).toBe(rig.streamId);
    expect(s.framesIn).toBeGreaterThan(0);
    expect(s.writer.badFrames + s.writer.badFragments).toBe(0);
  }, 60_000);
});
