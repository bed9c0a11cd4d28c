#!/usr/bin/env node
// `npm run test:mutation [-- folder...]`: StrykerJS mutation testing, one run per folder, each with
// its own incremental file (reports/mutation/<folder>.incremental.json, not in git) so that a run
// tests only the mutants whose code or covering tests changed since the last run of that folder.
// Prints the mutation score per folder at the end. Slow: not part of `npm test`. See docs/mutation.md.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const notTests = ['!src/**/*.test.ts'];

/** What each folder mutates: the pure rules and their direct wrappers, not glue to the DOM or sockets. */
export const FOLDERS = {
  protocol: ['src/protocol/*.ts', '!src/protocol/core-harness.ts'],
  codec: ['src/codec/*.ts', '!src/codec/codec-contract.ts', '!src/codec/write-vectors.ts', '!src/codec/known-answer.ts', '!src/codec/index.ts'],
  tracker: ['src/tracker/room.ts', 'src/tracker/role-book.ts', 'src/tracker/messages.ts', 'src/tracker/room-config.ts', 'src/tracker/server-config.ts', 'src/tracker/server.ts'],
  media: ['src/media/*.ts', '!src/media/index.ts'],
  player: ['src/player/latency-controller.ts', 'src/player/latency-adapter.ts', 'src/player/append-queue.ts'],
  transport: ['src/transport/transport-core.ts', 'src/transport/peer-entry.ts', 'src/transport/transport-config.ts', 'src/transport/signal-schema.ts'],
};

const args = process.argv.slice(2).map((a) => a.replace(/^src\//, '').replace(/\/$/, ''));
const unknown = args.filter((a) => !(a in FOLDERS));
if (unknown.length > 0) {
  console.error(`unknown folder(s): ${unknown.join(', ')}; known: ${Object.keys(FOLDERS).join(', ')}`);
  process.exit(2);
}
const folders = args.length > 0 ? args : Object.keys(FOLDERS);

const scores = [];
let failed = false;
for (const folder of folders) {
  const mutate = [...FOLDERS[folder], ...notTests].join(',');
  const report = `reports/mutation/${folder}.json`;
  const status = spawnSync('npx', [
    'stryker', 'run', 'stryker.config.mjs',
    '--mutate', mutate,
    // The codec's byte loops run several times slower in the dry run (per-test coverage counting)
    // than in a mutant's run, so its timeouts need no factor 2: a mutant that loops for ever in the
    // field arithmetic would otherwise cost twice the whole suite's dry-run time (docs/mutation.md).
    ...(folder === 'codec' ? ['--timeoutFactor', '1'] : []),
  ], {
    stdio: 'inherit',
    env: {
      ...process.env,
      // Read by stryker.config.mjs: which tests run (the folder's own) and where the reports go.
      MUTATION_FOLDER: folder,
      // The codec's tests in mutation mode: fewer property runs, two kernel-build suites instead of
      // four (src/codec/codec-contract.ts, docs/mutation.md). Never set by `npm test`.
      ...(folder === 'codec' ? { CODEC_TEST_MODE: 'mutation' } : {}),
    },
  }).status;
  if (status !== 0) failed = true;
  scores.push([folder, existsSync(report) ? summarise(JSON.parse(readFileSync(report, 'utf8'))) : null]);
}

/** Score as Stryker defines it: killed + timeout over all valid mutants (no-coverage counts as survived). */
function summarise(r) {
  const n = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
  for (const f of Object.values(r.files)) for (const m of f.mutants) n[m.status in n ? m.status : 'other']++;
  const valid = n.Killed + n.Timeout + n.Survived + n.NoCoverage;
  return { ...n, score: valid === 0 ? null : (100 * (n.Killed + n.Timeout)) / valid };
}

console.log('\nmutation score per folder');
for (const [folder, s] of scores) {
  if (!s) console.log(`  ${folder.padEnd(10)} no report (run failed)`);
  else console.log(`  ${folder.padEnd(10)} ${s.score === null ? '-' : s.score.toFixed(1) + ' %'}  killed ${s.Killed}, timeout ${s.Timeout}, survived ${s.Survived}, no coverage ${s.NoCoverage}`);
}
process.exit(failed ? 1 : 0);
