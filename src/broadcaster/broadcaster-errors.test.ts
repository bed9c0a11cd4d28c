// The broadcaster's environment errors, reached in Node by what Node lacks (camera access,
// IndexedDB) or by a stand-in camera that refuses; the browser paths run in e2e/.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectRejectCode } from '../expect-code.ts';
import { listDevices, openCapture } from './media-devices.ts';
import { forgetStreamKey, loadOrCreateStreamKey } from './stream-key-store.ts';

const capture = { cameraId: '', microphoneId: '', width: 640, height: 480, frameRate: 30 };

describe('broadcaster environment errors', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('no camera access at all is MEDIA_UNAVAILABLE', async () => {
    vi.stubGlobal('navigator', {});
    await expectRejectCode(listDevices(), 'MEDIA_UNAVAILABLE');
  });

  it('a camera the browser refuses is CAPTURE_FAILED; asking for nothing is BAD_CONFIG', async () => {
    const refused = Object.assign(new Error('Permission denied'), { name: 'NotAllowedError' });
    const getUserMedia = vi.fn(async () => { throw refused; });
    vi.stubGlobal('navigator', { mediaDevices: { getUserMedia, enumerateDevices: async () => [] } });
    await expectRejectCode(openCapture(capture), 'CAPTURE_FAILED');
    expect(getUserMedia).toHaveBeenCalledTimes(1);
    await expectRejectCode(openCapture({ ...capture, cameraId: null, microphoneId: null }), 'BAD_CONFIG');
    expect(getUserMedia).toHaveBeenCalledTimes(1);
  });

  it('no IndexedDB is STORAGE_UNAVAILABLE', async () => {
    vi.stubGlobal('indexedDB', undefined);
    await expectRejectCode(loadOrCreateStreamKey(), 'STORAGE_UNAVAILABLE');
    await expectRejectCode(forgetStreamKey(), 'STORAGE_UNAVAILABLE');
  });
});
