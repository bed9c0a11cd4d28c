// Firefox (Debian's firefox-esr) driven over WebDriver BiDi with puppeteer-core, for the
// cross-browser tests and the e2e benchmark: headless, fake camera and microphone, WebRTC between
// pages of one machine (loopback ICE candidates, no mDNS names), autoplay allowed. No assertions.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export const FIREFOX_PREFS: Record<string, unknown> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'network.proxy.type': 0,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'app.update.enabled': false,
};

export function launchFirefox(): Promise<Browser> {
  if (!existsSync(FIREFOX_PATH)) throw new Error(`no Firefox at ${FIREFOX_PATH}: install it with \`apt-get install firefox-esr\` (or set FIREFOX_PATH)`);
  return puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX_PATH, headless: true, extraPrefsFirefox: FIREFOX_PREFS, protocolTimeout: 120_000 });
}

/** What this page's browser offers the broadcaster and the viewer (run in a secure context page). */
export function capabilities(page: Page) {
  return page.evaluate(async () => {
    const enc = async (codec: string) =>
      typeof VideoEncoder === 'undefined' ? false : (await VideoEncoder.isConfigSupported({ codec, width: 640, height: 360, bitrate: 1_000_000 }).catch(() => ({ supported: false }))).supported === true;
    const mse = (t: string) => typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported(t);
    return {
      userAgent: navigator.userAgent,
      secureContext: isSecureContext,
      webrtc: typeof RTCPeerConnection !== 'undefined',
      videoEncoder: typeof VideoEncoder !== 'undefined',
      audioEncoder: typeof AudioEncoder !== 'undefined',
      trackProcessor: typeof (globalThis as { MediaStreamTrackProcessor?: unknown }).MediaStreamTrackProcessor !== 'undefined',
      encode: { avc: await enc('avc1.42e01e'), vp9: await enc('vp09.00.31.08'), av1: await enc('av01.0.04M.08') },
      opusEncode: typeof AudioEncoder === 'undefined' ? false : (await AudioEncoder.isConfigSupported({ codec: 'opus', sampleRate: 48000, numberOfChannels: 2, bitrate: 64000 }).catch(() => ({ supported: false }))).supported === true,
      mse: { avcOpus: mse('video/mp4; codecs="avc1.42e01e,opus"'), vp9Opus: mse('video/mp4; codecs="vp09.00.31.08,opus"'), av1: mse('video/mp4; codecs="av01.0.04M.08"') },
    };
  });
}
