// TURN credentials in the REST scheme, the `ice` message's schema, and the tracker handing them
// to each peer on join. A real coturn checks them in src/node-peer/turn.test.ts.
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { TrackerClient, type WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { parseServerMessage } from './messages.ts';
import { startTracker } from './server.ts';
import { IceIssuer, resolveIceOptions, turnCredentials } from './turn-credentials.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe('TURN credentials', () => {
  it('follow the REST scheme: expiry:peerId and base64 HMAC-SHA1 of it (known answer)', () => {
    expect(turnCredentials('north-wind-secret', 'peerAAAAAAAA', 1_700_000_000_000, 3600)).toEqual({
      username: '1700003600:peerAAAAAAAA',
      credential: 'lx1KVslEM5B/FamQcV89VrGkWPQ=',
    });
  });

  it('are renewed once half their lifetime has passed, per connection', () => {
    const issuer = new IceIssuer({ turnUrls: ['turn:192.0.2.1:3478'], turnSecret: 'north-wind-secret', stunUrls: ['stun:192.0.2.1:3478'], ttlSec: 600 });
    const conn = {};
    const first = issuer.issue(conn, 'peerAAAAAAAA', 1_000_000);
    expect(first.iceServers).toEqual([
      { urls: ['stun:192.0.2.1:3478'] },
      { urls: ['turn:192.0.2.1:3478'], username: '1600:peerAAAAAAAA', credential: expect.any(String) },
    ]);
    expect(first.ttlMs).toBe(600_000);
    expect(issuer.renew(conn, 'peerAAAAAAAA', 1_000_000 + 299_000)).toBeNull();
    expect(issuer.renew({}, 'peerAAAAAAAA', 9_000_000)).toBeNull(); // never issued: nothing to renew
    const renewed = issuer.renew(conn, 'peerAAAAAAAA', 1_000_000 + 300_000);
    expect(renewed?.iceServers[1].username).toBe('1900:peerAAAAAAAA');
  });

  it('rejects bad options with BAD_CONFIG', () => {
    const bad = [
      { turnUrls: ['turn:x:3478'] }, // no secret
      { turnUrls: ['http://x'], turnSecret: 'long enough' },
      { stunUrls: ['turn:x'] },
      { turnUrls: ['turn:x'], turnSecret: 'short' },
      { stunUrls: ['stun:x'], ttlSec: 5 },
      { stunUrls: Array.from({ length: 9 }, (_, i) => `stun:h${i}`) },
    ];
    for (const o of bad) expect(() => resolveIceOptions(o)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });

  it('the client schema takes well-formed ice messages and refuses bad ones', () => {
    const ok = { type: 'ice', iceServers: [{ urls: ['turn:203.0.113.5:3478?transport=udp'], username: '1:p', credential: 'c' }], ttlMs: 60_000 };
    expect(parseServerMessage(JSON.stringify(ok))).toEqual(ok);
    const bad = [
      { ...ok, iceServers: [{ urls: ['javascript:alert(1)'] }] },
      { ...ok, iceServers: [{ urls: [] }] },
      { ...ok, iceServers: [{ urls: ['stun:x'], username: 'u'.repeat(300) }] },
      { ...ok, iceServers: Array.from({ length: 9 }, () => ({ urls: ['stun:x'] })) },
      { ...ok, ttlMs: -1 },
    ];
    for (const m of bad) expect(() => parseServerMessage(JSON.stringify(m))).toThrow(expect.objectContaining({ code: 'BAD_MESSAGE' }));
  });

  it('the tracker hands each peer its own credentials before joined', async () => {
    const secret = 'north-wind-secret';
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', ice: { turnUrls: ['turn:127.0.0.1:3478?transport=udp'], turnSecret: secret, stunUrls: ['stun:127.0.0.1:3478'], ttlSec: 120 } });
    cleanups.push(() => tracker.close());
    const client = new TrackerClient({ url: `ws://127.0.0.1:${tracker.port}`, streamId: 'A'.repeat(43), WebSocket: WebSocket as unknown as WebSocketConstructor });
    cleanups.push(() => client.destroy());
    let serversAtJoin: unknown = null;
    const joined = new Promise<void>((resolve) => client.on('joined', () => {
      serversAtJoin = client.iceServers;
      resolve();
    }));
    client.connect();
    await joined;
    const turn = client.iceServers.find((s) => s.urls[0].startsWith('turn'))!;
    expect(serversAtJoin).toBe(client.iceServers);
    const [expiry, peer] = turn.username!.split(':');
    expect(peer).toBe(client.peerId);
    expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(100);
    expect(turn.credential).toBe(createHmac('sha1', secret).update(turn.username!).digest('base64'));
  });
});
