// The watch page: reads the streamId from /watch/<streamId> or ?stream=<streamId>, shows a
// <p2p-player> for it (autoplay, muted, controls, stats overlay) or a form to open one. The swarm
// session attaches through p2p-player-entry.ts; `window.p2p.session` is a debugging handle.

import '../src/player/define-p2p-player.ts';
import '../src/session/p2p-player-entry.ts';
import { isStreamId } from '../src/crypto/stream-key.ts';
import { streamIdFromUrl, trackerUrlFor } from '../src/player/watch-link.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function showPlayer(streamId: string): void {
  const tracker = trackerUrlFor(location.href);
  const el = document.createElement('p2p-player');
  el.setAttribute('tracker', tracker);
  el.setAttribute('stream', streamId);
  // ?ice=relay: relay-only privacy mode (neighbours see the TURN server's address, not this viewer's).
  if (new URL(location.href).searchParams.get('ice') === 'relay') el.setAttribute('ice-policy', 'relay');
  for (const a of ['autoplay', 'muted', 'controls', 'stats-overlay']) el.setAttribute(a, '');
  el.addEventListener('sessionready', (e) => Object.assign(window, { p2p: { session: (e as CustomEvent).detail, element: el } }));
  el.addEventListener('statuschange', (e) => ($('status').textContent = (e as CustomEvent<string>).detail));
  // Renditions: the picker lists them once the broadcast's list came; Auto lets the player choose.
  const picker = $<HTMLSelectElement>('quality');
  el.addEventListener('qualitychange', (e) => {
    const d = (e as CustomEvent<{ playing: string; quality: string; qualities: Array<{ name: string; bitrateBps: number }> }>).detail;
    $('playing').textContent = `${d.playing} playing${d.quality === 'auto' ? ' (auto)' : ''}`;
    if (picker.options.length !== d.qualities.length + 1) {
      picker.replaceChildren(new Option('Auto', 'auto'), ...d.qualities.map((q) => new Option(`${q.name} (${Math.round(q.bitrateBps / 1000)} kbit/s)`, q.name)));
    }
    picker.value = d.quality;
    picker.hidden = false;
  });
  picker.addEventListener('change', () => {
    el.quality = picker.value;
  });
  $('player-slot').replaceChildren(el);
  $('status').textContent = el.status;
  $('stream-id').textContent = streamId;
  $('tracker').textContent = tracker;
  $('about').hidden = false;
  document.title = `Watch ${streamId.slice(0, 8)}… · p2p-player`;
}

function showForm(): void {
  $('status').textContent = 'no stream';
  const form = $<HTMLFormElement>('pick');
  form.hidden = false;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $<HTMLInputElement>('stream-input').value.trim();
    let id: string | null = isStreamId(text) ? text : null;
    if (!id) {
      try {
        id = streamIdFromUrl(new URL(text));
      } catch {
        id = null;
      }
    }
    if (!id) {
      $('pick-error').textContent = 'That is not a watch link or a stream id.';
      return;
    }
    location.assign(`/watch/${id}${location.search}`);
  });
}

const id = streamIdFromUrl(location.href);
if (id) showPlayer(id);
else showForm();
