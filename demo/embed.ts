// The embed example: one <p2p-player> on an ordinary page, pointed at the stream named by
// ?stream=<streamId> (and ?tracker=), with the markup a site would paste shown below it.

import '../src/player/define-p2p-player.ts';
import '../src/session/p2p-player-entry.ts';
import { embedSnippet, streamIdFromUrl, trackerUrlFor } from '../src/player/watch-link.ts';

const player = document.getElementById('player')!;
// `window.p2p` is a debugging handle on the running session.
player.addEventListener('sessionready', (e) => Object.assign(window, { p2p: { session: (e as CustomEvent).detail, element: player } }));
const streamId = streamIdFromUrl(location.href);
const tracker = trackerUrlFor(location.href);
player.setAttribute('tracker', tracker);
if (streamId) player.setAttribute('stream', streamId);
if (new URL(location.href).searchParams.get('ice') === 'relay') player.setAttribute('ice-policy', 'relay');
// The snippet is shown as text (textContent): a placeholder without markup characters, so that
// what the page shows is exactly what a site pastes.
document.getElementById('snippet')!.textContent = embedSnippet({
  scriptUrl: new URL('/p2p-player.js', location.origin).toString(),
  tracker,
  streamId: streamId ?? 'YOUR_STREAM_ID',
});
if (!streamId) document.getElementById('no-stream')!.hidden = false;
