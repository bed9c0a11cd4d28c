// The watch page for the network lab's Chromium viewer. Two commands:
//   node --import tsx scripts/netlab/lab-pages.ts build <dir>
//     builds the watch page (Vite, production) into <dir>;
//   node --import tsx scripts/netlab/lab-pages.ts serve <dir> --host ADDRESS --port PORT
//     serves <dir> over HTTP (watch links /watch/<streamId> answered with the watch page), and
//     prints "listening on …" once it does.
// The lab runs `serve` inside its public namespace, so a browser behind a lab NAT reaches the page
// through its router, as it reaches the tracker. Holds no page logic itself.
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: { host: { type: 'string' }, port: { type: 'string' } } });
const [command, dirArg] = positionals;
if (!dirArg || (command !== 'build' && command !== 'serve')) {
  console.error('usage: lab-pages.ts build <dir> | serve <dir> --host ADDRESS --port PORT');
  process.exit(2);
}
const dir = path.resolve(dirArg);
const ROOT = path.resolve(import.meta.dirname, '../..');

if (command === 'build') {
  const { build } = await import('vite');
  await build({
    root: ROOT,
    logLevel: 'warn',
    build: { outDir: dir, emptyOutDir: true, rolldownOptions: { input: { watch: path.join(ROOT, 'demo/watch.html') } } },
  });
  console.log(`built the watch page into ${dir}`);
} else {
  const port = Number(values.port);
  if (!values.host || !(Number.isInteger(port) && port > 0 && port < 65536)) {
    console.error('lab-pages.ts serve: --host and --port are needed');
    process.exit(2);
  }
  const TYPES: Record<string, string> = {
    '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
    '.json': 'application/json', '.svg': 'image/svg+xml', '.wasm': 'application/wasm',
  };
  const server = http.createServer((req, res) => {
    let p = '/';
    try {
      p = decodeURIComponent((req.url ?? '/').split('?')[0]);
    } catch {
      // a malformed escape: answered 404 below
    }
    if (/^\/watch\/[A-Za-z0-9_-]+\/?$/.test(p)) p = '/demo/watch.html';
    const file = path.join(dir, path.normalize(p));
    let ok = file.startsWith(dir + path.sep);
    try {
      ok &&= statSync(file).isFile();
    } catch {
      ok = false;
    }
    if (!ok) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    createReadStream(file).pipe(res);
  });
  server.listen(port, values.host, () => console.log(`listening on http://${values.host}:${port}`));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
