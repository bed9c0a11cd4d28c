// The installed command: `p2p-player-peer` joins a stream from its watch link and prints stats as
// JSON at its stats interval, with verified frames counted; bad arguments exit with code 2.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startTracker } from '../tracker/server.ts';
import { NodeBroadcaster } from './node-broadcaster.ts';

const bin = fileURLToPath(new URL('../../bin/p2p-player-peer.js', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe('p2p-player-peer command', () => {
  it('refuses bad arguments with exit code 2 and explains', () => {
    const none = spawnSync(process.execPath, [bin], { encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/give exactly one watch link/);
    const badLink = spawnSync(process.execPath, [bin, 'http://127.0.0.1:1/watch/short'], { encoding: 'utf8' });
    expect(badLink.status).toBe(2);
    expect(badLink.stderr).toMatch(/names no stream/);
    const badLimit = spawnSync(process.execPath, [bin, '--upload-limit', 'x', `http://127.0.0.1:1/watch/${'A'.repeat(43)}`], { encoding: 'utf8' });
    expect(badLimit.status).toBe(2);
    const badInterval = spawnSync(process.execPath, [bin, '--stats-interval', '5', `http://127.0.0.1:1/watch/${'A'.repeat(43)}`], { encoding: 'utf8' });
    expect(badInterval.status).toBe(2);
    expect(badInterval.stderr).toMatch(/--stats-interval must be 100/);
    // --tracker given twice: both are kept (the first is the tracker, the second a further node), and each is checked.
    const link = `http://127.0.0.1:1/watch/${'A'.repeat(43)}`;
    const badFirst = spawnSync(process.execPath, [bin, '--tracker', 'http://127.0.0.1:1/t', '--tracker', 'ws://127.0.0.1:1/t', '--seconds', '1', link], { encoding: 'utf8' });
    expect(badFirst.status).toBe(2);
    expect(badFirst.stderr).toMatch(/trackerUrl must be a ws:\/\/ or wss:\/\/ URL/);
    const badSecond = spawnSync(process.execPath, [bin, '--tracker', 'ws://127.0.0.1:1/t', '--tracker', 'http://127.0.0.1:1/t', '--seconds', '1', link], { encoding: 'utf8' });
    expect(badSecond.status).toBe(2);
    expect(badSecond.stderr).toMatch(/trackerUrls must hold ws:\/\/ or wss:\/\/ URLs/);
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--relay-only/);
  });

  it('joins from a watch link, decodes verified frames and prints JSON stats at the interval asked, with its CPU time and event-loop delay', async () => {
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50 });
    cleanups.push(() => tracker.close());
    const b = await NodeBroadcaster.start({ trackerUrl: `ws://127.0.0.1:${tracker.port}`, bitrateBps: 300_000, session: { statsIntervalMs: 100 } });
    cleanups.push(() => b.destroy());
    b.run();
    const child = spawn(process.execPath, [bin, '--json', '--stats-interval', '500', '--seconds', '6', `http://127.0.0.1:${tracker.port}/watch/${b.key.streamId}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const last = lines[lines.length - 1];
    expect(last.framesDelivered).toBeGreaterThan(0);
    expect(last.streamState).toBe('live');
    expect(last.bans).toBe(0);
    expect(last.cpuMs).toBeGreaterThan(0);
    expect(typeof last.loopDelayP99Ms).toBe('number');
    expect(typeof last.loopDelayMaxMs).toBe('number');
  }, 30_000);
});
