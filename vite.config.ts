// Vite serves and builds the demo pages; Vitest runs the unit tests (*.test.ts beside the code).
import { defineConfig } from 'vitest/config';
import type { Plugin } from 'vite';

// Node 20 runs the relaxed SIMD kernel build only behind this V8 flag (later Node has it on).
const nodeMajor = Number(process.versions.node.split('.')[0]);
const wasmFlags = nodeMajor < 22 ? ['--experimental-wasm-relaxed-simd'] : [];

// Watch links look like /watch/<streamId>: the dev and preview servers answer them with the watch page.
const rewriteWatchLink = (req: { url?: string }, _res: unknown, next: () => void): void => {
  const m = req.url ? /^\/watch\/[A-Za-z0-9_-]+\/?(\?.*)?$/.exec(req.url) : null;
  if (m) req.url = `/demo/watch.html${m[1] ?? ''}`;
  next();
};
const watchLinks: Plugin = {
  name: 'watch-links',
  configureServer: (server) => void server.middlewares.use(rewriteWatchLink),
  configurePreviewServer: (server) => void server.middlewares.use(rewriteWatchLink),
};

export default defineConfig({
  plugins: [watchLinks],
  build: {
    rolldownOptions: {
      input: {
        index: 'index.html',
        broadcast: 'demo/broadcast.html',
        watch: 'demo/watch.html',
        embed: 'demo/embed.html',
      },
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
    environment: 'node',
    // Generous: the simulator suites take 20–60 s alone on two cores, and a loaded machine doubles that.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    execArgv: wasmFlags,
  },
});
