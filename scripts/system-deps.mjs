// The Debian packages the test suites need, and the step that installs the missing ones.
// `npm test` runs it first: as root it installs what is missing with apt (one `apt-get update`,
// one `apt-get install`), otherwise it stops at once and prints the one command to run.
// Each entry names a program the tests look for and the package that brings it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Program (absolute path) → Debian package, and which suites need it. */
export const SYSTEM_DEPS = [
  { program: '/usr/bin/chromium', pkg: 'chromium', why: 'browser tests (Playwright)' },
  { program: '/usr/bin/ffprobe', pkg: 'ffmpeg', why: 'LL-HLS tests: fMP4 made by ffmpeg, segments read back by ffprobe' },
  { program: '/usr/bin/firefox-esr', pkg: 'firefox-esr', why: 'cross-browser test: a Firefox viewer' },
  { program: '/usr/bin/WebKitWebDriver', pkg: 'webkit2gtk-driver', why: 'WebKit test: WebKitGTK driven over WebDriver' },
  { program: '/usr/bin/Xvfb', pkg: 'xvfb', why: 'WebKit test: WebKitGTK has no headless mode and runs on an Xvfb display' },
  { program: '/usr/bin/turnserver', pkg: 'coturn', why: 'TURN tests: peers relayed through a real coturn' },
  { program: '/usr/bin/redis-server', pkg: 'redis-server', why: 'tracker scale-out tests: nodes sharing a real Redis 7' },
];

/** The packages whose program is missing (CHROMIUM_PATH stands in for Debian's chromium). */
export function missingPackages(deps = SYSTEM_DEPS, exists = existsSync) {
  return deps
    .filter((d) => !(d.pkg === 'chromium' && process.env.CHROMIUM_PATH && exists(process.env.CHROMIUM_PATH)))
    .filter((d) => !exists(d.program))
    .map((d) => d.pkg);
}

/**
 * Installs the missing packages when running as root on a Debian-like system. Returns true when
 * everything is there afterwards; prints what to do and returns false otherwise.
 */
export function ensureSystemDeps() {
  const missing = missingPackages();
  if (missing.length === 0) return true;
  const cmd = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    console.error(`The tests need Debian packages that are missing: ${missing.join(', ')}.`);
    console.error(`Run as root:  ${cmd}`);
    return false;
  }
  console.log(`installing Debian packages the tests need: ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = update.status === 0
    ? spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env })
    : update;
  const still = missingPackages();
  if (install.status !== 0 || still.length > 0) {
    console.error(`apt could not install: ${still.join(', ') || missing.join(', ')}. Run as root:  ${cmd}`);
    return false;
  }
  return true;
}
