// `npm run bench:netlab [-- --seconds 120 --peers 12 --bitrate 300000 --fps 10 --loss 5 --nats full-cone,none --spare-keys 4 --spare-keys-max 16 --spare-repair-credit 0 --no-chromium --media --carry-ticks 0 --init-repeat-ms 2000]`:
// scenario 1 of the network lab (broadcaster + a Chromium viewer behind a port-restricted NAT +
// Node peers over mixed NATs, 5 % bursty loss; the broadcaster publishes real media so that
// Chromium can play it; --no-chromium: Node peers only, synthetic frames; --media with it: Node
// peers only, real media) and scenario 3
// (tracker SIGKILL and restart), printing the figures; nothing is asserted. Also prints the
// machine's load average and each process's CPU share and event-loop delay in the window, since
// the lab's processes share the machine's cores. Needs root and the lab's packages.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { prepareLab, type NatKind } from '../scripts/netlab/lab.ts';
import { framesBetween, LAB_STATS_INTERVAL_MS, LabSwarm, mixedPeers, type LabProcess, type Stats } from '../scripts/netlab/lab-swarm.ts';
import { chromiumWindow, describeChromium, prepareBrowser, type LabChromium } from '../scripts/netlab/lab-chromium.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string' }, peers: { type: 'string' }, bitrate: { type: 'string' }, loss: { type: 'string' }, nats: { type: 'string' }, 'spare-keys': { type: 'string' }, 'spare-keys-max': { type: 'string' }, 'spare-repair-credit': { type: 'string' }, fps: { type: 'string' }, 'no-chromium': { type: 'boolean' }, media: { type: 'boolean' }, 'carry-ticks': { type: 'string' }, 'init-repeat-ms': { type: 'string' } },
});
const spareKeys = values['spare-keys'] === undefined ? undefined : Number(values['spare-keys']);
const spareKeysMax = values['spare-keys-max'] === undefined ? undefined : Number(values['spare-keys-max']);
const framesPerSec = values.fps === undefined ? undefined : Number(values.fps);
const seconds = Number(values.seconds ?? 120);
const count = Number(values.peers ?? 12);
const bitrate = Number(values.bitrate ?? 300_000);
const lossPercent = Number(values.loss ?? 5);
const nats = (values.nats ?? 'full-cone,port-restricted,none,symmetric').split(',') as NatKind[];
const check = prepareLab();
if (!check.ok) {
  console.log(`bench:netlab cannot run: ${check.reason}`);
  process.exit(0);
}
const browserCheck = values['no-chromium'] ? null : prepareBrowser();
if (browserCheck && !browserCheck.ok) {
  console.log(`bench:netlab cannot run the Chromium viewer: ${browserCheck.reason} (--no-chromium runs without it)`);
  process.exit(0);
}
const withChromium = browserCheck !== null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
/** CPU share of one core a process used between two stats lines, and the worst event-loop delay (p99 of each line) between them. */
function cpuOf(p: LabProcess, a: Stats | undefined, b: Stats | undefined): string {
  if (typeof a?.cpuMs !== 'number' || typeof b?.cpuMs !== 'number') return 'CPU ? (no stats line at the start or end of the window)';
  const cpu = Number(b?.cpuMs ?? 0) - Number(a?.cpuMs ?? 0);
  const wall = ((b?.at as number) ?? 0) - ((a?.at as number) ?? 0);
  let lag = 0;
  for (const l of p.lines) if ((l.at as number) > ((a?.at as number) ?? 0) && (l.at as number) <= ((b?.at as number) ?? 0)) lag = Math.max(lag, Number(l.loopDelayP99Ms ?? 0));
  const sends = Number(b?.mediaLinkMessagesOut) - Number(a?.mediaLinkMessagesOut);
  const messages = Number(b?.mediaMessagesOut) - Number(a?.mediaMessagesOut);
  const perSec = (n: number) => ((n / wall) * 1000).toFixed(0);
  const controlSends = Number(b?.controlLinkMessagesOut) - Number(a?.controlLinkMessagesOut);
  const control = Number(b?.controlMessagesOut) - Number(a?.controlMessagesOut);
  const rates = Number.isFinite(sends) && Number.isFinite(messages) && wall > 0 ? `, media ${perSec(messages)} messages/s in ${perSec(sends)} datachannel sends/s` : '';
  const controlRates = Number.isFinite(controlSends) && Number.isFinite(control) && wall > 0 ? `, control ${perSec(control)} in ${perSec(controlSends)}` : '';
  const requests = Number(b?.requestsMessagesOut) - Number(a?.requestsMessagesOut);
  const requestsRates = Number.isFinite(requests) && wall > 0 ? `, requests channel ${perSec(requests)}` : '';
  return `CPU ${wall > 0 ? ((cpu / wall) * 100).toFixed(0) : '?'} % of a core, event-loop delay p99 up to ${lag.toFixed(0)} ms${rates}${controlRates}${requestsRates}`;
}
/**
 * The broadcaster's upload in the window by cause, each as a multiple of the stream's bytes (the
 * core's counters, upload-breakdown.ts), and the bytes that left its host on the wire.
 */
function describeUpload(a: Stats | undefined, b: Stats | undefined, stream: number, up: number, wire: number): string[] {
  const ua = (a?.upload ?? {}) as Record<string, number>;
  const ub = (b?.upload ?? {}) as Record<string, number>;
  const d = (k: string) => Number(ub[k] ?? 0) - Number(ua[k] ?? 0);
  if (!Number.isFinite(d('total')) || d('total') === 0) return ['broadcaster upload by cause: no counters in its stats lines'];
  const x = (n: number) => (n / stream).toFixed(3);
  const refused = Number(b?.mediaBytesRefused ?? 0) - Number(a?.mediaBytesRefused ?? 0);
  const session = up - (d('total') - refused);
  const frames = Number(b?.framesPublished ?? 0) - Number(a?.framesPublished ?? 0);
  const msgs = d('directMessages');
  return [
    `broadcaster upload by cause (× the stream; ${frames} frames, ${(stream / Math.max(1, frames)).toFixed(0)} bytes each on average): direct-feed frame bytes ${x(d('directData'))}, padding ${x(d('directPadding'))}, spare keys ${x(d('directSpare'))}, feed headers ${x(d('directHeaders'))} (${msgs} messages, ${(msgs / Math.max(1, frames)).toFixed(1)} a frame; of these four, the init segment's repeats ${x(d('directInitFrames'))}); repairs ${x(d('repairs'))} (${d('repairMessages')} keys; ${Number((b?.core as Record<string, number> | undefined)?.repairsShort ?? NaN) - Number((a?.core as Record<string, number> | undefined)?.repairsShort ?? NaN)} more asked for beyond the repair allowance; ${Number((b?.core as Record<string, number> | undefined)?.repairsRepeated ?? NaN) - Number((a?.core as Record<string, number> | undefined)?.repairsRepeated ?? NaN)} of the keys sent a second time to the same viewer); code segments ${x(d('segments'))}, their repairs ${x(d('segmentRepairs'))}; manifests ${x(d('manifests'))}, manifest answers ${x(d('manifestAnswers'))}, init answers ${x(d('initAnswers'))}; control ${x(d('control'))}; session's own (stream key, renditions; less control messages the transport dropped, which the core counted) ${x(session)}; refused by the transport −${x(refused)}; sum ${x(d('total') - refused + session)}`,
    `broadcaster's host on the wire (IP packets out of its interface: DTLS, SCTP, UDP, IP and Ethernet headers, STUN, TURN and the tracker's WebSocket included): ${wire > 0 ? (wire / stream).toFixed(2) : 'n/a'} × the stream`,
  ];
}
const swarm = new LabSwarm();
try {
  await swarm.startServices();
  if (withChromium) await swarm.startPages();
  const loss = lossPercent > 0 ? ({ kind: 'bursty', percent: lossPercent, burstPackets: 4 } as const) : undefined;
  // Real media for the Chromium viewer: enough for the warm-up, the window and scenario 3.
  const mediaSeconds = withChromium || values.media ? Math.min(3600, seconds + 150) : undefined;
  await swarm.startBroadcaster('bc', { nat: 'port-restricted', loss }, bitrate, false, { spareKeys, spareKeysMax, spareRepairCredit: values['spare-repair-credit'] === undefined ? undefined : Number(values['spare-repair-credit']), framesPerSec, mediaSeconds, carryTicks: values['carry-ticks'] === undefined ? undefined : Number(values['carry-ticks']), initRepeatMs: values['init-repeat-ms'] === undefined ? undefined : Number(values['init-repeat-ms']) });
  const peers = mixedPeers(swarm, count, loss, nats);
  const layout = swarm.broadcaster!.lines[0];
  let viewer: LabChromium | null = null;
  if (withChromium) {
    viewer = await swarm.startChromium('cr', { nat: 'port-restricted', loss });
    await viewer.waitFor((x) => x.firstMoveMs >= 0, 'its video to play', 90_000).catch((e) => {
      console.log(`  Chromium viewer: ${String(e).slice(0, 2000)}`);
      return null;
    });
  }
  console.log(`scenario 1: ${withChromium ? 'a Chromium viewer behind a port-restricted NAT and ' : ''}${count} Node peers (NATs in turn: ${nats.join(', ')}; symmetric ones relay-only), bursty loss ${lossPercent} % (bursts of 4 packets, UDP, at each router), ${bitrate / 1000} kbit/s, ${seconds} s window after a 15 s warm-up`);
  if (layout.media) console.log(`  real media: ffmpeg's test pattern, H.264 320×180 25 fps and Opus, ${layout.fragments} fragments of 0.48 s (${((Number(layout.mediaBytes) * 8) / Number(layout.mediaSeconds) / 1000).toFixed(0)} kbit/s), cut into frames every 100 ms (bytes carried ${values['carry-ticks'] ?? 1} tick(s) to reach 8 KiB multiples; the init segment every ${Number(values['init-repeat-ms'] ?? 2000) / 1000} s); direct spare keys ${layout.spareKeys}; ${cpus().length} cores, load average at start ${load()}`);
  else console.log(`  frames of ${layout.frameBytes} bytes, ${Number(layout.framesPerSec).toFixed(2)} per second (padding ratio ${Number(layout.paddingRatio).toFixed(3)}), direct spare keys ${layout.spareKeys}; ${cpus().length} cores, load average at start ${load()}`);
  await sleep(15_000);
  const from = new Map(peers.map((p) => [p, p.last]));
  const b0 = swarm.broadcaster!.last;
  const wire0 = swarm.txBytes('bc');
  if (viewer) await viewer.watch();
  const v0 = viewer ? await viewer.sample().catch(() => null) : null;
  const cpu0 = viewer?.cpuSeconds() ?? 0;
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const b1 = swarm.broadcaster!.last;
  const wire1 = swarm.txBytes('bc');
  const v1 = viewer ? await viewer.sample().catch(() => null) : null;
  const chromiumCpu = viewer ? (viewer.cpuSeconds() - cpu0) / ((Date.now() - t0) / 1000) : 0;
  console.log(`  load average at the end of the window: ${load()}`);
  if (viewer) {
    if (v0 && v1) console.log(`  Chromium viewer: ${describeChromium(v1, chromiumWindow(v0, v1), seconds)}; CPU of its processes ${(chromiumCpu * 100).toFixed(0)} % of a core`);
    else console.log('  Chromium viewer: no sample at the start or end of the window (the browser is gone)');
  }
  let worst = 1;
  let links = 0;
  let relayedLinks = 0;
  let connected = 0;
  const firsts: number[] = [];
  for (const p of peers) {
    const f = framesBetween(from.get(p), p.last);
    const share = f.delivered + f.missed === 0 ? 0 : f.delivered / (f.delivered + f.missed);
    worst = Math.min(worst, share);
    const l = p.last ?? { t: 0 };
    links += Number(l.peers ?? 0);
    relayedLinks += Number(l.relayedPeers ?? 0);
    if (Number(l.peers ?? 0) > 0) connected++;
    if (typeof l.firstFrameMs === 'number') firsts.push(l.firstFrameMs);
    console.log(`  ${p.name.padEnd(4)} frames on time ${(share * 100).toFixed(2).padStart(6)} % (${f.delivered} ok, ${f.missed} missed), neighbours ${l.peers} (relayed ${l.relayedPeers}), from peers ${(Number(l.shareFromPeers ?? 0) * 100).toFixed(0)} %, first frame ${typeof l.firstFrameMs === 'number' ? (l.firstFrameMs / 1000).toFixed(2) + ' s' : 'never'}; ${cpuOf(p, from.get(p), p.last)}`);
  }
  console.log(`  broadcaster: ${cpuOf(swarm.broadcaster!, b0, b1)}`);
  const up = Number(b1?.bytesUp ?? 0) - Number(b0?.bytesUp ?? 0);
  const stream = Number(b1?.streamBytes ?? 0) - Number(b0?.streamBytes ?? 0);
  firsts.sort((a, b) => a - b);
  console.log(`  worst peer frames on time: ${(worst * 100).toFixed(2)} % (target ≥ 99.5 %)`);
  console.log(`  peers connected: ${connected} of ${count}; neighbour links through TURN: ${relayedLinks} of ${links} (${links ? ((relayedLinks / links) * 100).toFixed(0) : 0} %)`);
  console.log(`  broadcaster upload / stream: ${stream ? (up / stream).toFixed(2) : 'n/a'} (target ≤ 1.1)`);
  if (stream) for (const line of describeUpload(b0, b1, stream, up, wire1 - wire0)) console.log(`  ${line}`);
  // The spare feed keys per direct-feed frame (the core fits them to the loss its direct viewers report).
  const spares = swarm.broadcaster!.lines.filter((l) => (l.at as number) >= ((b0?.at as number) ?? 0) && (l.at as number) <= ((b1?.at as number) ?? 0)).map((l) => Number(l.directSpareKeys));
  if (spares.length && spares.every(Number.isFinite)) {
    console.log(`  broadcaster spare keys per direct-feed frame: ${b0?.directSpareKeys} at the window's start, ${b1?.directSpareKeys} at its end, ${Math.min(...spares)}–${Math.max(...spares)} in it (floor ${layout.spareKeys}, ceiling ${layout.spareKeysMax}); mode ${String(b1?.mode)}`);
    const series = swarm.broadcaster!.lines.filter((l) => typeof l.t === 'number' && Number.isFinite(Number(l.directSpareKeys)));
    const every5s = series.filter((l, i) => i === series.length - 1 || Math.floor(l.t / 5) !== Math.floor((series[i + 1]?.t ?? 0) / 5));
    console.log(`  spare keys every 5 s from the broadcaster's start: ${every5s.map((l) => `${l.t.toFixed(0)} s ${l.directSpareKeys}`).join(', ')}`);
    // What the viewers asked the broadcaster for in each 5 s: keys of their own slots (the spare's measure) and keys beyond the direct set (frames short).
    const asks = (l: Stats | undefined, k: string) => Number((l?.core as Record<string, number> | undefined)?.[k] ?? NaN);
    const steps = every5s.map((l, i) => `${asks(l, 'slotKeysAsked') - asks(every5s[i - 1], 'slotKeysAsked') || 0}/${asks(l, 'extraKeysAsked') - asks(every5s[i - 1], 'extraKeysAsked') || 0}`);
    console.log(`  keys the viewers asked the broadcaster for in each 5 s, of their own slots / beyond the direct set: ${steps.join(', ')}`);
  }
  console.log(`  Node peers' first picture (first verified frame after start): median ${firsts.length ? (firsts[firsts.length >> 1] / 1000).toFixed(2) : 'n/a'} s, worst ${firsts.length ? (firsts[firsts.length - 1] / 1000).toFixed(2) : 'n/a'} s (target ≤ 2 s)`);

  await swarm.killTracker();
  await sleep(3000);
  await swarm.startTracker();
  const restartedAt = Date.now();
  const times = await Promise.all(peers.map(async (p) => {
    try {
      const s = await p.waitFor((x) => (x.at as number) > restartedAt && x.trackerConnected === true && Number(x.peers) >= 1, 'rejoined', 20_000);
      return ((s.at as number) - restartedAt) / 1000;
    } catch {
      return Infinity;
    }
  }));
  const bc = await swarm.broadcaster!.waitFor((x) => (x.at as number) > restartedAt && x.trackerConnected === true && Number(x.viewers) >= count + (viewer ? 1 : 0), 'viewers back', 20_000).catch(() => null);
  console.log(`scenario 3: tracker SIGKILLed, restarted 3 s later: peers rejoined after ${Math.min(...times).toFixed(1)}–${Number.isFinite(Math.max(...times)) ? Math.max(...times).toFixed(1) : 'more than 20'} s (stats lines every ${LAB_STATS_INTERVAL_MS} ms), broadcaster saw all ${count + (viewer ? 1 : 0)} viewers after ${bc ? (((bc.at as number) - restartedAt) / 1000).toFixed(1) + ' s' : 'more than 20 s'}`);
} finally {
  await swarm.destroy();
}
