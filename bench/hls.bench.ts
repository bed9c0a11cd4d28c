// `npm run bench:hls`: the HLS edge in one Node process. A broadcast session publishes ffmpeg-made
// fMP4 (320×180 H.264 + Opus, 0.5 s fragments) in real time through the protocol to the edge's
// viewer session (MemoryTransport links); N simulated LL-HLS clients follow the live edge with
// blocking playlist reloads and fetch every part. Prints: capture-to-client delay of parts (the
// HTTP path's delivery share of glass-to-glass; the player's hold-back comes on top), the edge's
// CPU and memory with and without the clients, and the edge's upload per HTTP viewer.
// Options: --viewers N (default 100), --seconds S (default 30).

import { startEdgeRig } from '../src/hls/test-edge-rig.ts';
import { makeTestFmp4, splitFmp4 } from '../src/hls/test-media.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const viewers = arg('viewers', 100);
const seconds = arg('seconds', 30);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const media = splitFmp4(makeTestFmp4({ seconds: seconds + 10 }));
const rig = await startEdgeRig(media);
const base = `${rig.baseUrl}/hls/${rig.streamId}`;

/** Idle phase: the stream alone (edge session + writer + broadcaster in this process). */
async function measure(ms: number): Promise<{ cpuPct: number; rssMiB: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  return { cpuPct: ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100, rssMiB: process.memoryUsage().rss / 2 ** 20 };
}
await sleep(3000);
const idle = await measure(5000);

const delays: number[] = [];
let stop = false;
let bytes = 0;
let errors = 0;
async function client(): Promise<void> {
  let query = '';
  const fetched = new Set<string>();
  while (!stop) {
    let text: string;
    try {
      const r = await fetch(`${base}/index.m3u8${query}`);
      if (r.status !== 200) {
        if (!stop) errors++;
        await sleep(200);
        continue;
      }
      text = await r.text();
    } catch {
      if (!stop) errors++;
      await sleep(200);
      continue;
    }
    // The newest part: its segment's date plus the parts before it give its capture end.
    let pdt = 0;
    let offset = 0;
    let last: { uri: string; end: number } | null = null;
    const parts: Array<{ uri: string; end: number }> = [];
    for (const line of text.split('\n')) {
      if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
        pdt = Date.parse(line.slice(25));
        offset = 0;
      } else if (line.startsWith('#EXT-X-PART:')) {
        const dur = Number(/DURATION=([\d.]+)/.exec(line)![1]);
        offset += dur;
        last = { uri: /URI="([^"]+)"/.exec(line)![1], end: pdt + offset * 1000 };
        parts.push(last);
      }
    }
    if (!last) continue;
    // Every part not fetched yet (only the newest on the first playlist, as a joining player does).
    if (query === '') for (const p of parts) fetched.add(p.uri);
    for (const p of query === '' ? [last] : parts.filter((x) => !fetched.has(x.uri))) {
      fetched.add(p.uri);
      const r = await fetch(`${base}/${p.uri}`);
      bytes += (await r.arrayBuffer()).byteLength;
      if (query !== '') delays.push(Date.now() - p.end);
    }
    const [, msn, part] = /part-.*?(\d+)-(\d+)\.m4s$/.exec(last.uri) ?? [];
    query = `?_HLS_msn=${msn}&_HLS_part=${Number(part) + 1}`;
  }
}
const in0 = rig.edge.streams[0]?.frameBytesIn ?? 0;
const out0 = rig.edge.handler.counters.bytesOut;
const clients = Array.from({ length: viewers }, () => client());
const loaded = await measure(seconds * 1000);
stop = true;
const sent = rig.edge.handler.counters.bytesOut - out0;
const streamBytes = (rig.edge.streams[0]?.frameBytesIn ?? 0) - in0;
await rig.stop();
await Promise.allSettled(clients);

delays.sort((a, b) => a - b);
const q = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))];
const fmt = (x: number) => x.toFixed(0);
console.log(`hls edge, ${viewers} HTTP viewers, ${seconds} s, 320x180 H.264 + Opus ~450 kbit/s, 0.5 s parts`);
console.log(`capture end of a part -> in an HTTP client: p50 ${fmt(q(0.5))} ms, p95 ${fmt(q(0.95))} ms (n=${delays.length}; player hold-back not included)`);
console.log(`process CPU: ${idle.cpuPct.toFixed(1)} % of a core for the stream alone (broadcaster + edge session + writer), ${loaded.cpuPct.toFixed(1)} % with ${viewers} HTTP viewers (the clients run in this process too: an upper bound for the edge)`);
console.log(`edge process RSS: ${idle.rssMiB.toFixed(0)} MiB alone, ${loaded.rssMiB.toFixed(0)} MiB with ${viewers} HTTP viewers`);
console.log(`edge upload per HTTP viewer: ${((sent / viewers / seconds) * 8 / 1000).toFixed(0)} kbit/s, ${(sent / viewers / Math.max(1, streamBytes)).toFixed(2)} x the frame bytes the edge received meanwhile (playlists included); client errors ${errors}`);
process.exit(0);
