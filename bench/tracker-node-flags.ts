// The V8 flags the tracker runs with when started as the installed command: read from the
// shebang line of bin/p2p-player-tracker.js, so the benchmark measures the tracker as it ships.
// `--semi-space MB` of the bench overrides the young generation's size (0: V8's default).

import { readFileSync } from 'node:fs';

export function trackerNodeFlags(semiSpaceMb?: string): string[] {
  const shebang = readFileSync(new URL('../bin/p2p-player-tracker.js', import.meta.url), 'utf8').split('\n', 1)[0];
  const flags = shebang.split(/\s+/).filter((a) => a.startsWith('--'));
  if (semiSpaceMb === undefined) return flags;
  const mb = Number(semiSpaceMb);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`--semi-space wants a size in MB (0: V8's default), got ${semiSpaceMb}`);
  const rest = flags.filter((f) => !f.startsWith('--max-semi-space-size'));
  return mb > 0 ? [...rest, `--max-semi-space-size=${mb}`] : rest;
}
