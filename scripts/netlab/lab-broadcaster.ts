// A broadcaster process for the network lab: a NodeBroadcaster with synthetic frames, started
// inside a lab namespace. Prints one JSON line {"streamId": …, "frameBytes": …} once it publishes,
// then its stats as JSON every --stats-interval ms (default 1000). Usage: node --import tsx
// scripts/netlab/lab-broadcaster.ts <tracker ws URL> [--bitrate BPS] [--fps N] [--spare-keys N]
// [--stats-interval MS] [--relay-only]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { NodeBroadcaster } from '../../src/node-peer/node-broadcaster.ts';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    bitrate: { type: 'string' },
    fps: { type: 'string' },
    'spare-keys': { type: 'string' },
    'stats-interval': { type: 'string' },
    'relay-only': { type: 'boolean' },
  },
});
const trackerUrl = positionals[0];
if (!trackerUrl) {
  console.error('usage: lab-broadcaster.ts <tracker ws URL> [--bitrate BPS] [--fps N] [--spare-keys N] [--stats-interval MS] [--relay-only]');
  process.exit(2);
}
const statsMs = Number(values['stats-interval'] ?? 1000);
if (!(statsMs >= 100 && statsMs <= 60_000)) {
  console.error(`lab-broadcaster: --stats-interval must be 100 … 60000 ms, got ${values['stats-interval']}`);
  process.exit(2);
}
const b = await NodeBroadcaster.start({
  trackerUrl,
  bitrateBps: Number(values.bitrate ?? 500_000),
  framesPerSec: Number(values.fps ?? 10),
  ...(values['spare-keys'] !== undefined ? { spareKeys: Number(values['spare-keys']) } : {}),
  transport: values['relay-only'] ? { iceTransportPolicy: 'relay' } : {},
  session: { reconnectMinMs: 200, reconnectMaxMs: 1000 },
});
console.log(JSON.stringify({ streamId: b.key.streamId, ...b.layout, framesPerSec: b.framesPerSec, spareKeys: b.session.core.cfg.directSpareKeys }));
const started = performance.now();
b.run();
// CPU time and event-loop delay since the last line, as the Node peer's --json prints them.
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const ms = (ns: number) => (Number.isFinite(ns) ? Math.round(ns / 1e5) / 10 : 0);
setInterval(() => {
  const cpu = process.cpuUsage();
  console.log(JSON.stringify({
    t: (performance.now() - started) / 1000,
    published: b.published.size,
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
  b.destroy();
  setTimeout(() => process.exit(0), 100).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
