import { describe, expect, it } from 'vitest';
import { base64url, generateStreamKey, signBytes } from '../crypto/stream-key.ts';
import { renditionSwarmId } from '../media/renditions.ts';
import { parseClientMessage, publishProofBytes } from './messages.ts';
import { verifyPublishProof } from './publish-proof.ts';

const IDENTITY = '127.0.0.1:8787';
const nonce = new Uint8Array(16).fill(7);
const broadcastId = base64url(new Uint8Array(8).fill(3));

async function claim(streamId: string, key: Awaited<ReturnType<typeof generateStreamKey>>, rendition?: string) {
  const sig = await signBytes(key, publishProofBytes(nonce, streamId, broadcastId, IDENTITY));
  return { streamId, publicKey: base64url(key.publicKeyBytes), signature: base64url(sig), broadcastId, ...(rendition ? { rendition } : {}) };
}

describe('publish proof of a rendition swarm', () => {
  it('accepts the derived swarm id with its rendition name, refuses it without or with another name', async () => {
    const key = await generateStreamKey();
    const swarm = await renditionSwarmId(key.streamId, '360p');
    expect(await verifyPublishProof(nonce, await claim(swarm, key, '360p'), [IDENTITY])).toBe(true);
    expect(await verifyPublishProof(nonce, await claim(swarm, key), [IDENTITY])).toBe(false);
    expect(await verifyPublishProof(nonce, await claim(swarm, key, '240p'), [IDENTITY])).toBe(false);
    // The top swarm stays the key's stream id; naming a rendition there fails.
    expect(await verifyPublishProof(nonce, await claim(key.streamId, key), [IDENTITY])).toBe(true);
    expect(await verifyPublishProof(nonce, await claim(key.streamId, key, '360p'), [IDENTITY])).toBe(false);
    // Another key cannot publish this stream's rendition.
    const other = await generateStreamKey();
    expect(await verifyPublishProof(nonce, await claim(swarm, other, '360p'), [IDENTITY])).toBe(false);
  });

  it('bounds the rendition name in the schema', async () => {
    const key = await generateStreamKey();
    const ok = { type: 'publish', ...(await claim(key.streamId, key, '360p')) };
    expect(parseClientMessage(JSON.stringify(ok)).type).toBe('publish');
    expect(() => parseClientMessage(JSON.stringify({ ...ok, rendition: 'x'.repeat(17) }))).toThrow();
    expect(() => parseClientMessage(JSON.stringify({ ...ok, rendition: 'Big' }))).toThrow();
  });
});
