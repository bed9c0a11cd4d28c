// `npm run bench:hls`: the HLS edge in one Node process. A broadcast session publishes ffmpeg-made
// fMP4 (320×180 H.264 + Opus, 0.5 s fragments) in real time through the protocol to the edge's
// viewer session (MemoryTransport links); N simulated LL-HLS clients follow the live edge with
// blocking playlist reloads and fetch every part. Prints: capture-to-client delay of parts (the
// HTTP path's delivery share of glass-to-glass; the player's hold-back comes on top), the edge's
// CPU and memory with and without the clients, and the edge's upload per HTTP viewer.
// Then in Chromium (a second stream, over WebRTC in Node, `npm start -- --dev` for the pages):
// glass to glass through hls.js with LL-HLS parts (a `<p2p-player>` without WebRTC: capture time of
// the picture at the playhead from `#EXT-X-PROGRAM-DATE-TIME` against the page's clock, sampled
// every 250 ms), and P2P → HTTP → P2P switches of a viewer whose WebRTC links are cut and restored
// (e2e/link-cut.ts): time from the cut to `sourcechange`, and the longest still playhead around each
// switch. Printed, never asserted.
// Mixed swarm (`--mixed N`, Node viewer sessions over MemoryTransport): half the viewers also follow
// the edge's frame feed (`frames-<n>.bin`) into their protocol cores, as a viewer on the HTTP path
// does that keeps its WebRTC links, the other half only the swarm; prints the edge's upload per
// viewer, how many frames the HTTP half took from HTTP first, and what each half uploaded.
// Options: --viewers N (default 100), --seconds S (default 30), --mixed N (default 20, 0 skips),
// --mixed-seconds S (default 30), --browser-seconds S (default 30, 0 skips the browser part),
// --switches N (default 3), --relay 0|1 (default 1: the switches are run a second time with
// `fallback-feed="relay"`, hls.js taking the element at each switch, for comparison with the default
// frame path, which keeps the P2P player's MediaSource).

import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { chromium, type Page } from '@playwright/test';
import { chromiumArgs } from '../playwright.config.ts';
import { freePort } from '../e2e/swarm-kit.ts';
import { LINK_CUT_SCRIPT } from '../e2e/link-cut.ts';
import { HttpFrameFeed } from '../src/hls/http-frame-feed.ts';
import { startEdgeRig } from '../src/hls/test-edge-rig.ts';
import { makeTestFmp4, splitFmp4 } from '../src/hls/test-media.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const viewers = arg('viewers', 100);
const seconds = arg('seconds', 30);
const browserSeconds = arg('browser-seconds', 30);
const switches = arg('switches', 3);
const mixed = arg('mixed', 20);
const mixedSeconds = arg('mixed-seconds', 30);
const relay = arg('relay', 1);
for (const [name, v] of [['viewers', viewers], ['seconds', seconds], ['browser-seconds', browserSeconds], ['switches', switches], ['mixed', mixed], ['mixed-seconds', mixedSeconds], ['relay', relay]] as const) {
  if (!(Number.isInteger(v) && v >= 0 && v <= 100_000)) throw new Error(`--${name} ${v}: expected a whole number from 0 to 100000`);
}
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
// ---- mixed swarm: half the viewers on HTTP, half in the swarm -----------------------------------

async function mixedPart(): Promise<void> {
  const rig3 = await startEdgeRig(splitFmp4(makeTestFmp4({ seconds: mixedSeconds + 20 })));
  const sessions = Array.from({ length: mixed }, () => rig3.addViewer());
  // Everyone joins and plays from the swarm before the window opens: a viewer still joining would
  // start from the live edge inside the window, and the frames before its first are never opened by
  // it (neither delivered nor missed). With 20 viewers a fixed 4 s left the last two joining about
  // 11 s into the window, which was the swarm-only half's 58 unexplained frames.
  const joinStart = performance.now();
  await sleep(4000);
  while (performance.now() - joinStart < 60_000 && sessions.some((v) => v.stats.framesDelivered === 0)) await sleep(250);
  const late = sessions.filter((v) => v.stats.framesDelivered === 0).length;
  console.log(`mixed swarm: all viewers delivering ${((performance.now() - joinStart) / 1000).toFixed(1)} s after they were made${late > 0 ? ` (${late} still without a frame after 60 s)` : ''}`);
  const onHttp = sessions.slice(0, Math.floor(mixed / 2));
  const inSwarm = sessions.slice(onHttp.length);
  const feeds = onHttp.map((v) => new HttpFrameFeed({ playlistUrl: `${rig3.baseUrl}/hls/${rig3.streamId}/index.m3u8`, onFrame: (m, f) => v.addOutsideFrame(m, f) }));
  const snap = () => ({
    out: rig3.edge.handler.counters.bytesOut,
    in: rig3.edge.streams[0]?.frameBytesIn ?? 0,
    frames: rig3.edge.streams[0]?.framesIn ?? 0,
    up: sessions.map((v) => v.stats.bytesUp),
    delivered: sessions.map((v) => v.stats.framesDelivered),
    missed: sessions.map((v) => v.stats.framesMissed),
  });
  const a = snap();
  for (const f of feeds) f.start();
  await sleep(mixedSeconds * 1000);
  for (const f of feeds) f.stop();
  const b = snap();
  const sent = b.out - a.out;
  const streamBytes = b.in - a.in;
  // A ratio to a stream the edge did not receive means nothing: printed as a miss.
  const xStream = (bytes: number) => (streamBytes > 0 ? `${(bytes / streamBytes).toFixed(2)} x` : '– x (the edge received no stream bytes: a miss)');
  const kbps = (bytes: number) => ((bytes / mixedSeconds) * 8) / 1000;
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  const idx = (vs: typeof sessions) => vs.map((v) => sessions.indexOf(v));
  const up = (vs: typeof sessions) => sum(idx(vs).map((i) => b.up[i] - a.up[i])) / Math.max(1, vs.length);
  const got = (vs: typeof sessions) => sum(idx(vs).map((i) => b.delivered[i] - a.delivered[i]));
  const lost = (vs: typeof sessions) => sum(idx(vs).map((i) => b.missed[i] - a.missed[i]));
  const taken = sum(onHttp.map((v) => v.core.stats.outsideFrames));
  const refused = sum(onHttp.map((v) => v.core.stats.outsideRefused));
  const bad = sum(feeds.map((f) => f.stats.badBundles + f.stats.errors));
  console.log(`mixed swarm, ${mixed} Node viewers (${onHttp.length} also on the edge's frame feed over HTTP, ${inSwarm.length} swarm only), ${mixedSeconds} s, MemoryTransport links; the edge verified ${b.frames - a.frames} frames meanwhile (${(b.frames - a.frames) * onHttp.length} per half)`);
  console.log(`edge upload per viewer: ${kbps(sent / mixed).toFixed(0)} kbit/s, ${xStream(sent / mixed)} the stream (${kbps(sent / Math.max(1, onHttp.length)).toFixed(0)} kbit/s, ${xStream(sent / Math.max(1, onHttp.length))} per HTTP viewer); feed errors ${bad}`);
  console.log(`HTTP half: ${taken} frames taken from HTTP after their own checks, ${refused} refused (held already from the swarm, or late); frames delivered ${got(onHttp)}, missed ${lost(onHttp)}; upload to neighbours ${kbps(up(onHttp)).toFixed(0)} kbit/s per viewer`);
  console.log(`swarm half: frames delivered ${got(inSwarm)}, missed ${lost(inSwarm)}; upload to neighbours ${kbps(up(inSwarm)).toFixed(0)} kbit/s per viewer`);
  await rig3.stop();
}
if (mixed > 0) await mixedPart();

// ---- in Chromium ------------------------------------------------------------------------------


const pctOf = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

/** Polls `f` every 200 ms until it is true; false after `ms`. */
async function until(f: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) if (await f()) return true;
  return false;
}

async function browserPart(): Promise<void> {
  const cycleS = 45;
  const modes = relay > 0 ? (['play', 'relay'] as const) : (['play'] as const);
  const media2 = splitFmp4(makeTestFmp4({ seconds: browserSeconds + modes.length * switches * cycleS + 120 }));
  const rig2 = await startEdgeRig(media2, { via: 'webrtc' });
  const port = await freePort();
  const pages = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--dev'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    pages.once('exit', (code) => reject(new Error(`the page server exited with ${code}`)));
    pages.stdout!.on('data', (d: Buffer) => d.toString().includes('p2p-player on') && resolve());
  });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: chromiumArgs });
  const tracker = `${rig2.baseUrl.replace('http', 'ws')}/tracker`;
  const playlist = `${rig2.baseUrl}/hls/${rig2.streamId}/index.m3u8`;
  const query = `stream=${rig2.streamId}&tracker=${encodeURIComponent(tracker)}&fallback-url=${encodeURIComponent(playlist)}`;
  try {
    // Glass to glass through hls.js: the viewer has no WebRTC, so <p2p-player> plays the edge's LL-HLS.
    const http = await (await browser.newContext()).newPage();
    await http.addInitScript(`Object.defineProperty(window, 'RTCPeerConnection', { value: undefined, configurable: true, writable: true });`);
    await http.goto(`http://127.0.0.1:${port}/e2e/pages/hls-fallback.html?${query}`);
    const glass = async (): Promise<number | null> => http.evaluate(`(() => { const s = window.hlsTest.state(); return s.currentTime > 0 && s.source ? s.source.glassToGlassMs : null; })()`);
    const samples: number[] = [];
    if (!(await until(async () => (await glass()) !== null, 60_000))) console.log('hls.js in Chromium: no picture within 60 s');
    else {
      await sleep(5000); // hls.js settles on its live position
      for (const end = Date.now() + browserSeconds * 1000; Date.now() < end; await sleep(250)) {
        const g = await glass();
        if (g !== null) samples.push(g);
      }
      console.log(`glass to glass through hls.js (Chromium, LL-HLS 0.5 s parts, lowLatencyMode): p50 ${pctOf(samples, 0.5).toFixed(0)} ms, p95 ${pctOf(samples, 0.95).toFixed(0)} ms (n=${samples.length}, ${browserSeconds} s; capture-to-playhead from PROGRAM-DATE-TIME, the display pipeline not included)`);
    }
    await http.context().close();

    // Switches: a P2P viewer whose links are cut and restored, once per feed mode.
    for (const mode of modes) await switchesOf(browser, `http://127.0.0.1:${port}/e2e/pages/hls-switch.html?${query}&feed=${mode}`, mode);
  } finally {
    await browser.close();
    pages.kill('SIGTERM');
    await rig2.stop();
  }
}

async function switchesOf(browser: Awaited<ReturnType<typeof chromium.launch>>, url: string, mode: 'play' | 'relay'): Promise<void> {
  {
    const page = await (await browser.newContext()).newPage();
    await page.addInitScript(LINK_CUT_SCRIPT);
    await page.goto(url);
    type S = { path: string; currentTime: number; peers: number; nowMs: number; longestStillMs: number; reloads: number; source: { via: string | null; earlyStarts?: number; httpBytes?: number; p2pBytes?: number } | null; changes: Array<{ path: string; reason: string; atMs: number }> };
    const state = (): Promise<S> => page.evaluate('window.switchTest.state()') as Promise<S>;
    const toHttp: number[] = [];
    const toP2p: number[] = [];
    const toPeer: number[] = [];
    const stillHttp: number[] = [];
    const stillP2p: number[] = [];
    const vias: string[] = [];
    const reloads0 = (await state()).reloads;
    for (let i = 0; i < switches; i++) {
      // Playing from the swarm for 5 s in a row (a start or a return may still flip to HTTP first).
      let since: number | null = null;
      const steady = await until(async () => {
        const x = await state();
        since = x.path === 'p2p' && x.peers > 0 && x.currentTime > 1 ? (since ?? Date.now()) : null;
        return since !== null && Date.now() - since >= 5000;
      }, 120_000);
      if (!steady) {
        console.log(`switch ${i + 1}: the viewer was not playing from the swarm for 5 s in a row within 120 s; stopped (page: ${JSON.stringify(await state())})`);
        break;
      }
      await page.evaluate('window.switchTest.resetStill()');
      const cutAt = (await state()).nowMs;
      const n = (await state()).changes.length;
      await page.evaluate('window.links.cut()');
      if (!(await until(async () => (await state()).changes.length > n, 30_000))) {
        console.log(`switch ${i + 1}: no switch to HTTP within 30 s of the cut; stopped (page: ${JSON.stringify(await state())})`);
        break;
      }
      await sleep(5000);
      let x = await state();
      toHttp.push(x.changes[n].atMs - cutAt);
      vias.push(x.source?.via ?? '?');
      stillHttp.push(x.longestStillMs);
      await page.evaluate('window.switchTest.resetStill()');
      const restoredAt = x.nowMs;
      await page.evaluate('window.links.restore()');
      let linked: number | null = null;
      if (!(await until(async () => {
        const y = await state();
        if (linked === null && y.peers > 0) linked = y.nowMs - restoredAt;
        return y.path === 'p2p';
      }, 120_000))) {
        console.log(`switch ${i + 1}: no return to P2P within 120 s of the links coming back; stopped (page: ${JSON.stringify(await state())})`);
        break;
      }
      const returns = (await state()).changes.length;
      await sleep(5000);
      x = await state();
      if (x.changes.length > returns) {
        console.log(`switch ${i + 1}: left P2P again ${Math.round(x.changes[returns].atMs - x.changes[returns - 1].atMs)} ms after the return (${x.changes[returns].reason}); policy inputs [ms, path, buffer ahead s, P2P frames, currentTime]: ${JSON.stringify(await page.evaluate('window.switchTest.trace()'))}`);
      }
      toP2p.push(x.changes[returns - 1].atMs - restoredAt);
      if (linked !== null) toPeer.push(linked);
      stillP2p.push(x.longestStillMs);
    }
    const f = (xs: number[]) => (xs.length === 0 ? '–' : `p50 ${pctOf(xs, 0.5).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms [${xs.map((x) => x.toFixed(0)).join(', ')}]`);
    const reloads = (await state()).reloads - reloads0;
    const src = (await state()).source;
    console.log(`fallback-feed=${mode}: HTTP played via ${JSON.stringify(vias)}; media element reloads over all switches ${reloads}; feeds started ahead of a switch ${src?.earlyStarts ?? 0} (${toHttp.length} switches); media bytes over HTTP ${src?.httpBytes ?? 0}, from the swarm ${src?.p2pBytes ?? 0} (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
    console.log(`P2P -> HTTP, links cut (Chromium, ${toHttp.length} switches): cut to sourcechange ${f(toHttp)}; longest still playhead from the cut to 5 s after the switch ${f(stillHttp)}`);
    console.log(`HTTP -> P2P, links back (${toP2p.length} switches): links back to a connected neighbour ${f(toPeer)}; links back to sourcechange ${f(toP2p)} (reconnect + 5 s of healthy P2P by policy); longest still playhead from the restore to 5 s after the switch ${f(stillP2p)}`);
    await page.context().close();
  }
}

if (browserSeconds > 0) await browserPart();
process.exit(0);
