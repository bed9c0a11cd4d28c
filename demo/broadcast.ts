// The broadcast demo page: camera and microphone pickers, preview, resolution and bitrate, go
// live / stop, live statistics, the watch link and embed snippet. It runs the media pipeline; the
// swarm session (src/session/connect-broadcaster.ts) attaches through the 'p2p-broadcaster' event.

import { MediaBroadcaster } from '../src/broadcaster/media-broadcaster.ts';
import { listDevices, openCapture, stopCapture, RESOLUTIONS } from '../src/broadcaster/media-devices.ts';
import { loadOrCreateStreamKey } from '../src/broadcaster/stream-key-store.ts';
import { generateStreamKey, type StreamKeyPair } from '../src/crypto/stream-key.ts';
import { embedSnippet, trackerUrlFor, watchUrlFor } from '../src/player/watch-link.ts';
import { formatBytes } from '../src/player/stats-overlay.ts';
import { UploadMeter, bitrateNote, broadcasterErrorText, formatBitrate, noWebRtcError, type UploadFigures } from '../src/broadcaster/broadcast-figures.ts';
import { listenForBroadcasts } from '../src/session/connect-broadcaster.ts';

// The swarm session publishes what the broadcaster emits; `window.p2p` is a debugging handle.
listenForBroadcasts((session, req) => Object.assign(window, { p2p: { session, broadcaster: req.broadcaster } }));

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const preview = $<HTMLVideoElement>('preview');
const cameraSelect = $<HTMLSelectElement>('camera');
const micSelect = $<HTMLSelectElement>('microphone');
const resolutionSelect = $<HTMLSelectElement>('resolution');
const bitrateSelect = $<HTMLSelectElement>('bitrate');
const audioCodecSelect = $<HTMLSelectElement>('audio-codec');
const renditionsSelect = $<HTMLSelectElement>('renditions');
const startButton = $<HTMLButtonElement>('start');
const stopButton = $<HTMLButtonElement>('stop');
const stateBadge = $<HTMLSpanElement>('state');
const errorBox = $<HTMLSpanElement>('error');
const statsList = $<HTMLDListElement>('stats');

let capture: MediaStream | null = null;
let broadcaster: MediaBroadcaster | null = null;
let key: StreamKeyPair | null = null;
let liveSinceMs = 0;
/** Numbers the swarm session reports (viewers, holders, producers). */
const sessionStats: Record<string, string> = {};
/** Upload / stream counted only while viewers watch. */
let uploadMeter = new UploadMeter();
let upload: UploadFigures | null = null;

const NO_MIC = '';

for (const [i, r] of RESOLUTIONS.entries()) resolutionSelect.add(new Option(r.label, String(i), false, r.width === 640 && r.height === 360));

/** A lasting warning (the stream key could not be stored), shown when there is no fresher error. */
let keyWarning = '';

function showError(e: unknown): void {
  errorBox.textContent = e ? broadcasterErrorText(e) : keyWarning;
}

function setState(text: string, live = false): void {
  stateBadge.textContent = text;
  stateBadge.classList.toggle('live', live);
}

async function fillPickers(): Promise<void> {
  const { cameras, microphones } = await listDevices();
  const keep = (select: HTMLSelectElement, items: Array<{ deviceId: string; label: string }>, extra?: HTMLOptionElement) => {
    const current = select.value;
    select.replaceChildren(...(extra ? [extra] : []), ...items.map((d) => new Option(d.label, d.deviceId)));
    if ([...select.options].some((o) => o.value === current)) select.value = current;
  };
  keep(cameraSelect, cameras);
  keep(micSelect, microphones, new Option('No microphone', NO_MIC));
  if (!micSelect.dataset.filled && microphones.length > 0) micSelect.value = microphones[0].deviceId;
  micSelect.dataset.filled = '1';
}

function chosenResolution() {
  return RESOLUTIONS[Number(resolutionSelect.value)] ?? RESOLUTIONS[1];
}

async function openPreview(): Promise<void> {
  stopCapture(capture);
  capture = null;
  const r = chosenResolution();
  capture = await openCapture({
    cameraId: cameraSelect.value || undefined,
    microphoneId: micSelect.options.length === 0 ? undefined : micSelect.value === NO_MIC ? null : micSelect.value,
    width: r.width,
    height: r.height,
    frameRate: 30,
  });
  preview.srcObject = capture;
}

async function refreshSource(): Promise<void> {
  if (broadcaster) return;
  showError(null);
  startButton.disabled = true;
  try {
    await openPreview();
    await fillPickers();
    startButton.disabled = false;
  } catch (e) {
    showError(e);
  }
}

async function goLive(): Promise<void> {
  if (!capture || broadcaster) return;
  showError(null);
  // Without WebRTC the page would encode and say "live" while no viewer can ever connect.
  const noWebRtc = noWebRtcError();
  if (noWebRtc) return showError(noWebRtc);
  startButton.disabled = true;
  const r = chosenResolution();
  const hasAudio = capture.getAudioTracks().length > 0;
  const b = new MediaBroadcaster({
    video: { width: r.width, height: r.height, frameRate: 30, bitrateBps: Number(bitrateSelect.value), keyFrameIntervalS: 0.5, codecs: ['avc', 'vp9', 'av1', 'vp8'] },
    // The chosen codec first, the other as the fallback where the chosen one cannot be encoded or played.
    audio: hasAudio ? { bitrateBps: 64_000, codecs: audioCodecSelect.value === 'aac' ? ['aac', 'opus'] : ['opus', 'aac'] } : null,
    // Two renditions: the chosen height and half of it (even), each its own encoder and swarm.
    ...(renditionsSelect.value === '2' ? { renditions: [{ height: r.height }, { height: Math.max(32, Math.round(r.height / 4) * 2) }] } : {}),
  });
  b.on('state', (s) => setState(s === 'live' ? 'live' : s, s === 'live'));
  b.on('error', (e) => showError(e));
  broadcaster = b;
  uploadMeter = new UploadMeter();
  upload = null;
  for (const el of [cameraSelect, micSelect, audioCodecSelect, resolutionSelect, bitrateSelect, renditionsSelect]) el.disabled = true;
  try {
    window.dispatchEvent(new CustomEvent('p2p-broadcaster', { detail: { broadcaster: b, key, tracker: trackerUrlFor(location.href) } }));
    await b.start(capture);
    liveSinceMs = Date.now();
    stopButton.disabled = false;
  } catch (e) {
    showError(e);
    await stopLive();
  }
}

async function stopLive(): Promise<void> {
  const b = broadcaster;
  stopButton.disabled = true;
  if (b) {
    await b.stop();
    b.destroy();
  }
  broadcaster = null;
  setState('stopped');
  for (const el of [cameraSelect, micSelect, audioCodecSelect, resolutionSelect, bitrateSelect, renditionsSelect]) el.disabled = false;
  startButton.disabled = !capture;
}

function renderStats(): void {
  const s = broadcaster?.stats;
  const chosen = Number(bitrateSelect.value);
  const liveForS = s && liveSinceMs ? (Date.now() - liveSinceMs) / 1000 : 0;
  const viewers = upload?.viewers ?? 0;
  const rows: Array<[string, string, string?]> = [
    ['State', s?.state ?? 'idle'],
    ['Codec', s?.mimeType ?? '–'],
    ['On air', s && liveSinceMs ? `${Math.round(liveForS)} s` : '–'],
    ['Stream bitrate', s ? `${formatBitrate(s.bitrateBps)} (ceiling ${formatBitrate(chosen)})` : '–', 'What the encoder produces now, audio included; the bitrate picker sets its ceiling.'],
    ['Sent', s ? formatBytes(s.bytes) : '–', 'Stream bytes handed to the swarm so far.'],
    ['Segments', s ? String(s.fragments) : '0', 'Pieces of about half a second, each starting with a key frame: a viewer can start at any of them.'],
    ['Viewers', sessionStats.viewers ?? '–'],
    ['Holders', sessionStats.holders ?? '–', 'Viewers the tracker chose to keep a share of each segment for the others.'],
    ['Producers', sessionStats.producers ?? '–', 'Viewers the tracker chose to rebuild and pass on coded pieces.'],
    ['Your upload / stream', viewers === 0 ? 'no viewer yet' : upload?.uploadPerStream == null ? '–' : upload.uploadPerStream.toFixed(2),
      'Bytes you upload per byte of stream, over the last 10 s with viewers watching: about 1 means you send one copy, whatever the number of viewers.'],
    ['Carried by viewers', upload?.carriedByPeers == null ? '–' : `${Math.round(upload.carriedByPeers * 100)} % (estimate)`,
      'Share of what viewers receive that other viewers sent them: 1 − your upload / (viewers × stream).'],
  ];
  const note = s ? bitrateNote(chosen, s.bitrateBps, liveForS) : null;
  const noteBox = $<HTMLParagraphElement>('bitrate-note');
  noteBox.textContent = note ?? '';
  noteBox.hidden = note === null;
  statsList.replaceChildren(
    ...rows.flatMap(([k, v, help]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      if (help) dt.title = help;
      const dd = document.createElement('dd');
      dd.textContent = v;
      return [dt, dd];
    }),
  );
}

function wireCopy(buttonId: string, source: HTMLInputElement | HTMLTextAreaElement): void {
  $<HTMLButtonElement>(buttonId).addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(source.value);
      $<HTMLSpanElement>('copied').textContent = 'Copied';
    } catch {
      source.select();
      $<HTMLSpanElement>('copied').textContent = 'Press Ctrl+C to copy';
    }
    setTimeout(() => ($<HTMLSpanElement>('copied').textContent = ''), 2000);
  });
}

async function main(): Promise<void> {
  setState('idle');
  renderStats();
  setInterval(renderStats, 1000);
  window.addEventListener('p2p-broadcaster-stats', (e) => {
    const { counters, ...text } = (e as CustomEvent<Record<string, string> & { counters?: { viewers: number; streamBytes: number; bytesUp: number } }>).detail;
    Object.assign(sessionStats, text);
    if (counters) upload = uploadMeter.push({ atMs: Date.now(), ...counters });
  });
  cameraSelect.addEventListener('change', () => void refreshSource());
  micSelect.addEventListener('change', () => void refreshSource());
  resolutionSelect.addEventListener('change', () => void refreshSource());
  startButton.addEventListener('click', () => void goLive());
  stopButton.addEventListener('click', () => void stopLive());
  const link = $<HTMLInputElement>('watch-link');
  const embed = $<HTMLTextAreaElement>('embed');
  wireCopy('copy-link', link);
  wireCopy('copy-embed', embed);
  try {
    key = await loadOrCreateStreamKey().catch(async (e: unknown) => {
      // No IndexedDB (private mode, storage off): broadcast anyway with a key that lives until reload.
      keyWarning = `${String((e as Error)?.message ?? e)}; the stream id will change when this page reloads`;
      showError(null);
      return generateStreamKey();
    });
    link.value = watchUrlFor(location.href, key.streamId);
    embed.value = embedSnippet({
      scriptUrl: new URL('/p2p-player.js', location.origin).toString(),
      tracker: trackerUrlFor(location.href),
      streamId: key.streamId,
    });
    document.body.dataset.streamId = key.streamId;
  } catch (e) {
    showError(e);
  }
  await refreshSource();
}

void main();
