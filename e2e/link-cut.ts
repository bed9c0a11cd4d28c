// An init script for a viewer page whose WebRTC links a test or a benchmark cuts and restores:
// `window.links.cut()` closes every open RTCPeerConnection, and connections made while the cut lasts
// gather no usable ICE candidate (relay only, no relay server), as when the viewer's network drops
// UDP; `window.links.restore()` lets new connections through again. HTTP is not touched.
// A string, not a function: the page must not depend on helpers the TypeScript loader adds.
export const LINK_CUT_SCRIPT = `(() => {
  const Native = window.RTCPeerConnection;
  if (typeof Native !== 'function') return;
  const open = new Set();
  let cut = false;
  class CuttablePeerConnection extends Native {
    constructor(config) {
      super(cut ? { ...(config || {}), iceServers: [], iceTransportPolicy: 'relay' } : config);
      if (!cut) open.add(this);
    }
  }
  Object.defineProperty(window, 'RTCPeerConnection', { value: CuttablePeerConnection, configurable: true, writable: true });
  window.links = {
    cut() {
      cut = true;
      for (const pc of open) pc.close();
      open.clear();
    },
    restore() {
      cut = false;
    },
  };
})();`;

declare global {
  interface Window {
    links: { cut(): void; restore(): void };
  }
}
