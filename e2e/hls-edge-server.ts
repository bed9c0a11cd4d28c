// Server for the HLS browser test: a whole stream in one Node process (tracker, broadcast session
// publishing ffmpeg-made fMP4 in real time over WebRTC in Node, the edge as `npm start -- --edge`
// makes it, joined over WebRTC, the LL-HLS edge on /hls/).
// Prints one JSON line { baseUrl, streamId } once the edge is linked, then every 250 ms a line
// { counters } with the edge's HTTP handler counters (requests, bytes sent), and runs until killed.
import { startEdgeRig } from '../src/hls/test-edge-rig.ts';
import { makeTestFmp4, splitFmp4 } from '../src/hls/test-media.ts';
import { TrackerClient } from '../src/tracker-client/tracker-client.ts';

// How this process ends goes to stderr, which the test prints (edge-kit.ts): an exit code and its
// cause. (A signal, or a native crash, ends it without a word; the parent says that one.)
process.on('uncaughtExceptionMonitor', (e, origin) => console.error(`edge server: ${origin}: ${e instanceof Error ? e.stack : String(e)}`));
process.on('exit', (code) => console.error(`edge server: exit code ${code}`));

// Each failed-link report a peer of this process (the broadcaster, the edge) sends to the tracker is
// printed as a line { failed: { by, peer, atMs } } (Date.now()): the tracker never pairs a reported pair again.
const reportFailed = TrackerClient.prototype.reportFailed;
TrackerClient.prototype.reportFailed = function (this: TrackerClient, peerId: string) {
  if (this.connected) console.log(JSON.stringify({ failed: { by: this.peerId, peer: peerId, atMs: Date.now() } }));
  reportFailed.call(this, peerId);
};

const seconds = Number(process.argv[2] ?? 60);
const rig = await startEdgeRig(splitFmp4(makeTestFmp4({ seconds })), { via: 'webrtc' });
console.log(JSON.stringify({ baseUrl: rig.baseUrl, streamId: rig.streamId }));
setInterval(() => console.log(JSON.stringify({ counters: rig.edge.handler.counters })), 250);
const stop = () => void rig.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
