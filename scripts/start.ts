// `npm start`: one Node process on 127.0.0.1 that serves the tracker WebSocket at /tracker, the
// tracker's /health and /metrics, and the demo pages (watch links /watch/<streamId> and the embed
// script /p2p-player.js included): built with `vite build` into dist/ and served as static files,
// or with --dev through Vite in middleware mode (also serves e2e/pages for the browser tests).
// With --turn it also starts a local coturn (when installed) and the tracker hands every peer
// short-lived TURN credentials for it. With --edge it also serves Low-Latency HLS of the streams at
// /hls/<streamId>/index.m3u8. Holds no tracker or page logic itself.
// Options: PORT (default 8080), HOST (default 127.0.0.1), TURN_PORT (default 3478).

import { createReadStream, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { build, createServer as createVite, type ViteDevServer } from 'vite';
import { coturnInstalled, startCoturn, type Coturn } from '../src/node-peer/coturn.ts';
import { startServerEdge } from '../src/hls/edge-server.ts';
import { startTracker } from '../src/tracker/server.ts';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const dev = process.argv.includes('--dev');
const withTurn = process.argv.includes('--turn');
const turnPort = Number(process.env.TURN_PORT ?? 3478);
const withEdge = process.argv.includes('--edge');
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`npm start: PORT must be a port number, got ${process.env.PORT}`);
  process.exit(2);
}

/** The script a site embeds: defines <p2p-player> and attaches the swarm session to it. */
const EMBED_SCRIPT = '/p2p-player.js';
const EMBED_ENTRY = 'src/session/p2p-player-entry.ts';
const WATCH_LINK = /^\/watch\/[A-Za-z0-9_-]+\/?$/;
const DIST = path.resolve('dist');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.wasm': 'application/wasm',
};

/** Builds the pages and the embed script into dist/; returns the embed script's built path. */
async function buildPages(): Promise<string> {
  await build({
    logLevel: 'warn',
    build: { outDir: DIST, emptyOutDir: true, rolldownOptions: { input: { 'p2p-player': EMBED_ENTRY } } },
  });
  const file = readdirSync(path.join(DIST, 'assets')).find((f) => /^p2p-player-[\w-]+\.js$/.test(f));
  if (!file) throw new Error('the build has no p2p-player script');
  return `/assets/${file}`;
}

function serveStatic(embedPath: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const rawPath = (req.url ?? '/').split('?')[0];
  let p = decodeURIComponent(rawPath);
  if (p === EMBED_SCRIPT) {
    // A redirect keeps the chunk's relative imports resolving against /assets/.
    res.writeHead(302, { location: embedPath, 'access-control-allow-origin': '*' });
    res.end();
    return;
  }
  if (p === '/') p = '/index.html';
  if (WATCH_LINK.test(p)) p = '/demo/watch.html';
  const file = path.join(DIST, path.normalize(p));
  let ok = file.startsWith(DIST + path.sep);
  if (ok) {
    try {
      ok = statSync(file).isFile();
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': p.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    'access-control-allow-origin': '*',
  });
  createReadStream(file).pipe(res);
}

const server = http.createServer();
let vite: ViteDevServer | null = null;
let embedPath = '';
if (dev) vite = await createVite({ server: { middlewareMode: true, hmr: false, host }, appType: 'mpa', logLevel: 'warn' });
else embedPath = await buildPages();
let coturn: Coturn | null = null;
if (withTurn && !coturnInstalled()) {
  console.log('--turn: coturn is not installed (apt-get install coturn): peers get no TURN server');
} else if (withTurn) {
  // On loopback; a public deployment runs coturn on its own public address (docs/netlab.md).
  coturn = await startCoturn({ listenIp: host === '0.0.0.0' ? '127.0.0.1' : host, port: turnPort });
}
const tracker = await startTracker({
  server,
  path: '/tracker',
  ...(coturn ? { ice: { turnUrls: [coturn.turnUrl], stunUrls: [coturn.stunUrl], turnSecret: coturn.secret } } : {}),
});
let base = '';
const edge = withEdge ? await startServerEdge({ trackerUrl: () => `${base.replace(/^http/, 'ws')}/tracker` }) : null;

server.on('request', (req, res) => {
  if (tracker.handleHttp(req, res)) return;
  if (edge?.edge.handler.handle(req, res)) return;
  if (!vite) return serveStatic(embedPath, req, res);
  if (req.url === '/' || req.url?.startsWith('/?')) req.url = `/index.html${req.url.slice(1)}`;
  if (req.url?.split('?')[0] === EMBED_SCRIPT) req.url = `/${EMBED_ENTRY}${req.url.slice(EMBED_SCRIPT.length)}`;
  vite.middlewares(req, res, () => {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
});
server.on('clientError', (_e, socket) => socket.destroy());

await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, host, () => resolve());
});
const addr = server.address();
base = `http://${host}:${typeof addr === 'object' && addr ? addr.port : port}`;
console.log(`p2p-player on ${base}${dev ? ' (dev: Vite middleware)' : ''}`);
console.log(`  broadcast: ${base}/demo/broadcast.html`);
console.log(`  watch:     ${base}/watch/<streamId>   (the broadcast page shows the link)`);
console.log(`  embed:     ${base}/demo/embed.html?stream=<streamId>   (script: ${base}${EMBED_SCRIPT})`);
console.log(`  tracker:   ${base.replace(/^http/, 'ws')}/tracker   (health: ${base}/health)`);
if (coturn) console.log(`  turn:      ${coturn.turnUrl} (coturn, shared secret; peers get credentials from the tracker)`);
if (edge) console.log(`  hls edge:  ${base}/hls/<streamId>/index.m3u8   (${edge.note})`);

let closing = false;
const stop = async (): Promise<void> => {
  if (closing) return;
  closing = true;
  edge?.edge.destroy();
  await tracker.close();
  await coturn?.stop();
  await vite?.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
