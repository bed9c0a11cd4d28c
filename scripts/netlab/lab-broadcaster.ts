// A broadcaster process for the network lab: a NodeBroadcaster with synthetic frames, started
// inside a lab namespace. Prints one JSON line {"streamId": …, "frameBytes": …} once it publishes,
// then its stats as JSON every --stats-interval ms (default 1000). Usage: node --import tsx
// scripts/netlab/lab-broadcaster.ts <tracker ws URL> [--bitrate BPS] [--fps N] [--spare-keys N]
// [--spare-keys-max N] [--spare-repair-credit 0…1] [--stats-interval MS] [--relay-only] [--media SECONDS] [--carry-ticks N] [--init-repeat-ms MS]
// --media: publish real media (ffmpeg's test pattern, H.264 and Opus, see lab-media.ts) for that
// many seconds instead of synthetic frames, so that a browser viewer in the lab can play it;
// --carry-ticks: the frame cutter's maxCarryTicks for it (default 1; the browser's default is 0);
// --init-repeat-ms: how often it sends the init segment again (default the browser's, 2000).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { NodeBroadcaster } from '../../src/node-peer/node-broadcaster.ts';
import { makeLabMedia, playLabMedia } from './lab-media.ts';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    bitrate: { type: 'string' },
    fps: { type: 'string' },
    'spare-keys': { type: 'string' },
    'spare-keys-max': { type: 'string' },
    'spare-repair-credit': { type: 'string' },
    'stats-interval': { type: 'string' },
    'relay-only': { type: 'boolean' },
    media: { type: 'string' },
    'carry-ticks': { type: 'string' },
    'init-repeat-ms': { type: 'string' },
  },
});
const trackerUrl = positionals[0];
if (!trackerUrl) {
  console.error('usage: lab-broadcaster.ts <tracker ws URL> [--bitrate BPS] [--fps N] [--spare-keys N] [--stats-interval MS] [--relay-only] [--media SECONDS]');
  process.exit(2);
}
const statsMs = Number(values['stats-interval'] ?? 1000);
if (!(statsMs >= 100 && statsMs <= 60_000)) {
  console.error(`lab-broadcaster: --stats-interval must be 100 … 60000 ms, got ${values['stats-interval']}`);
  process.exit(2);
}
const mediaSeconds = values.media === undefined ? undefined : Number(values.media);
if (mediaSeconds !== undefined && !(mediaSeconds >= 1 && mediaSeconds <= 3600)) {
  console.error(`lab-broadcaster: --media must be 1 … 3600 seconds, got ${values.media}`);
  process.exit(2);
}
const bitrateBps = Number(values.bitrate ?? 500_000);
// Made before the session starts, so the stream begins with its first fragment.
const media = mediaSeconds === undefined ? null : makeLabMedia(mediaSeconds, bitrateBps);
const b = await NodeBroadcaster.start({
  trackerUrl,
  bitrateBps,
  framesPerSec: Number(values.fps ?? 10),
  ...(values['spare-keys'] !== undefined ? { spareKeys: Number(values['spare-keys']) } : {}),
  transport: values['relay-only'] ? { iceTransportPolicy: 'relay' } : {},
  session: {
    reconnectMinMs: 200,
    reconnectMaxMs: 1000,
    broadcaster: {
      ...(values['spare-keys-max'] !== undefined ? { directSpareKeysMax: Number(values['spare-keys-max']) } : {}),
      ...(values['spare-repair-credit'] !== undefined ? { spareRepairCredit: Number(values['spare-repair-credit']) } : {}),
    },
  },
});
// With media, frames come from the cutter (sizes vary; 10 ticks a second), not from the layout.
const mediaInfo = media && { media: true, mediaSeconds, fragments: media.fragments.length, mediaBytes: media.fragments.reduce((n, f) => n + f.bytes.length, 0) };
console.log(JSON.stringify({ streamId: b.key.streamId, ...b.layout, framesPerSec: b.framesPerSec, spareKeys: b.session.core.cfg.directSpareKeys, spareKeysMax: b.session.core.cfg.directSpareKeysMax, ...mediaInfo }));
const started = performance.now();
let published = 0;
let mediaEnded = false;
let stopMedia = () => {};
if (media) {
  stopMedia = playLabMedia(media, (f) => {
    b.session.publishFrame(f);
    published++;
  }, () => (mediaEnded = true), Number(values['carry-ticks'] ?? 1), values['init-repeat-ms'] === undefined ? undefined : Number(values['init-repeat-ms']));
} else b.run();
// CPU time and event-loop delay since the last line, as the Node peer's --json prints them.
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const ms = (ns: number) => (Number.isFinite(ns) ? Math.round(ns / 1e5) / 10 : 0);
setInterval(() => {
  const cpu = process.cpuUsage();
  console.log(JSON.stringify({
    t: (performance.now() - started) / 1000,
    published: media ? published : b.published.size,
    ...(media ? { mediaEnded } : {}),
    ...b.session.stats,
    // The core's counters: repairs served, direct-feed slots moved away from withholders, …
    core: b.session.core.stats,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    loopDelayP99Ms: ms(loop.percentile(99)),
    loopDelayMaxMs: ms(loop.max),
  }));
  loop.reset();
}, statsMs);
const stop = () => {
  stopMedia();
  b.destroy();
  setTimeout(() => process.exit(0), 100).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
