// The viewer session seeds its protocol core (and so the secret of the pollution fingerprints)
// from WebCrypto, not from Math.random, whose state a page's other scripts share and can predict.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createCodec } from '../codec/index.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { MemoryNetwork } from '../transport/memory-transport.ts';
import { ViewerSession } from './viewer-session.ts';

const WS = WebSocket as unknown as WebSocketConstructor;

afterEach(() => vi.restoreAllMocks());

describe('viewer session core seed', () => {
  it('comes from crypto.getRandomValues, whatever Math.random returns', async () => {
    const codec = await createCodec();
    const key = await generateStreamKey();
    const net = new MemoryNetwork({ seed: 1 });
    // A predictable Math.random (as a hostile page script could make it): the seeds must still differ.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const draws = vi.spyOn(globalThis.crypto, 'getRandomValues');
    const make = () => new ViewerSession({ trackerUrl: 'ws://127.0.0.1:9', WebSocket: WS, codec, streamId: key.streamId, transport: net.createTransport(), reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
    const sessions = [make(), make(), make()];
    try {
      const seeds = sessions.map((s) => s.core.cfg.seed);
      expect(new Set(seeds).size).toBe(3);
      for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 31).toBe(true);
      expect(draws).toHaveBeenCalled();
    } finally {
      for (const s of sessions) s.destroy();
    }
  });
});
