// Registers <p2p-player> once (a guarded customElements.define) and declares its tag for
// TypeScript. Importing this module is the only side effect of the element; pages and the library
// entry import it, nothing else defines the tag.

import { P2PPlayerElement } from './p2p-player-element.ts';

export const P2P_PLAYER_TAG = 'p2p-player';

/** Defines the element if this page has custom elements and the tag is still free. */
export function defineP2PPlayer(): void {
  const registry = globalThis.customElements;
  if (registry && !registry.get(P2P_PLAYER_TAG)) registry.define(P2P_PLAYER_TAG, P2PPlayerElement);
}

defineP2PPlayer();

declare global {
  interface HTMLElementTagNameMap {
    'p2p-player': P2PPlayerElement;
  }
}
