// The edge end to end in Node: a real broadcast session publishes ffmpeg-made fMP4 through the real
// protocol (tracker, codec, signed manifests) to an edge viewer session over MemoryTransport links;
// the edge writes LL-HLS from the frames that session verified and serves them over HTTP.
import { M3U8Parser } from 'hls.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectCode } from '../expect-code.ts';
import { HlsEdge, type DeliveredFrameSource } from './hls-edge.ts';
import { checkLlHlsPlaylist } from './playlist-rules.ts';
import { startEdgeRig, type EdgeRig } from './test-edge-rig.ts';
import { asDelivered, cutFrames, makeTestFmp4, splitFmp4, type SplitFmp4 } from './test-media.ts';

let media: SplitFmp4;
beforeAll(() => {
  media = splitFmp4(makeTestFmp4({ seconds: 5 }));
});
let rig: EdgeRig | null = null;
afterEach(async () => {
  await rig?.stop();
  rig = null;
});

describe('HlsEdge', () => {
  it('writes LL-HLS from the frames an edge session verified in a real swarm and serves them', async () => {
    rig = await startEdgeRig(media);
    await rig.done;
    const base = `${rig.baseUrl}/hls/${rig.streamId}`;
    // Blocking reload for the last segment of 5 s of media (segments 0, 1 closed by then).
    const r = await fetch(`${base}/index.m3u8?_HLS_msn=1`);
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(checkLlHlsPlaylist(text).violations).toEqual([]);
    const d = M3U8Parser.parseLevelPlaylist(text, `${base}/index.m3u8`, 0, 'main' as never, 0, null);
    expect(d.fragments.length).toBeGreaterThanOrEqual(2);
    // The edge serves the broadcaster's bytes: the init segment and every part equal the muxer's output.
    const init = new Uint8Array(await (await fetch(d.fragments[0].initSegment!.url)).arrayBuffer());
    expect(Buffer.from(init).equals(Buffer.from(media.init))).toBe(true);
    const parts = d.partList!;
    const first = media.fragments.findIndex((f) => f.mediaTimeMs === d.fragments[0].programDateTime! - rig!.published[0].captureTimeMs);
    expect(first).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < parts.length; i++) {
      const body = new Uint8Array(await (await fetch(parts[i].url)).arrayBuffer());
      expect(Buffer.from(body).equals(Buffer.from(media.fragments[first + i].bytes)), parts[i].relurl).toBe(true);
    }
    const stats = rig.edge.streams[0];
    expect(stats.streamId).toBe(rig.streamId);
    expect(stats.writer.badFrames + stats.writer.badFragments).toBe(0);
    expect(rig.edge.handler.counters.bytesOut).toBeGreaterThan(0);
  }, 30_000);

  it('joins the swarm on demand when a player first asks for a stream, as a viewer session', async () => {
    rig = await startEdgeRig(splitFmp4(makeTestFmp4({ seconds: 8 })), { onDemand: true });
    await new Promise((r) => setTimeout(r, 1500)); // the stream runs before anyone asks the edge
    expect(rig.edge.streams).toEqual([]);
    const base = `${rig.baseUrl}/hls/${rig.streamId}`;
    const r = await fetch(`${base}/index.m3u8`);
    expect(r.status).toBe(200);
    expect(rig.edge.streams.map((s) => s.streamId)).toEqual([rig.streamId]);
    const text = await r.text();
    expect(checkLlHlsPlaylist(text).violations).toEqual([]);
    expect(text).toContain('#EXT-X-PART:');
    expect((await fetch(`${rig.baseUrl}/hls/not-a-stream-id/index.m3u8`)).status).toBe(404);
    await rig.done;
  }, 30_000);

  it('joins a stream on demand through openSource and refuses a second source for one stream', async () => {
    const opened: string[] = [];
    let push: ((d: ReturnType<typeof asDelivered>) => void) | null = null;
    const source: DeliveredFrameSource = {
      subscribe(fn) {
        push = fn;
        return () => void (push = null);
      },
      destroy() {},
    };
    const edge = new HlsEdge({ openSource: (id) => (opened.push(id), source) });
    try {
      const res = { writableEnded: false, writeHead() {}, end() {} };
      const req = { url: '/hls/someStream/index.m3u8', method: 'GET', on() {} };
      edge.handler.handle(req as never, res as never);
      expect(opened).toEqual(['someStream']);
      for (const f of cutFrames(media, Date.now())) push!(asDelivered(f));
      expect(edge.handler.writer('someStream')!.playlist()).toContain('#EXT-X-PART:');
      expectCode(() => edge.addStream('someStream', source), 'BAD_STATE');
      edge.removeStream('someStream');
      expect(push).toBeNull();
    } finally {
      edge.destroy();
    }
  });

  it('refuses a stream beyond maxStreams with EDGE_FULL, and joins none on demand then', () => {
    const opened: string[] = [];
    const left: string[] = [];
    const sourceFor = (id: string): DeliveredFrameSource => ({ subscribe: () => () => {}, destroy: () => void left.push(id) });
    const full = new HlsEdge({ maxStreams: 1, openSource: (id) => (opened.push(id), sourceFor(id)) });
    try {
      full.addStream('one', sourceFor('one'));
      expectCode(() => full.addStream('two', sourceFor('two')), 'EDGE_FULL');
      expect(full.streams.map((s) => s.streamId)).toEqual(['one']);
      // A player asking for another stream gets no session opened for it (and its 404).
      let status = 0;
      const res = { writableEnded: false, writeHead: (code: number) => void (status = code), end() {}, setHeader() {} };
      full.handler.handle({ url: '/hls/two/index.m3u8', method: 'GET', on() {} } as never, res as never);
      expect(opened).toEqual([]);
      expect(status).toBe(404);
      // Room again once a stream is removed.
      full.removeStream('one');
      expect(left).toEqual(['one']);
      full.addStream('two', sourceFor('two'));
      expect(full.streams.map((s) => s.streamId)).toEqual(['two']);
    } finally {
      full.destroy();
    }
    expectCode(() => full.addStream('three', sourceFor('three')), 'DESTROYED');
  });
});
