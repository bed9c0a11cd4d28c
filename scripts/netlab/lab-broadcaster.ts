// A broadcaster process for the network lab: a NodeBroadcaster with synthetic frames, started
// inside a lab namespace. Prints one JSON line {"streamId": …} once it publishes, then its stats
// as JSON once a second. Usage: node --import tsx scripts/netlab/lab-broadcaster.ts <tracker ws
// URL> [--bitrate BPS] [--fps N] [--relay-only]
import { parseArgs } from 'node:util';
import { NodeBroadcaster } from '../../src/node-peer/node-broadcaster.ts';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { bitrate: { type: 'string' }, fps: { type: 'string' }, 'relay-only': { type: 'boolean' } },
});
const trackerUrl = positionals[0];
if (!trackerUrl) {
  console.error('usage: lab-broadcaster.ts <tracker ws URL> [--bitrate BPS] [--fps N] [--relay-only]');
  process.exit(2);
}
const b = await NodeBroadcaster.start({
  trackerUrl,
  bitrateBps: Number(values.bitrate ?? 500_000),
  framesPerSec: Number(values.fps ?? 10),
  transport: values['relay-only'] ? { iceTransportPolicy: 'relay' } : {},
  session: { reconnectMinMs: 200, reconnectMaxMs: 1000 },
});
console.log(JSON.stringify({ streamId: b.key.streamId }));
const started = performance.now();
b.run();
setInterval(() => {
  console.log(JSON.stringify({ t: (performance.now() - started) / 1000, published: b.published.size, ...b.session.stats }));
}, 1000);
const stop = () => {
  b.destroy();
  setTimeout(() => process.exit(0), 100).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
