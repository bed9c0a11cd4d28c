// Watch links and embed snippets: where a streamId lives in a URL (/watch/<streamId> or
// ?stream=<streamId>), the default tracker address, and the HTML a site pastes to embed a stream.
// Pure string work, no DOM. Used by the demo pages and tests.

import { isStreamId } from '../crypto/stream-key.ts';

/** The streamId named by a watch URL, or null when it names none (or a malformed one). */
export function streamIdFromUrl(url: URL | string): string | null {
  const u = typeof url === 'string' ? new URL(url, 'http://localhost/') : url;
  const fromPath = /\/watch\/([^/?#]+)\/?$/.exec(u.pathname)?.[1];
  const candidate = fromPath !== undefined ? decodeURIComponent(fromPath) : u.searchParams.get('stream');
  return isStreamId(candidate) ? candidate : null;
}

/** Tracker address: ?tracker= on the page, else the /tracker path of the page's own host. */
export function trackerUrlFor(page: URL | string): string {
  const u = typeof page === 'string' ? new URL(page) : page;
  const given = u.searchParams.get('tracker');
  if (given && /^wss?:\/\/[^\s]+$/.test(given)) return given;
  return `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/tracker`;
}

/** The watch link for a stream, on the same origin as `page`; carries a non-default tracker along. */
export function watchUrlFor(page: URL | string, streamId: string): string {
  const u = typeof page === 'string' ? new URL(page) : page;
  const link = new URL(`/watch/${encodeURIComponent(streamId)}`, u.origin);
  const given = u.searchParams.get('tracker');
  if (given) link.searchParams.set('tracker', given);
  return link.toString();
}

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** HTML that embeds the stream on another site. */
export function embedSnippet(options: { scriptUrl: string; tracker: string; streamId: string }): string {
  return [
    `<script type="module" src="${escapeAttr(options.scriptUrl)}"></script>`,
    `<p2p-player tracker="${escapeAttr(options.tracker)}" stream="${escapeAttr(options.streamId)}" autoplay muted controls></p2p-player>`,
  ].join('\n');
}
