// Browser tests of WebRtcTransport: one browser context per peer, signals relayed by the test
// itself (no server), on e2e/pages/transport.html. Also checks that the same page works from
// `vite build` output, where simple-peer must load without Node shims.
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { build } from 'vite';
import type { TransportConfig } from '../src/transport/index.ts';

const PAGE = '/e2e/pages/transport.html';
const POLL = { timeout: 20_000 };

type Peers = Record<string, Page>;

async function openPeers(browser: Browser, configs: Record<string, Partial<TransportConfig>>, origin = ''): Promise<Peers> {
  const pages: Peers = {};
  for (const [name, config] of Object.entries(configs)) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error(`page ${name}: ${e.message}`));
    await page.exposeFunction('relaySignal', async (to: string, blob: unknown) => {
      const target = pages[to];
      if (!target || target.isClosed()) return; // nobody there: the signal is lost
      await target.evaluate(([from, b]) => void window.transportTest.signal(from, b), [name, blob] as const).catch(() => {});
    });
    await page.goto(origin + PAGE);
    await page.waitForFunction(() => typeof window.transportTest === 'object');
    await page.evaluate((c) => window.transportTest.init(c), config);
    pages[name] = page;
  }
  return pages;
}

const events = (p: Page) => p.evaluate(() => window.transportTest.events());
const messages = (p: Page) => p.evaluate(() => window.transportTest.messages());
const stats = (p: Page, peer: string) => p.evaluate((id) => window.transportTest.stats(id), peer);

async function connect(pages: Peers, from: string, to: string): Promise<void> {
  await pages[from].evaluate((id) => window.transportTest.connect(id, true), to);
  await expect.poll(() => events(pages[from]), POLL).toContain(`connected ${to}`);
  await expect.poll(() => events(pages[to]), POLL).toContain(`connected ${from}`);
}

async function closeAll(pages: Peers): Promise<void> {
  for (const p of Object.values(pages)) await p.context().close();
}

test('two pages connect, carry control and media both ways, and enforce sizes on send and receive', async ({ browser }) => {
  const pages = await openPeers(browser, { A: {}, B: { maxMediaMessageBytes: 1000, maxControlMessageBytes: 32 * 1024 } });
  const { A, B } = pages;
  await connect(pages, 'A', 'B');

  const sendA = (channel: 'control' | 'media', size: number, fill = 1) =>
    A.evaluate(([c, s, f]) => window.transportTest.send('B', c, s, f), [channel, size, fill] as const);
  expect(await sendA('control', 3, 7)).toBe(true);
  expect(await sendA('control', 64 * 1024)).toBe(true); // over B's limit: B drops it
  expect(await sendA('control', 32 * 1024, 9)).toBe(true);
  expect(await sendA('media', 1000, 5)).toBe(true);
  expect(await sendA('media', 1163)).toBe(true); // over B's limit: B drops it
  expect(await sendA('media', 1164)).toBe('TRANSPORT_MESSAGE_TOO_LARGE');
  expect(await sendA('control', 64 * 1024 + 1)).toBe('TRANSPORT_MESSAGE_TOO_LARGE');
  expect(await sendA('control', 0)).toBe('TRANSPORT_BAD_MESSAGE');

  expect(await B.evaluate(() => window.transportTest.send('A', 'media', 1000, 3))).toBe(true);
  expect(await B.evaluate(() => window.transportTest.send('A', 'control', 5, 4))).toBe(true);
  expect(await B.evaluate(() => window.transportTest.send('A', 'media', 1001))).toBe('TRANSPORT_MESSAGE_TOO_LARGE');

  await expect
    .poll(async () => (await stats(B, 'A'))?.control.droppedIn, POLL)
    .toBe(1);
  await expect.poll(async () => (await stats(B, 'A'))?.media.droppedIn, POLL).toBe(1);
  const got = (await messages(B)).map((m) => `${m.channel} ${m.size} ${m.first}`);
  expect(got.filter((m) => m.startsWith('control'))).toEqual(['control 3 7', 'control 32768 9']);
  expect(got).toContain('media 1000 5');
  await expect
    .poll(async () => (await messages(A)).map((m) => `${m.from} ${m.channel} ${m.size} ${m.first}`).sort(), POLL)
    .toEqual(['B control 5 4', 'B media 1000 3']);
  const s = await stats(A, 'B');
  expect(s?.control).toMatchObject({ messagesOut: 3, bytesOut: 3 + 64 * 1024 + 32 * 1024 });
  expect(s?.media).toMatchObject({ messagesOut: 2, bytesOut: 2163 });
  const info = await A.evaluate(() => window.transportTest.linkInfo('B'));
  expect(info).toMatchObject({ relayed: false, localCandidateType: 'host', remoteCandidateType: 'host' });
  await closeAll(pages);
});

test('the requests channel opens on both sides and carries requests messages; a page without it gets them on control', async ({ browser }) => {
  const pages = await openPeers(browser, { A: {}, B: {}, C: { requestsChannel: false } });
  const { A, B, C } = pages;
  await connect(pages, 'A', 'B');
  await expect.poll(async () => (await stats(A, 'B'))?.requestsOpen, POLL).toBe(true);
  await expect.poll(async () => (await stats(B, 'A'))?.requestsOpen, POLL).toBe(true);
  expect(await A.evaluate(() => window.transportTest.send('B', 'requests', 40, 3))).toBe(true);
  expect(await A.evaluate(() => window.transportTest.send('B', 'requests', 1164))).toBe('TRANSPORT_MESSAGE_TOO_LARGE');
  expect(await B.evaluate(() => window.transportTest.send('A', 'requests', 41, 4))).toBe(true);
  await expect.poll(async () => (await messages(B)).map((m) => `${m.from} ${m.channel} ${m.size} ${m.first}`), POLL).toEqual(['A requests 40 3']);
  await expect.poll(async () => (await messages(A)).map((m) => `${m.from} ${m.channel} ${m.size} ${m.first}`), POLL).toEqual(['B requests 41 4']);

  // C, without the channel (as an older version): after a round trip on control, A's requests go on control.
  await connect(pages, 'A', 'C');
  expect(await C.evaluate(() => window.transportTest.send('A', 'control', 5, 9))).toBe(true);
  await expect.poll(async () => (await messages(A)).filter((m) => m.from === 'C').length, POLL).toBe(1);
  expect(await A.evaluate(() => window.transportTest.send('C', 'requests', 42, 5))).toBe(true);
  await expect.poll(async () => (await messages(C)).map((m) => `${m.from} ${m.channel} ${m.size} ${m.first}`), POLL).toEqual(['A control 42 5']);
  expect(await stats(A, 'C')).toMatchObject({ requestsOpen: false, requestsOnControl: 1 });
  expect(await events(C)).not.toContain('failed A channel-error');
  await closeAll(pages);
});

test('a media flood is dropped rather than queued, control fills then errors, and both report writable', async ({ browser }) => {
  const pages = await openPeers(browser, { A: {}, B: {} });
  const { A, B } = pages;
  await connect(pages, 'A', 'B');

  const media = await A.evaluate(() => window.transportTest.flood('B', 'media', 2000, 1163));
  expect(media.sent).toBeGreaterThan(0);
  expect(media.refused).toBeGreaterThan(0);
  expect(media.maxBuffered).toBeLessThanOrEqual(8 * 1163);
  expect((await stats(A, 'B'))?.media.droppedOut).toBe(media.refused);
  await expect.poll(() => events(A), POLL).toContain('writable B media');
  await expect.poll(async () => (await stats(B, 'A'))?.media.messagesIn ?? 0, POLL).toBeGreaterThan(0);
  expect((await stats(B, 'A'))?.media.messagesIn).toBeLessThanOrEqual(media.sent);

  const control = await A.evaluate(() => window.transportTest.flood('B', 'control', 40, 64 * 1024));
  expect(control.firstError).toBe('TRANSPORT_CONTROL_FULL');
  expect(control.sent).toBeGreaterThan(0);
  expect(control.maxBuffered).toBeLessThanOrEqual(1024 * 1024);
  await expect.poll(() => events(A), POLL).toContain('writable B control');
  await expect.poll(async () => (await stats(B, 'A'))?.control.messagesIn, POLL).toBe(control.sent);
  expect(await A.evaluate(() => window.transportTest.send('B', 'control', 10))).toBe(true);
  await closeAll(pages);
});

test('a closed page is reported as disconnected by the others; a connect with no answer fails after the timeout', async ({ browser }) => {
  const pages = await openPeers(browser, { A: { connectTimeoutMs: 1500 }, B: {}, C: {} });
  const { A, B, C } = pages;
  await connect(pages, 'A', 'B');
  await connect(pages, 'A', 'C');
  await connect(pages, 'C', 'B');

  await B.close();
  await expect.poll(() => events(A), POLL).toContain('disconnected B remote-closed');
  await expect.poll(() => events(C), POLL).toContain('disconnected B remote-closed');
  expect(await A.evaluate(() => window.transportTest.peers())).toEqual(['C']);
  expect(await A.evaluate(() => window.transportTest.send('C', 'control', 4, 8))).toBe(true);
  await expect.poll(async () => (await messages(C)).map((m) => `${m.from} ${m.size} ${m.first}`), POLL).toContain('A 4 8');

  await A.evaluate(() => window.transportTest.connect('X', true)); // nobody answers for X
  await expect.poll(() => events(A), POLL).toContain('failed X connect-timeout');
  expect(await A.evaluate(() => window.transportTest.peers())).toEqual(['C']);
  expect((await events(A)).filter((e) => e.includes('failed'))).toEqual(['failed X connect-timeout']);

  // a well-formed blob with an SDP the browser rejects
  expect(await A.evaluate(() => window.transportTest.signal('Y', { type: 'offer', sdp: 'v=0 not really sdp' }))).toBe(true);
  await expect.poll(() => events(A), POLL).toContain('failed Y negotiation-error');
  expect(await A.evaluate(() => window.transportTest.signal('Y', { type: 'offer', sdp: 42 }))).toBe(false);
  expect(await A.evaluate(() => window.transportTest.transportStats())).toMatchObject({ peers: 1, signalsDropped: 1 });
  await A.context().close();
  await C.context().close();
});

/** Serves a directory on 127.0.0.1 (port chosen by the system). */
async function serveDir(dir: string): Promise<{ server: Server; origin: string }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    try {
      const body = await readFile(join(dir, path));
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { server, origin: `http://127.0.0.1:${address.port}` };
}

test('the page built by vite build connects too (simple-peer bundle without Node shims)', async ({ browser }) => {
  const outDir = await mkdtemp(join(tmpdir(), 'transport-build-'));
  try {
    await build({
      root: process.cwd(),
      configFile: false,
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, rollupOptions: { input: resolve('e2e/pages/transport.html') } },
    });
    const { server, origin } = await serveDir(outDir);
    try {
      const pages = await openPeers(browser, { A: {}, B: {} }, origin);
      await connect(pages, 'A', 'B');
      expect(await pages.A.evaluate(() => window.transportTest.send('B', 'media', 1163, 6))).toBe(true);
      expect(await pages.B.evaluate(() => window.transportTest.send('A', 'control', 2, 3))).toBe(true);
      await expect.poll(async () => (await messages(pages.A)).map((m) => `${m.channel} ${m.size} ${m.first}`), POLL).toEqual(['control 2 3']);
      await expect.poll(async () => (await messages(pages.B)).map((m) => `${m.channel} ${m.size} ${m.first}`), POLL).toEqual(['media 1163 6']);
      await closeAll(pages);
    } finally {
      server.close();
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});
