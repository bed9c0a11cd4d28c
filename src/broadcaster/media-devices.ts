// Camera and microphone access for the broadcaster: device lists for the pickers and one
// getUserMedia call with the chosen devices and resolution. Browser only; knows nothing of
// encoding or frames. Used by the broadcast demo page and by tests.

import { P2PError } from '../errors.ts';

export interface DeviceChoice {
  deviceId: string;
  label: string;
}

export interface DeviceLists {
  cameras: DeviceChoice[];
  microphones: DeviceChoice[];
}

export interface CaptureOptions {
  /** Camera device id; undefined takes the default camera, null captures no video. */
  cameraId?: string | null;
  /** Microphone device id; undefined takes the default microphone, null captures no audio. */
  microphoneId?: string | null;
  width: number;
  height: number;
  frameRate: number;
}

export const RESOLUTIONS = [
  { label: '320×240', width: 320, height: 240 },
  { label: '640×360', width: 640, height: 360 },
  { label: '640×480', width: 640, height: 480 },
  { label: '1280×720', width: 1280, height: 720 },
  { label: '1920×1080', width: 1920, height: 1080 },
] as const;

const mediaDevices = (): MediaDevices => {
  const md = globalThis.navigator?.mediaDevices;
  if (!md?.getUserMedia) throw new P2PError('MEDIA_UNAVAILABLE', 'this page has no camera access (a secure context is needed)');
  return md;
};

/** Lists cameras and microphones. Labels are empty until the page has been granted access once. */
export async function listDevices(): Promise<DeviceLists> {
  const all = await mediaDevices().enumerateDevices();
  const pick = (kind: MediaDeviceKind) =>
    all
      .filter((d) => d.kind === kind && d.deviceId !== '')
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}` }));
  return { cameras: pick('videoinput'), microphones: pick('audioinput') };
}

/** Opens the chosen camera and microphone; throws P2PError('CAPTURE_FAILED') with the browser's reason. */
export async function openCapture(options: CaptureOptions): Promise<MediaStream> {
  const { cameraId, microphoneId, width, height, frameRate } = options;
  if (cameraId === null && microphoneId === null) throw new P2PError('BAD_CONFIG', 'nothing to capture: no camera and no microphone');
  const video: MediaTrackConstraints | false =
    cameraId === null
      ? false
      : { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: frameRate }, ...(cameraId ? { deviceId: { exact: cameraId } } : {}) };
  const audio: MediaTrackConstraints | false =
    microphoneId === null
      ? false
      : { echoCancellation: true, noiseSuppression: true, ...(microphoneId ? { deviceId: { exact: microphoneId } } : {}) };
  try {
    return await mediaDevices().getUserMedia({ video, audio });
  } catch (e) {
    const name = (e as { name?: string })?.name ?? 'Error';
    throw new P2PError('CAPTURE_FAILED', `camera or microphone could not be opened (${name}): ${String((e as Error)?.message ?? e)}`);
  }
}

/** Stops every track of a captured stream. */
export function stopCapture(stream: MediaStream | null | undefined): void {
  for (const t of stream?.getTracks() ?? []) t.stop();
}
