// Browser tests (e2e/*.spec.ts) run in Debian's Chromium, one browser context per peer, against
// the `npm start` server on 127.0.0.1 (demo pages through Vite, tracker at /tracker). Flags: sandbox
// off (root in CI), no background traffic, WebRTC between pages on one machine, fake camera and mic.
import { defineConfig } from '@playwright/test';

const port = Number(process.env.E2E_PORT ?? 5179);

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 120_000,
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: chromiumArgs,
    },
  },
  webServer: {
    // `npm start -- --dev`: the demo and test pages (Vite middleware) and the tracker at /tracker.
    command: `node --import tsx scripts/start.ts --dev`,
    env: { PORT: String(port) },
    url: `http://127.0.0.1:${port}/`,
    reuseExistingServer: false,
    timeout: 120_000,
  },
});
