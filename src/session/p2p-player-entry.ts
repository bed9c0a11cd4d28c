// The script a site embeds (served as /p2p-player.js): defines <p2p-player> and attaches the swarm
// session to every instance. Side effects only; nothing else on the page is touched.

import '../player/define-p2p-player.ts';
import { installPlayerSessions } from './connect-player.ts';

installPlayerSessions();
