// `npm start`: one Node process on 127.0.0.1 that serves the tracker WebSocket at /tracker, the
// tracker's /health and /metrics, and the demo pages through Vite in middleware mode (watch links
// /watch/<streamId> included, /p2p-player.js for embedding). Holds no tracker or page logic itself.
// Options: PORT (default 8080), HOST (default 127.0.0.1).

import http from 'node:http';
import { createServer as createVite } from 'vite';
import { startTracker } from '../src/tracker/server.ts';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`npm start: PORT must be a port number, got ${process.env.PORT}`);
  process.exit(2);
}

/** The script a site embeds: defines <p2p-player> and attaches the swarm session to it. */
const EMBED_SCRIPT = '/p2p-player.js';
const EMBED_ENTRY = '/src/session/p2p-player-entry.ts';

const server = http.createServer();
const vite = await createVite({
  server: { middlewareMode: true, hmr: false, host },
  appType: 'mpa',
  logLevel: 'warn',
});
const tracker = await startTracker({ server, path: '/tracker' });

server.on('request', (req, res) => {
  if (tracker.handleHttp(req, res)) return;
  if (req.url === '/' || req.url?.startsWith('/?')) req.url = `/index.html${req.url.slice(1)}`;
  if (req.url?.split('?')[0] === EMBED_SCRIPT) req.url = EMBED_ENTRY + req.url.slice(EMBED_SCRIPT.length);
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
const base = `http://${host}:${typeof addr === 'object' && addr ? addr.port : port}`;
console.log(`p2p-player on ${base}`);
console.log(`  broadcast: ${base}/demo/broadcast.html`);
console.log(`  watch:     ${base}/watch/<streamId>   (the broadcast page shows the link)`);
console.log(`  embed:     ${base}/demo/embed.html?stream=<streamId>`);
console.log(`  tracker:   ${base.replace(/^http/, 'ws')}/tracker   (health: ${base}/health)`);

let closing = false;
const stop = async (): Promise<void> => {
  if (closing) return;
  closing = true;
  await tracker.close();
  await vite.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
