import { describe, expect, it } from 'vitest';
import { embedSnippet, streamIdFromUrl, trackerUrlFor, watchUrlFor } from './watch-link.ts';

const ID = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde';

describe('watch links', () => {
  it.each([
    [`http://h/watch/${ID}`, ID],
    [`http://h/watch/${ID}/`, ID],
    [`http://h/demo/watch.html?stream=${ID}`, ID],
    [`http://h/watch/${ID}?tracker=ws://x`, ID],
    ['http://h/watch/short', null],
    ['http://h/demo/watch.html', null],
    [`http://h/demo/watch.html?stream=${ID}%3Cscript`, null],
  ])('%s → %s', (url, id) => {
    expect(streamIdFromUrl(url)).toBe(id);
  });

  it('builds a watch link that streamIdFromUrl reads back, keeping a given tracker', () => {
    const link = watchUrlFor('http://127.0.0.1:5173/demo/broadcast.html?tracker=ws://127.0.0.1:9000', ID);
    expect(link).toBe(`http://127.0.0.1:5173/watch/${ID}?tracker=ws%3A%2F%2F127.0.0.1%3A9000`);
    expect(streamIdFromUrl(link)).toBe(ID);
    expect(trackerUrlFor(link)).toBe('ws://127.0.0.1:9000');
  });

  it('defaults the tracker to the page host', () => {
    expect(trackerUrlFor('http://a.example:8080/x')).toBe('ws://a.example:8080/tracker');
    expect(trackerUrlFor('https://a.example/x')).toBe('wss://a.example/tracker');
    expect(trackerUrlFor('https://a.example/x?tracker=javascript:alert(1)')).toBe('wss://a.example/tracker');
  });

  it('escapes attribute values in the embed snippet', () => {
    const s = embedSnippet({ scriptUrl: 'https://cdn/p.js', tracker: 'wss://t/"x', streamId: ID });
    expect(s).toContain('tracker="wss://t/&quot;x"');
    expect(s).toContain(`stream="${ID}"`);
  });
});
