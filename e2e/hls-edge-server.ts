// Server for the HLS browser test: a whole stream in one Node process (tracker, broadcast session
// publishing ffmpeg-made fMP4 in real time over WebRTC in Node, the edge as `npm start -- --edge`
// makes it, joined over WebRTC, the LL-HLS edge on /hls/).
// Prints one JSON line { baseUrl, streamId } once the edge is linked, then every 250 ms a line
// { counters } with the edge's HTTP handler counters (requests, bytes sent), and runs until killed.
import { startEdgeRig } from '../src/hls/test-edge-rig.ts';
import { makeTestFmp4, splitFmp4 } from '../src/hls/test-media.ts';

const seconds = Number(process.argv[2] ?? 60);
const rig = await startEdgeRig(splitFmp4(makeTestFmp4({ seconds })), { via: 'webrtc' });
console.log(JSON.stringify({ baseUrl: rig.baseUrl, streamId: rig.streamId }));
setInterval(() => console.log(JSON.stringify({ counters: rig.edge.handler.counters })), 250);
const stop = () => void rig.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
