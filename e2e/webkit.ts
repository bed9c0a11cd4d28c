// WebKit (Debian's WebKitGTK MiniBrowser) driven over W3C WebDriver classic with selenium-webdriver
// and Debian's WebKitWebDriver, for the cross-browser tests and the e2e benchmark. WebKitGTK has no
// headless mode: each launch starts its own Xvfb display, the driver on a free port, and the
// browser with mock camera and microphone, WebRTC and autoplay on. No assertions here.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { Builder, type WebDriver } from 'selenium-webdriver';
import { freePort } from './swarm-kit.ts';

export const WEBKIT_DRIVER_PATH = process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver';
export const XVFB_PATH = process.env.XVFB_PATH ?? '/usr/bin/Xvfb';
/** Debian puts the MiniBrowser under the architecture's library folder (x86_64-linux-gnu, aarch64-linux-gnu…). */
export const MINIBROWSER_PATH =
  process.env.MINIBROWSER_PATH ??
  (() => {
    const dirs = existsSync('/usr/lib') ? readdirSync('/usr/lib').filter((d) => d.endsWith('-linux-gnu')) : [];
    return dirs.map((d) => `/usr/lib/${d}/webkit2gtk-4.1/MiniBrowser`).find((p) => existsSync(p)) ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
  })();

/** MiniBrowser switches: WebKitGTK settings (`--help-websettings`) and run-time features (`-F help`). */
export const MINIBROWSER_ARGS = [
  '--automation',
  '--enable-media-stream=true',
  '--enable-mock-capture-devices=true',
  '--enable-webrtc=true',
  '--enable-mediasource=true',
  '--enable-webaudio=true',
  '--media-playback-requires-user-gesture=false',
  '--autoplay-policy=allow',
  // Mock devices only, no permission prompt; WebRTC host candidates as plain addresses, not mDNS names.
  '--features=-MockCaptureDevicesPrompt,-ICECandidateFiltering,-GetUserMediaRequiresFocus',
];

/** Why WebKit cannot run here, or null when the driver, the display server and the browser are installed. */
export function webkitMissing(): string | null {
  const missing = [
    [WEBKIT_DRIVER_PATH, 'webkit2gtk-driver'],
    [MINIBROWSER_PATH, 'webkit2gtk-driver'],
    [XVFB_PATH, 'xvfb'],
  ].filter(([p]) => !existsSync(p));
  if (missing.length === 0) return null;
  return `WebKitGTK is not installed (${missing.map(([p]) => p).join(', ')} missing): install it with \`apt-get install ${[...new Set(missing.map(([, pkg]) => pkg))].join(' ')}\``;
}


/** Starts Xvfb on the first free display (`-displayfd` tells which). */
async function startXvfb(): Promise<{ child: ChildProcess; display: string }> {
  const child = spawn(XVFB_PATH, ['-displayfd', '3', '-screen', '0', '1280x720x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const display = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('Xvfb did not report a display within 20 s')), 20_000);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`Xvfb exited with ${code}`))));
    child.stdio[3]!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) (clearTimeout(timer), resolve(`:${out.trim()}`));
    });
  });
  return { child, display };
}

async function waitForDriver(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`WebKitWebDriver exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/status`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('WebKitWebDriver did not answer within 20 s');
}

/** Ends a child started here and everything it started (its own process group). */
async function stopGroup(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
}

export interface WebKit {
  driver: WebDriver;
  /** Lines the browser and driver wrote (console messages of the page land here too). */
  log: string[];
  close(): Promise<void>;
}

/** Launches WebKitGTK under its own Xvfb through WebKitWebDriver. Call `close()` in a `finally`. */
export async function launchWebKit(): Promise<WebKit> {
  const why = webkitMissing();
  if (why) throw new Error(why);
  let xvfb: ChildProcess | null = null;
  let drv: ChildProcess | null = null;
  let driver: WebDriver | null = null;
  const log: string[] = [];
  const close = async () => {
    await driver?.quit().catch(() => undefined);
    driver = null;
    await stopGroup(drv);
    await stopGroup(xvfb);
  };
  try {
    const x = await startXvfb();
    xvfb = x.child;
    const port = await freePort();
    drv = spawn(WEBKIT_DRIVER_PATH, [`--port=${port}`, '--host=127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, DISPLAY: x.display, WEBKIT_DISABLE_COMPOSITING_MODE: '1' },
    });
    for (const s of [drv.stdout, drv.stderr]) s?.on('data', (d: Buffer) => log.push(...d.toString().split('\n').filter(Boolean)));
    const url = `http://127.0.0.1:${port}`;
    await waitForDriver(url, drv);
    driver = await new Builder()
      .usingServer(url)
      .withCapabilities({
        browserName: 'MiniBrowser',
        'webkitgtk:browserOptions': { binary: MINIBROWSER_PATH, args: MINIBROWSER_ARGS },
      })
      .build();
    await driver.manage().setTimeouts({ script: 120_000, pageLoad: 60_000 });
    const d = driver;
    return { driver: d, log, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Runs `fn` in the page (an async function body's result is awaited) and returns its JSON result. */
export async function evaluate<T, A extends unknown[]>(driver: WebDriver, fn: (...args: A) => T | Promise<T>, ...args: A): Promise<T> {
  // \`__name\`: the helper that the TypeScript loader (esbuild's keepNames) puts in function sources.
  const script = `const done = arguments[arguments.length - 1]; const __name = (f) => f;
    Promise.resolve().then(() => (${fn.toString()}).apply(null, Array.from(arguments).slice(0, -1)))
      .then((v) => done({ ok: true, v: JSON.stringify(v ?? null) }), (e) => done({ ok: false, v: String(e) + ' ' + String(e && e.stack) }));`;
  const r = (await driver.executeAsyncScript(script, ...args)) as { ok: boolean; v: string };
  if (!r.ok) throw new Error(`in WebKit: ${r.v}`);
  return JSON.parse(r.v) as T;
}

/** Polls `fn` in the page until it returns a truthy value (returned) or `timeoutMs` passes (throws). */
export async function waitFor<T, A extends unknown[]>(driver: WebDriver, timeoutMs: number, fn: (...args: A) => T, ...args: A): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await evaluate(driver, fn, ...args).catch(() => null);
    if (v) return v as T;
    if (Date.now() > deadline) throw new Error(`WebKit: condition not met within ${timeoutMs} ms: ${fn.toString().slice(0, 200)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** What this page's browser offers the broadcaster and the viewer (run in a page of the project). */
export function probeWebKit(driver: WebDriver) {
  return evaluate(driver, async () => {
    const enc = async (codec: string) =>
      typeof VideoEncoder === 'undefined' ? false : (await VideoEncoder.isConfigSupported({ codec, width: 640, height: 360, bitrate: 1_000_000 }).catch(() => ({ supported: false }))).supported === true;
    const dec = async (codec: string) =>
      typeof VideoDecoder === 'undefined' ? false : (await VideoDecoder.isConfigSupported({ codec }).catch(() => ({ supported: false }))).supported === true;
    const mse = (t: string) => typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported(t);
    let camera: string;
    try {
      const s = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
      camera = s.getTracks().map((t) => `${t.kind}: ${t.label}`).join(', ');
      for (const t of s.getTracks()) t.stop();
    } catch (e) {
      camera = `failed: ${String(e)}`;
    }
    return {
      userAgent: navigator.userAgent,
      secureContext: isSecureContext,
      webrtc: typeof RTCPeerConnection !== 'undefined',
      getUserMedia: camera,
      videoEncoder: typeof VideoEncoder !== 'undefined',
      audioEncoder: typeof AudioEncoder !== 'undefined',
      trackProcessor: typeof (globalThis as { MediaStreamTrackProcessor?: unknown }).MediaStreamTrackProcessor !== 'undefined',
      encode: { avc: await enc('avc1.42e01e'), vp9: await enc('vp09.00.31.08'), av1: await enc('av01.0.04M.08') },
      decode: { avc: await dec('avc1.42e01e'), vp9: await dec('vp09.00.31.08'), av1: await dec('av01.0.04M.08') },
      opusEncode: typeof AudioEncoder === 'undefined' ? false : (await AudioEncoder.isConfigSupported({ codec: 'opus', sampleRate: 48000, numberOfChannels: 2, bitrate: 64000 }).catch(() => ({ supported: false }))).supported === true,
      mse: { avcOpus: mse('video/mp4; codecs="avc1.42e01e,opus"'), vp9Opus: mse('video/mp4; codecs="vp09.00.31.08,opus"'), av1: mse('video/mp4; codecs="av01.0.04M.08"') },
    };
  });
}
